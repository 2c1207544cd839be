package server

import (
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
