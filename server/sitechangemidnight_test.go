package server

import (
	"context"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
)

// TestSiteChangeWhileBehindInYesterday changes a site whose runner is still
// in yesterday by event time (its sensors' last 40 minutes before local
// midnight, received today): the change applies to the pipeline's day,
// yesterday, so yesterday's rows of the old plan go. With "today" taken
// from the wall clock the visits of a removed area stayed in the store.
func TestSiteChangeWhileBehindInYesterday(t *testing.T) {
	shop := simtest.Shop(t, "small", sim.Config{Seed: 5, ShoppersPerHour: 120, PassersPerHour: 400})
	site := shop.Site()
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir})
	defer stop()
	ctx := context.Background()
	midnight := localDay(time.Now().UnixMilli(), site.Location())
	yesterday := midnight.AddDate(0, 0, -1)
	sent := publishShop(t, srv, shop, midnight.Add(-40*time.Minute), midnight.Add(-time.Minute))
	r := srv.runner(site.Site)
	eventually(t, "every batch processed", func() bool { return processed(r) == int64(sent) })
	r.mu.Lock()
	now := r.pipe.Now()
	r.mu.Unlock()
	if now >= midnight.UnixMilli() || now < yesterday.UnixMilli() {
		t.Fatalf("the pipeline is at %s, not in yesterday", time.UnixMilli(now).In(site.Location()))
	}
	from, to := yesterday.UnixMilli(), midnight.UnixMilli()
	railLeft := func() int {
		if err := srv.writer.drain(ctx); err != nil {
			t.Fatal(err)
		}
		vs, err := srv.store.Visits(ctx, site.Site, from, to)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range vs {
			if v.Zone == "rail-left" {
				n++
			}
		}
		return n
	}
	srv.runner(site.Site).persist(ctx)
	if railLeft() == 0 {
		t.Fatal("no visits of rail-left stored before the change")
	}
	// The change removes the area.
	edited := *site
	edited.Zones = nil
	for _, z := range site.Zones {
		if z.ID != "rail-left" {
			edited.Zones = append(edited.Zones, z)
		}
	}
	if _, err := srv.PutSite(ctx, &edited, "rail-left goes"); err != nil {
		t.Fatal(err)
	}
	if n := railLeft(); n != 0 {
		t.Fatalf("%d visits of the removed rail-left left in yesterday after the change", n)
	}
	// Yesterday's hours, deleted with its figures, are stored again.
	assertDayHours(t, srv, site.Site, yesterday)
	rep, err := srv.Report(ctx, site.Site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Visitors == 0 {
		t.Fatalf("no visitors yesterday after the change: %+v", rep.Totals)
	}
}

// TestChangedDay checks the day a site change rebuilds: the pipeline's,
// today's when it has processed nothing, never before yesterday.
func TestChangedDay(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 0, 10, 0, 0, loc)
	today := time.Date(2026, 12, 5, 0, 0, 0, 0, loc).UnixMilli()
	yesterday := time.Date(2026, 12, 4, 0, 0, 0, 0, loc).UnixMilli()
	for _, c := range []struct {
		event time.Time
		want  int64
	}{
		{time.Time{}, today},
		{time.Date(2026, 12, 4, 23, 58, 0, 0, loc), yesterday},
		{time.Date(2026, 12, 5, 0, 9, 0, 0, loc), today},
		{time.Date(2026, 12, 1, 12, 0, 0, 0, loc), yesterday},
		{time.Date(2026, 12, 6, 1, 0, 0, 0, loc), today}, // a clock ahead
	} {
		var event int64
		if !c.event.IsZero() {
			event = c.event.UnixMilli()
		}
		if got := changedDay(event, now, loc); got != c.want {
			t.Errorf("event %s: day from %s, want %s", c.event, time.UnixMilli(got).In(loc), time.UnixMilli(c.want).In(loc))
		}
	}
}
