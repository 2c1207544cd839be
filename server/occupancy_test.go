package server

import (
	"context"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/wire"
)

// TestLiveOccupancyCountsTheStreet checks the live map's occupancy: the
// store and its areas count the tracks in them now (footfall's
// Counter.Present), and the street (a zone of kind outside) counts the
// tracks on the map whose latest fix lies in it and is at most
// footfall.StreetWithin old, so the panel beside the map does not say 0
// beside a street full of dots, nor count a passer-by for the five minutes
// a dot stays on the map. footfall.TestLiveOccupancy measures both counts
// against the simulator's truth.
func TestLiveOccupancyCountsTheStreet(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a shop through MQTT: not in -short")
	}
	skipNearMidnight(t)
	srv, site, stop := shopThroughMQTT(t, 10*time.Minute)
	defer stop()
	r := srv.runner(site.Site)
	snap := r.snapshot()
	r.mu.Lock()
	now := max(r.now, r.lastT)
	r.mu.Unlock()
	onStreet, stale := map[string]int{}, 0
	for _, p := range snap.Tracks {
		for _, z := range site.Zones {
			if z.ID == p.Zone && z.Kind == wire.ZoneOutside && now-p.T > footfall.StreetWithin {
				stale++
			}
			if z.ID == p.Zone && z.Kind == wire.ZoneOutside && now-p.T <= footfall.StreetWithin {
				onStreet[p.Zone]++
			}
		}
	}
	for _, z := range site.Zones {
		n, ok := snap.Occupancy[z.ID]
		if !ok {
			t.Errorf("occupancy has no entry for zone %q (%s)", z.ID, z.Kind)
		}
		if z.Kind == wire.ZoneOutside && n != onStreet[z.ID] {
			t.Errorf("zone %q: occupancy %d, tracks on the map there %d", z.ID, n, onStreet[z.ID])
		}
	}
	if street := snap.Occupancy["street"]; street == 0 {
		t.Errorf("no one on the street of a shop with 400 passers-by an hour: %v", snap.Occupancy)
	}
	if snap.Occupancy["store"] == 0 {
		t.Errorf("no one in the store: %v", snap.Occupancy)
	}
	if stale == 0 {
		t.Errorf("no dot on the street older than %d s: the test does not tell the windows apart", footfall.StreetWithin/1000)
	}
	t.Logf("occupancy %v of %d tracks on the map (%d on the street for longer than %d s)", snap.Occupancy, len(snap.Tracks), stale, footfall.StreetWithin/1000)
}

// TestLiveOccupancyKnownStaff checks that the live count leaves out the
// tracks that were staff on an earlier day (a printer or a staff phone that
// keeps its address): the runner reads them from the stored summaries once
// per local day of event time (refreshKnownStaff). Every track of the
// simulated morning is made yesterday's staff in the store: read again,
// the store's count falls to 0.
func TestLiveOccupancyKnownStaff(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a shop through MQTT: not in -short")
	}
	skipNearMidnight(t)
	srv, site, stop := shopThroughMQTT(t, 10*time.Minute)
	defer stop()
	r := srv.runner(site.Site)
	loc := site.Location()
	r.mu.Lock()
	today := time.UnixMilli(max(r.now, r.lastT)).In(loc)
	r.mu.Unlock()
	known := func() string {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.staff.day
	}
	eventually(t, "the earlier days' staff read", func() bool { return known() == today.Format(time.DateOnly) })
	before := r.snapshot()
	if before.Occupancy["store"] == 0 {
		t.Fatalf("no one in the store: %v", before.Occupancy)
	}
	y, m, d := today.Date()
	dayFrom := time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMilli()
	dayTo := time.Date(y, m, d+1, 0, 0, 0, 0, loc).UnixMilli() // 23 or 25 hours on a change of clocks
	todayReport := func() wire.Totals {
		t.Helper()
		rep, err := srv.Report(context.Background(), site.Site, dayFrom, dayTo)
		if err != nil {
			t.Fatal(err)
		}
		return rep.Totals
	}
	totBefore := todayReport()
	yesterday := time.Date(y, m, d-1, 9, 0, 0, 0, loc)
	var days []footfall.TrackDay
	for _, p := range before.Tracks {
		days = append(days, footfall.TrackDay{Site: site.Site, Day: yesterday.Format(time.DateOnly), Track: p.Track,
			First: yesterday.UnixMilli(), Last: yesterday.Add(5 * time.Hour).UnixMilli(), Fixes: 100})
	}
	if err := srv.store.WriteTrackDays(context.Background(), days); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.staff.day = "" // read them again
	r.mu.Unlock()
	eventually(t, "the earlier days' staff read again", func() bool { return known() != "" })
	after := r.snapshot()
	if after.Occupancy["store"] != 0 {
		t.Errorf("in the store with every track yesterday's staff: %v (before: %v)", after.Occupancy, before.Occupancy)
	}
	// Today's provisional report counts them as staff too.
	totAfter := todayReport()
	if totAfter.Visitors >= totBefore.Visitors || totAfter.Staff <= totBefore.Staff {
		t.Errorf("today's report with every track on the map yesterday's staff: %d visitors, %d staff; before: %d, %d",
			totAfter.Visitors, totAfter.Staff, totBefore.Visitors, totBefore.Staff)
	}
	t.Logf("store %d -> %d with %d tracks made yesterday's staff; today's visitors %d -> %d, staff %d -> %d", before.Occupancy["store"],
		after.Occupancy["store"], len(days), totBefore.Visitors, totAfter.Visitors, totBefore.Staff, totAfter.Staff)
}
