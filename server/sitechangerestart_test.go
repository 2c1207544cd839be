package server

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// TestSiteChangeThenRestart moves a zone today and restarts the server:
// yesterday keeps its figures. The restart replays the journal from
// yesterday with the new plan (the checkpoint of the last midnight was
// written for the old one and is refused); before, the replayed day's
// visits of the moved zone were stored beside the old plan's.
func TestSiteChangeThenRestart(t *testing.T) {
	skipNearMidnight(t)
	shop := simtest.Shop(t, "small", sim.Config{Seed: 5, ShoppersPerHour: 120, PassersPerHour: 400})
	site := shop.Site()
	loc := site.Location()
	ctx := context.Background()
	now := time.Now()
	b := localDay(now.UnixMilli(), loc).AddDate(0, 0, -1).Add(11 * time.Hour)
	from, to := b.UnixMilli(), b.Add(time.Hour).UnixMilli()
	dir := t.TempDir()
	cfg := Config{SiteFiles: []string{simtest.WriteSite(t, dir, site)}, DataDir: dir}
	srv, stop := startServer(t, cfg)
	defer func() { stop() }()
	r := srv.runner(site.Site)
	sent := publishShop(t, srv, shop, b, b.Add(40*time.Minute))
	sent += publishShop(t, srv, shop, now.Add(-40*time.Minute), now)
	eventually(t, "every batch processed", func() bool { return processed(r) == int64(sent) })
	yesterday := func(srv *Server) wire.Report {
		t.Helper()
		r := srv.runner(site.Site)
		if err := r.inRunner(ctx, func() error { r.persist(ctx); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := srv.writer.drain(ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := srv.Report(ctx, site.Site, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return *rep
	}
	before := yesterday(srv)
	if zoneStat(before, "rail-left").Visits == 0 {
		t.Fatal("no visits of rail-left yesterday")
	}
	edited := *site
	edited.Zones = append([]wire.Zone(nil), site.Zones...)
	for i, z := range edited.Zones {
		if z.ID == "rail-left" {
			edited.Zones[i].Polygon = []wire.Point{{3.5, 2}, {6, 2}, {6, 7.5}, {3.5, 7.5}}
		}
	}
	if _, err := srv.PutSite(ctx, &edited, "rail-left moved"); err != nil {
		t.Fatal(err)
	}
	changed := yesterday(srv)
	stop()
	srv, stop = startServer(t, cfg)
	restarted := yesterday(srv)
	t.Logf("yesterday's rail-left: %s, after the change %s, after a restart %s", zoneOf(before, "rail-left"),
		zoneOf(changed, "rail-left"), zoneOf(restarted, "rail-left"))
	for _, rep := range []wire.Report{changed, restarted} {
		if !reflect.DeepEqual(rep.Totals, before.Totals) || !reflect.DeepEqual(rep.Zones, before.Zones) {
			t.Fatalf("yesterday changed: %+v %v\nwant %+v %v", rep.Totals, rep.Zones, before.Totals, before.Zones)
		}
	}
}
