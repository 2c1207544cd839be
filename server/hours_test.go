package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

// saveHoursNow runs a save of the hours at once (not paced to one a minute).
func saveHoursNow(srv *Server, r *siteRunner) {
	r.hours.mu.Lock()
	defer r.hours.mu.Unlock()
	srv.saveHoursNow(context.Background(), r)
}

// onBothStores runs test on a server with the embedded store and one on
// PostgreSQL (PASSANT_TEST_POSTGRES; skipped without it).
func onBothStores(t *testing.T, test func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, "") })
	t.Run("postgres", func(t *testing.T) { test(t, storetest.PostgresURL(t)) })
}

// assertDayHours checks that the stored hours of the local day that starts
// at day are the hours of the day's report, and that some are not empty.
func assertDayHours(t *testing.T, srv *Server, site string, day time.Time) {
	t.Helper()
	ctx := context.Background()
	from, to := day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli()
	stored, err := srv.store.Hours(ctx, site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := srv.Report(ctx, site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(stored)
	want, _ := json.Marshal(rep.Hours)
	if string(got) != string(want) {
		t.Fatalf("%s: stored hours are not the report's:\nstored %s\nreport %s", day.Format(time.DateOnly), got, want)
	}
	people := 0
	for _, h := range rep.Hours {
		people += h.Passersby + h.Visitors
	}
	if len(rep.Hours) < 23 || people == 0 {
		t.Fatalf("%s: %d hours, %d people", day.Format(time.DateOnly), len(rep.Hours), people)
	}
}

// TestFinalHoursOfADay runs a simulated shop across a local midnight three
// days ago: once the pipeline's event time has passed the midnight, a save
// of the hours stores the day before it as its final report has it (over
// what an earlier, provisional save left), and a re-processing of the two
// days, which deletes their hours, stores every one again as the reports
// have them.
func TestFinalHoursOfADay(t *testing.T) {
	onBothStores(t, func(t *testing.T, db string) {
		ctx := context.Background()
		shop := simtest.Shop(t, "small", sim.Config{Seed: 7, ShoppersPerHour: 120, PassersPerHour: 400, Staff: -1})
		site := shop.Site()
		loc := site.Location()
		midnight := localDay(time.Now().UnixMilli(), loc).AddDate(0, 0, -3)
		day, next := midnight.AddDate(0, 0, -1), midnight
		dir := t.TempDir()
		// The re-processing below reaches back 4 days, before the
		// retention's cut; no retention has run, so every track is rebuilt.
		srv, stop := startServer(t, Config{SiteFiles: []string{simtest.WriteSite(t, dir, site)}, DataDir: dir,
			DB: db, Migrate: true})
		defer stop()
		// What a provisional save of the day left (counting, say, a
		// device that was staff on the days before as staff).
		stale := []wire.Hour{{Start: midnight.Add(-time.Hour).UnixMilli(), Passersby: 999, Staff: 7}}
		if err := srv.store.WriteHours(ctx, site.Site, stale); err != nil {
			t.Fatal(err)
		}
		sent := publishShop(t, srv, shop, midnight.Add(-50*time.Minute), midnight.Add(40*time.Minute))
		r := srv.runner(site.Site)
		eventually(t, "every batch processed", func() bool { return processed(r) == int64(sent) })
		srv.writer.drain(ctx)
		saveHoursNow(srv, r)
		if r.hours.final != day.Format(time.DateOnly) {
			t.Fatalf("final hours stored up to %q, want %s", r.hours.final, day.Format(time.DateOnly))
		}
		assertDayHours(t, srv, site.Site, day)
		// The day after, on which the pipeline is: provisional, as its
		// report so far.
		assertDayHours(t, srv, site.Site, next)

		if err := srv.store.WriteHours(ctx, site.Site, stale); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Reprocess(ctx, site.Site, day.UnixMilli(), next.AddDate(0, 0, 1).UnixMilli()); err != nil {
			t.Fatal(err)
		}
		assertDayHours(t, srv, site.Site, day)
		assertDayHours(t, srv, site.Site, next)
	})
}

// TestFinalHoursAfterARestart: a server stops after the pipeline passed
// local midnight but before it stored the final hours of the day before;
// the next start recovers the two days from the journal and its first save
// stores that day's final hours, as the day's report has them (SQLite and
// PostgreSQL).
func TestFinalHoursAfterARestart(t *testing.T) {
	onBothStores(t, func(t *testing.T, db string) {
		ctx := context.Background()
		shop := simtest.Shop(t, "small", sim.Config{Seed: 9, ShoppersPerHour: 120, PassersPerHour: 400, Staff: -1})
		site := shop.Site()
		loc := site.Location()
		midnight := localDay(time.Now().UnixMilli(), loc)
		if time.Since(midnight) < time.Hour {
			t.Skip("the simulated 40 minutes after local midnight are not over yet")
		}
		day := midnight.AddDate(0, 0, -1)
		dir := t.TempDir()
		cfg := Config{SiteFiles: []string{simtest.WriteSite(t, dir, site)}, DataDir: dir, DB: db, Migrate: true}
		srv, stop := startServer(t, cfg)
		r := srv.runner(site.Site)
		r.hours.mu.Lock()
		r.hours.saved = time.Now() // no save before the stop
		r.hours.mu.Unlock()
		sent := publishShop(t, srv, shop, midnight.Add(-50*time.Minute), midnight.Add(40*time.Minute))
		eventually(t, "every batch processed", func() bool { return processed(r) == int64(sent) })
		stop()

		srv, stop = startServer(t, cfg)
		defer stop()
		stale := []wire.Hour{{Start: midnight.Add(-time.Hour).UnixMilli(), Passersby: 999, Staff: 7}}
		if err := srv.store.WriteHours(ctx, site.Site, stale); err != nil {
			t.Fatal(err)
		}
		r = srv.runner(site.Site)
		srv.writer.drain(ctx)
		saveHoursNow(srv, r)
		if r.hours.final != day.Format(time.DateOnly) {
			t.Fatalf("final hours stored up to %q, want %s", r.hours.final, day.Format(time.DateOnly))
		}
		assertDayHours(t, srv, site.Site, day)
	})
}

// TestFinalHoursOfEveryDayPassed: a pipeline that passes more than one
// local midnight before the first save of the hours (a backlog, the demo's
// history) stores every day it passed with its final figures, not only the
// day before the one it is on.
func TestFinalHoursOfEveryDayPassed(t *testing.T) {
	ctx := context.Background()
	shop := simtest.Shop(t, "small", sim.Config{Seed: 11, ShoppersPerHour: 120, PassersPerHour: 400, Staff: -1})
	site := shop.Site()
	loc := site.Location()
	second := localDay(time.Now().UnixMilli(), loc).AddDate(0, 0, -3)
	first := second.AddDate(0, 0, -1)
	srv, _, stop := startSite(t, site, Config{Migrate: true})
	defer stop()
	// Three local days: the evening before the first midnight, an hour
	// around noon between the two, and the morning after the second.
	noon := first.Add(36 * time.Hour)
	sent := 0
	for _, span := range [][2]time.Time{
		{first.Add(-50 * time.Minute), first.Add(10 * time.Minute)},
		{noon, noon.Add(time.Hour)},
		{second.Add(-10 * time.Minute), second.Add(40 * time.Minute)},
	} {
		sent += publishShop(t, srv, shop, span[0], span[1])
	}
	r := srv.runner(site.Site)
	eventually(t, "every batch processed", func() bool { return processed(r) == int64(sent) })
	srv.writer.drain(ctx)
	saveHoursNow(srv, r)
	if want := second.AddDate(0, 0, -1).Format(time.DateOnly); r.hours.final != want {
		t.Fatalf("final hours stored up to %q, want %s", r.hours.final, want)
	}
	for _, day := range []time.Time{first.AddDate(0, 0, -1), first, second} {
		assertDayHours(t, srv, site.Site, day)
	}
}
