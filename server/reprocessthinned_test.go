package server

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// window is a simulated stretch of time and the hours a report of it covers.
type window struct {
	name     string
	from, to time.Time // simulated
}

func (s window) report() (int64, int64) {
	return s.from.Truncate(time.Hour).UnixMilli(), s.to.Truncate(time.Hour).Add(time.Hour).UnixMilli()
}

// TestReprocessKeepsWhatRetentionThinned: a shop's history of three
// windows of 40 simulated minutes (A three days ago, which a re-processing
// runs offline; B at 11:00 within the last day and a half, in the live
// pipeline's memory; C
// the last 40 minutes), a zone moved, the retention of passers-by's raw
// observations applied (1 h here: A and B keep only the visitors'), and
// the whole range re-processed with the new plan. A and B keep their
// passers-by and staff (the capture rate's denominators) as they were and
// their moved zone has the figures a run of the new plan on all the
// observations gives; C is what a whole rebuild gives. Before, this lost
// A's and B's passers-by (237 -> 47 on 40 minutes); then it was refused.
func TestReprocessKeepsWhatRetentionThinned(t *testing.T) {
	onBothStores(t, func(t *testing.T, db string) {
		ctx := context.Background()
		shop := simtest.Shop(t, "small", sim.Config{Seed: 5, ShoppersPerHour: 120, PassersPerHour: 400})
		site := shop.Site()
		loc := site.Location()
		now := time.Now()
		dayA := localDay(now.UnixMilli(), loc).AddDate(0, 0, -3)
		skipNearMidnight(t)
		b := localDay(now.UnixMilli(), loc).AddDate(0, 0, -1).Add(11 * time.Hour)
		spans := []window{{"A", dayA.Add(11 * time.Hour), dayA.Add(11*time.Hour + 40*time.Minute)},
			{"B", b, b.Add(40 * time.Minute)}, {"C", now.Add(-40 * time.Minute), now}}
		srv, _, stop := startSite(t, site, Config{
			DB: db, Migrate: true, Retention: time.Hour})
		defer stop()
		// rail-left moved to the middle of the shop.
		edited := *site
		edited.Zones = append([]wire.Zone(nil), site.Zones...)
		for i, z := range edited.Zones {
			if z.ID == "rail-left" {
				edited.Zones[i].Polygon = []wire.Point{{3.5, 2}, {6, 2}, {6, 7.5}, {3.5, 7.5}}
			}
		}
		// The windows come in turn, each followed by the hourly retention
		// (which finds the visitors' pseudonyms in the stored fixes and in
		// the live pipeline's memory), as on a server that runs.
		r := srv.runner(site.Site)
		var full []wire.Report
		sent := 0
		var obs0, obs1 int64
		for i, s := range spans {
			sent += publishShop(t, srv, shop, s.from, s.to)
			eventually(t, "every batch processed", func() bool { return processed(r) == int64(sent) })
			if err := srv.writer.drain(ctx); err != nil {
				t.Fatal(err)
			}
			if err := r.inRunner(ctx, func() error { r.persist(ctx); return nil }); err != nil {
				t.Fatal(err)
			}
			if err := srv.writer.drain(ctx); err != nil {
				t.Fatal(err)
			}
			// What the new plan gives with every observation.
			from, to := s.report()
			full = append(full, rebuiltReport(t, srv.store, &edited, from, to))
			n0, err := srv.store.CountObservations(ctx, site.Site, from, to)
			if err != nil {
				t.Fatal(err)
			}
			srv.retain(ctx)
			n1, err := srv.store.CountObservations(ctx, site.Site, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				obs0, obs1 = n0, n1
			}
		}
		if obs1 == 0 || obs1 >= obs0 {
			t.Fatalf("retention left %d of A's %d observations", obs1, obs0)
		}
		before := reports(t, srv, site.Site, spans)
		if _, err := srv.PutSite(ctx, &edited, "rail-left moved"); err != nil {
			t.Fatal(err)
		}
		var done web.Reprocessed
		var err error
		if err := srv.writer.drain(ctx); err != nil {
			t.Fatal(err)
		}
		// What the re-processing starts from: C is today's, which the
		// site change rebuilt from the journal (all observations); the
		// earlier days keep their figures, though the journal holds them
		// (A's and B's batches came today) and the rebuilt pipeline went
		// through them with the new plan (before, its summaries of them
		// were stored beside the old plan's: B's moved zone 17 -> 59).
		start := reports(t, srv, site.Site, spans)
		for i, s := range spans[:2] {
			if !reflect.DeepEqual(start[i].Totals, before[i].Totals) || !reflect.DeepEqual(start[i].Zones, before[i].Zones) {
				t.Fatalf("%s: the site change changed an earlier day: %+v %s\nwant %+v %s", s.name, start[i].Totals,
					zoneOf(start[i], "rail-left"), before[i].Totals, zoneOf(before[i], "rail-left"))
			}
		}
		var stored [][]footfall.TrackDay
		for _, sp := range spans {
			from, to := sp.report()
			ds, err := srv.store.TrackDays(ctx, site.Site, from, to)
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, ds)
		}
		done, err = srv.Reprocess(ctx, site.Site, dayA.UnixMilli(), now.Add(time.Hour).UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		after := reports(t, srv, site.Site, spans)
		// What the live pipeline rebuilt, stored.
		if err := r.inRunner(ctx, func() error { r.persist(ctx); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := srv.writer.drain(ctx); err != nil {
			t.Fatal(err)
		}
		for i, s := range spans {
			b, a, f := start[i].Totals, after[i].Totals, full[i].Totals
			t.Logf("%s: passers-by %d (old plan) %d -> %d (all observations, new plan: %d), staff %d -> %d (%d), visitors %d -> %d (%d), rail-left %s -> %s (%s)",
				s.name, before[i].Totals.Passersby, b.Passersby, a.Passersby, f.Passersby, b.Staff, a.Staff, f.Staff, b.Visitors, a.Visitors, f.Visitors,
				zoneOf(before[i], "rail-left"), zoneOf(after[i], "rail-left"), zoneOf(full[i], "rail-left"))
			if b.Passersby == 0 || b.Visitors == 0 {
				t.Fatalf("%s: nothing to keep: %+v", s.name, b)
			}
			near := func(x, y, tol int) bool { return x >= y-tol && x <= y+tol }
			if s.name == "C" {
				// Inside the retention: a whole rebuild (the live
				// pipeline's, whose last visits are still open).
				za, zf := zoneStat(after[i], "rail-left"), zoneStat(full[i], "rail-left")
				if a.Passersby != f.Passersby || a.Staff != f.Staff || !near(a.Visitors, f.Visitors, 2) || !near(za.Visits, zf.Visits, 3) {
					t.Fatalf("C is not the whole rebuild's: %+v %v\nwant %+v %v", a, after[i].Zones, f, full[i].Zones)
				}
				continue
			}
			// The kept track days are as they were; the rebuilt ones keep
			// the grouping of the stored fixes, mostly under their names.
			from, to := s.report()
			now, err := srv.store.TrackDays(ctx, site.Site, from, to)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]footfall.TrackDay{}
			for _, d := range now {
				byName[d.Track] = d
			}
			same, gone := 0, 0
			storedNames := map[string]bool{}
			for _, d := range stored[i] {
				storedNames[d.Track] = true
				e, ok := byName[d.Track]
				if !ok {
					gone++
				}
				if e == d {
					same++
				}
			}
			// A merge renames the merged track's stored fixes, so no
			// pseudonym comes back as a track of its own under a merged
			// name (B: 15 new tracks before).
			fresh := 0
			for name := range byName {
				if !storedNames[name] {
					fresh++
				}
			}
			kept := 0
			for _, d := range done.Days {
				if d.Date == s.from.In(loc).Format(time.DateOnly) {
					kept = d.Kept
				}
			}
			t.Logf("%s: %d track days stored, %d after, %d unchanged, %d kept, %d names gone, %d new", s.name, len(stored[i]), len(now), same, kept, gone, fresh)
			if kept == 0 || same < kept || gone > len(stored[i])/20 || fresh > len(stored[i])/100 {
				t.Fatalf("%s: %d track days stored, %d after, %d unchanged, %d kept, %d names gone, %d new", s.name, len(stored[i]), len(now), same, kept, gone, fresh)
			}
			// The passers-by and staff (the capture rate's denominator)
			// stay but for the visitors the rebuilt positions no longer
			// make visitors (the tracker's fixes on the visitors'
			// observations alone are not quite those on all); the
			// visitors are the new plan's on all observations, within as
			// much; the moved zone's visits follow it.
			if a.Staff != b.Staff || !near(a.Passersby, b.Passersby, b.Passersby/20) || !near(a.Visitors, f.Visitors, max(2, f.Visitors/20)) {
				t.Fatalf("%s: passers-by %d -> %d, staff %d -> %d, visitors %d -> %d (%d on every observation)", s.name,
					b.Passersby, a.Passersby, b.Staff, a.Staff, b.Visitors, a.Visitors, f.Visitors)
			}
			zb, za, zf := zoneStat(before[i], "rail-left"), zoneStat(after[i], "rail-left"), zoneStat(full[i], "rail-left")
			// Within 12 %: B's rows of the live pipeline's memory (the
			// site change's rebuild, of the new plan) were stored beside
			// the old plan's and the re-processing's, 59 visits where
			// every observation gives 40.
			if zb.Visits == zf.Visits || abs(za.Visits-zf.Visits) >= abs(zb.Visits-zf.Visits) || abs(za.Visits-zf.Visits) > max(3, zf.Visits*12/100) {
				t.Fatalf("%s: the moved zone's visits: %d before, %d after, %d on every observation with the new plan", s.name,
					zb.Visits, za.Visits, zf.Visits)
			}
		}
		// The response names the days before the cut, A's and B's.
		dates := map[string]web.KeptDay{}
		for _, d := range done.Days {
			dates[d.Date] = d
		}
		for _, s := range spans[:2] {
			d := dates[s.from.In(loc).Format(time.DateOnly)]
			if d.Kept == 0 || d.Rebuilt == 0 {
				t.Fatalf("%s: days before the cut %+v", s.name, done.Days)
			}
		}
		if done.ThinnedBefore == 0 {
			t.Fatal("no cut in the response")
		}
		assertDayHours(t, srv, site.Site, dayA)

		// Once every raw observation of A's day is gone (the retention of
		// raw data), nothing can be recomputed: refused, figures kept.
		if _, err := srv.store.DeleteObservationsBefore(ctx, dayA.AddDate(0, 0, 1).UnixMilli()); err != nil {
			t.Fatal(err)
		}
		_, err = srv.Reprocess(ctx, site.Site, dayA.UnixMilli(), dayA.AddDate(0, 0, 1).UnixMilli())
		if !errors.Is(err, web.ErrInvalid) || !errors.Is(err, ErrGone) {
			t.Fatalf("re-processing a day with no observation left: %v", err)
		}
		again := reports(t, srv, site.Site, spans[:1])
		if !reflect.DeepEqual(again[0].Totals, after[0].Totals) {
			t.Fatalf("a refused re-processing changed A: %+v -> %+v", after[0].Totals, again[0].Totals)
		}
	})
}

func reports(t *testing.T, srv *Server, site string, spans []window) []wire.Report {
	t.Helper()
	var out []wire.Report
	for _, s := range spans {
		from, to := s.report()
		rep, err := srv.Report(context.Background(), site, from, to)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *rep)
	}
	return out
}

func zoneStat(rep wire.Report, zone string) wire.ZoneStat {
	for _, z := range rep.Zones {
		if z.Zone == zone {
			return z
		}
	}
	return wire.ZoneStat{Zone: zone}
}

func abs(x int) int { return max(x, -x) }

// zoneOf is a zone's visits and median dwell in rep.
func zoneOf(rep wire.Report, zone string) string {
	for _, z := range rep.Zones {
		if z.Zone == zone {
			if z.DwellMedianS == nil {
				return fmt.Sprintf("%d visits", z.Visits)
			}
			return fmt.Sprintf("%d visits, %.0f s", z.Visits, *z.DwellMedianS)
		}
	}
	return "none"
}

// rebuiltReport is the report of [from, to) that site gives on the stored
// observations of it, computed apart (Reprocess without storing).
func rebuiltReport(t *testing.T, st store.Store, site *wire.Site, from, to int64) wire.Report {
	t.Helper()
	plan := zones.NewPlan(site)
	counter := footfall.NewCounter(site, plan)
	col := newCollector(site, counter, from, 0)
	p, err := pipeline.New(pipeline.Config{Site: site, Zone: plan.Innermost, Lateness: reorderStored}, col)
	if err != nil {
		t.Fatal(err)
	}
	err = st.ScanBatches(context.Background(), site.Site, from, to, func(b *store.RawBatch) error {
		return ignoreUnknown(p.Accept(b.Recv, &b.Batch, wire.Drops{}))
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Flush()
	counter.Flush()
	return footfall.Build(site, from, to, counter.TrackDays(), counter.Visits(), nil, footfall.History{})
}
