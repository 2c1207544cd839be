package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// BenchmarkChain100 measures GET /api/chain (which the chain view asks for
// every 30 s) for 100 sites on the embedded store, each with 36 days of a
// modest shop (60 visitors and 150 passers-by a day: 7,560 track days and
// 2,160 store visits a site), and its parts per site: today's report (its
// 30 days of history for returning visitors kept: server/past.go; and, as
// before, read and classified: -month), and the comparison's count of the
// same weekday a week before up to now's time of day (web.Counter: no
// history). chain-cold makes every site's Past anew.
func BenchmarkChain100(b *testing.B) {
	const sites, days = 100, 36
	shop := simtest.Shop(b, "small", sim.Config{Seed: 5})
	dir := b.TempDir()
	var files []string
	var ids []string
	for i := range sites {
		s := *shop.Site()
		s.Site = fmt.Sprintf("shop-%03d", i)
		files = append(files, simtest.WriteSite(b, dir, &s))
		ids = append(ids, s.Site)
	}
	srv, stop := startServer(b, Config{SiteFiles: files, DataDir: dir})
	defer stop()
	st, _, err := srv.store.Site(context.Background(), ids[0])
	if err != nil {
		b.Fatal(err)
	}
	loc := st.Location()
	now := time.Now().In(loc)
	ctx := context.Background()
	for _, id := range ids {
		var tds []footfall.TrackDay
		var vs []footfall.Visit
		for d := days - 1; d >= 0; d-- {
			day := time.Date(now.Year(), now.Month(), now.Day()-d, 9, 0, 0, 0, loc)
			date := day.Format(time.DateOnly)
			for k := range 210 {
				at := day.Add(time.Duration(k) * 3 * time.Minute)
				if d == 0 && at.After(now) {
					break
				}
				track := fmt.Sprintf("d%d-%d", d, k)
				if k%7 == 0 {
					track = fmt.Sprintf("reg-%d", k) // a regular: comes back
				}
				if k%7 < 2 {
					tds = append(tds, footfall.TrackDay{Site: id, Day: date, Track: track, First: at.UnixMilli(), Last: at.Add(15 * time.Minute).UnixMilli(), Fixes: 90})
					vs = append(vs, footfall.Visit{Site: id, Track: track, Zone: "store", Start: at.Add(time.Minute).UnixMilli(), End: at.Add(14 * time.Minute).UnixMilli(), Fixes: 80})
				} else {
					tds = append(tds, footfall.TrackDay{Site: id, Day: date, Track: track, First: at.UnixMilli(), Last: at.Add(time.Minute).UnixMilli(), Fixes: 8})
				}
			}
		}
		if err := srv.store.WriteTrackDays(ctx, tds); err != nil {
			b.Fatal(err)
		}
		if err := srv.store.WriteVisits(ctx, vs); err != nil {
			b.Fatal(err)
		}
	}
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	prev := day.AddDate(0, 0, -7)
	cut := now.AddDate(0, 0, -7)
	var rep *wire.Report
	b.Run("report-today-per-site", func(b *testing.B) {
		for b.Loop() {
			if rep, err = srv.Report(ctx, ids[0], day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rep.Totals.Visitors), "visitors")
	})
	// Today's report as it was before the kept Past: the month read and
	// classified (what a miss costs, every 10 min per site at most).
	b.Run("report-today-per-site-month", func(b *testing.B) {
		for b.Loop() {
			if rep, err = buildReport(ctx, srv.store, st, day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli(), srv.reportSummaries(ids[0])); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rep.Totals.Visitors), "visitors")
	})
	// With the live pipeline holding the two days before today, as a
	// running server's does, the report reads three days.
	b.Run("report-today-per-site-3days", func(b *testing.B) {
		_, ver, err := srv.store.Site(ctx, ids[0])
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if rep, _, err = srv.reportFrom(ctx, st, ver.Hash, day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli(), day.AddDate(0, 0, -2).UnixMilli(), nil, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rep.Totals.Visitors), "visitors")
	})
	b.Run("counts-week-before-per-site", func(b *testing.B) {
		for b.Loop() {
			if rep, err = srv.Counts(ctx, ids[0], prev.UnixMilli(), cut.UnixMilli()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rep.Totals.Visitors), "visitors")
	})
	b.Run("counts-today-per-site", func(b *testing.B) {
		for b.Loop() {
			if rep, err = srv.Counts(ctx, ids[0], day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("report-week-before-per-site", func(b *testing.B) {
		for b.Loop() {
			if rep, err = srv.Report(ctx, ids[0], prev.UnixMilli(), cut.UnixMilli()); err != nil {
				b.Fatal(err)
			}
		}
	})
	getChain := func(b *testing.B) {
		res, err := http.Get("http://" + srv.HTTPAddr() + "/api/chain")
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || len(body) < sites*100 {
			b.Fatalf("chain: %d, %d bytes", res.StatusCode, len(body))
		}
	}
	// The chain with every site's Past to make (a start, a site change):
	// the month of each read once.
	b.Run("chain-cold", func(b *testing.B) {
		for b.Loop() {
			for _, id := range ids {
				srv.past.forget(id)
			}
			getChain(b)
		}
	})
	b.Run("chain", func(b *testing.B) {
		for b.Loop() {
			getChain(b)
		}
		srv.past.mu.Lock()
		b.ReportMetric(float64(srv.past.bytes)/float64(len(srv.past.entries)), "past-B/entry")
		srv.past.mu.Unlock()
	})
}
