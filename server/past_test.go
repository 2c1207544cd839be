package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// nightsAndDays writes into the store the summaries of the days [first,
// last] (local midnights) of the site: regulars who come back every few
// days, passers-by, and what crosses each midnight (randomised street
// fragments just before and after it, whose joins carry their fractions
// across; a shopper whose store and area visits last past it; a night
// guard, staff, in the store until 01:00; a randomised phone that leaves
// just before it while another of its model is first heard inside just
// after).
func nightsAndDays(t *testing.T, srv *Server, site *wire.Site, first, last time.Time) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	store, area := "", ""
	for _, z := range site.Zones {
		switch {
		case z.Kind == wire.ZoneStore:
			store = z.ID
		case z.Kind == wire.ZoneArea && area == "":
			area = z.ID
		}
	}
	var days []footfall.TrackDay
	var visits []footfall.Visit
	td := func(track string, from, to int64, fp string) {
		days = append(days, footfall.TrackDay{Site: site.Site, Day: time.UnixMilli(from).In(site.Location()).Format(time.DateOnly),
			Track: track, First: from, Last: to, Fixes: 8, FP: fp, Rand: fp != ""})
	}
	visit := func(track, zone string, from, to, before int64) {
		visits = append(visits, footfall.Visit{Site: site.Site, Track: track, Zone: zone, Start: from, End: to, Fixes: 40, Before: before})
	}
	for day, k := first, 0; !day.After(last); day, k = day.AddDate(0, 0, 1), k+1 {
		ms := day.UnixMilli()
		const h = 3600_000
		// Regulars, in the afternoon, each every (i+2)th day.
		for i := range 6 {
			if k%(i+2) == 0 {
				reg := fmt.Sprintf("reg-%d", i)
				at := ms + 14*h + int64(i)*20*60_000
				td(reg, at, at+22*60_000, "")
				visit(reg, store, at+60_000, at+21*60_000, at)
			}
		}
		// Passers-by in the day, randomised, and the street fragments of
		// the night around the midnight that begins this day.
		for i := range 30 {
			at := ms + 9*h + r.Int64N(10*h)
			td(fmt.Sprintf("p%d-%d", k, i), at, at+r.Int64N(60_000), "0000000"+fmt.Sprint(i%3))
		}
		at := ms - 20*60_000
		for i := range 24 {
			at += 10_000 + r.Int64N(120_000)
			td(fmt.Sprintf("n%d-%d", k, i), at, at+r.Int64N(40_000), "00000009")
		}
		// A shopper from 23:50 to 00:20, in an area across midnight.
		sh := fmt.Sprintf("night-%d", k%3)
		td(sh, ms-10*60_000, ms-1, "")
		td(sh, ms, ms+21*60_000, "")
		visit(sh, store, ms-9*60_000, ms+20*60_000, ms-10*60_000)
		visit(sh, area, ms-5*60_000, ms+10*60_000, 0)
		// The night guard.
		td("guard", ms-6*h, ms-1, "")
		visit("guard", store, ms-6*h, ms+h, 0)
		// A possible handoff across midnight.
		a, b := fmt.Sprintf("ha%d", k), fmt.Sprintf("hb%d", k)
		td(a, ms-30*60_000, ms-20_000, "00000008")
		td(b, ms+30_000, ms+25*60_000, "00000008")
		visit(a, store, ms-29*60_000, ms-30_000, ms-30*60_000)
		visit(b, store, ms+30_000, ms+24*60_000, 0)
	}
	ctx := context.Background()
	if err := srv.store.WriteTrackDays(ctx, days); err != nil {
		t.Fatal(err)
	}
	if err := srv.store.WriteVisits(ctx, visits); err != nil {
		t.Fatal(err)
	}
}

// uncachedReport is Report without the kept Past: the month of summaries
// read and classified.
func uncachedReport(t *testing.T, srv *Server, site string, from, to int64) []byte {
	t.Helper()
	ctx := context.Background()
	st, _, err := srv.store.Site(ctx, site)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := buildReport(ctx, srv.store, st, from, to, srv.reportSummaries(site))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rep)
	return b
}

// TestReportFromKeptPast: the reports of a site with ten days of history
// and a live pipeline across a local midnight (its memory holds two days)
// are byte for byte the reports read from the month of summaries, when
// their Past is made and when it is kept, for the pipeline's day, its day
// so far, the day before it, both, and an earlier day; and they stay so
// after a re-processing of an earlier day, an edit of the site, and the
// retention's deletion of older summaries, each of which changes them (a
// Past kept over them would fail). On the embedded store and PostgreSQL.
func TestReportFromKeptPast(t *testing.T) {
	onBothStores(t, func(t *testing.T, db string) {
		ctx := context.Background()
		shop := simtest.Shop(t, "small", sim.Config{Seed: 9, ShoppersPerHour: 90, PassersPerHour: 300, Staff: -1})
		site := shop.Site()
		loc := site.Location()
		day := localDay(time.Now().UnixMilli(), loc).AddDate(0, 0, -3) // the pipeline's day
		dir := t.TempDir()
		// Raw observations kept for a month: the re-processing below
		// reaches back 12 days.
		srv, stop := startServer(t, Config{SiteFiles: []string{simtest.WriteSite(t, dir, site)}, DataDir: dir, DB: db, Migrate: true,
			Retention: 30 * 24 * time.Hour})
		defer stop()
		nightsAndDays(t, srv, site, day.AddDate(0, 0, -9), day)
		sent := publishShop(t, srv, shop, day.Add(-50*time.Minute), day.Add(40*time.Minute))
		r := srv.runner(site.Site)
		eventually(t, "every batch processed", func() bool { return processed(r) == int64(sent) })

		spans := []struct {
			name     string
			from, to time.Time
		}{
			{"the pipeline's day", day, day.AddDate(0, 0, 1)},
			{"its day so far", day, day.Add(40 * time.Minute)},
			{"the day before", day.AddDate(0, 0, -1), day},
			{"both", day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)},
			{"an earlier day", day.AddDate(0, 0, -4), day.AddDate(0, 0, -3)},
		}
		check := func(when string) map[string]string {
			t.Helper()
			out := map[string]string{}
			for _, sp := range spans {
				from, to := sp.from.UnixMilli(), sp.to.UnixMilli()
				for try := range 2 { // made, then kept
					h0, m0 := srv.past.counts()
					rep, err := srv.Report(ctx, site.Site, from, to)
					if err != nil {
						t.Fatal(err)
					}
					h1, m1 := srv.past.counts()
					if h1+m1 != h0+m0+1 {
						t.Fatalf("%s, %s: the report did not use the kept history", when, sp.name)
					}
					if try == 1 && h1 == h0 {
						t.Errorf("%s, %s: the second report made its Past again (hits %d, misses %d)", when, sp.name, h1, m1)
					}
					got, _ := json.Marshal(rep)
					want := uncachedReport(t, srv, site.Site, from, to)
					if string(got) != string(want) {
						t.Fatalf("%s, %s (try %d): the report differs from the month's\n got %s\nwant %s", when, sp.name, try, got, want)
					}
					out[sp.name] = string(got)
				}
			}
			return out
		}
		before := check("at first")
		// Reports at once share the Past being made, and then the one kept.
		srv.past.forget(site.Site)
		var wg sync.WaitGroup
		reps := make([][]byte, 8)
		for i := range reps {
			wg.Go(func() {
				rep, err := srv.Report(ctx, site.Site, day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli())
				if err == nil {
					reps[i], _ = json.Marshal(rep)
				}
			})
		}
		wg.Wait()
		for i, b := range reps {
			if string(b) != before["the pipeline's day"] {
				t.Fatalf("report %d of 8 at once differs:\n got %s\nwant %s", i, b, before["the pipeline's day"])
			}
		}
		var today wire.Report
		if err := json.Unmarshal([]byte(before["the pipeline's day"]), &today); err != nil {
			t.Fatal(err)
		}
		if today.Totals.Returning == 0 || today.Totals.Visitors == 0 || today.Totals.Passersby == 0 {
			t.Fatalf("the pipeline's day: %+v: the test shows nothing", today.Totals)
		}
		changed := func(when string, was, now map[string]string, names ...string) {
			t.Helper()
			for _, n := range names {
				if was[n] == now[n] {
					t.Errorf("%s: %s did not change: the test shows nothing", when, n)
				}
			}
		}

		// A re-processing of days of the kept history (they had no
		// observations: their summaries go, and a regular of the earlier
		// day is new there).
		if _, err := srv.Reprocess(ctx, site.Site, day.AddDate(0, 0, -9).UnixMilli(), day.AddDate(0, 0, -5).UnixMilli()); err != nil {
			t.Fatal(err)
		}
		after := check("after a re-processing")
		changed("after a re-processing", before, after, "an earlier day")

		// The retention deletes the summaries of the days before the day
		// before (a regular of the pipeline's day is new then).
		if _, err := srv.store.DeleteSummariesBefore(ctx, day.AddDate(0, 0, -2).UnixMilli()); err != nil {
			t.Fatal(err)
		}
		retained := check("after the retention")
		changed("after the retention", after, retained, "the pipeline's day", "an earlier day")

		// An edit of the site: visits shorter than 12 minutes are bounces,
		// and staff are in for 8 hours (the night guard's visits, which
		// reach past midnight, count).
		edit := *site
		edit.Footfall.VisitorMinDwellS = 720
		edit.Footfall.StaffMinDwellS = 8 * 3600
		if _, err := srv.PutSite(ctx, &edit, "longer visits"); err != nil {
			t.Fatal(err)
		}
		edited := check("after a site edit")
		changed("after a site edit", retained, edited, "the pipeline's day", "the day before")
	})
}
