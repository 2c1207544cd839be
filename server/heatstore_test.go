package server

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// feedHeatDays feeds days of opening hours (10:00-18:00 local from day0)
// of made-up shoppers to a runner, as the pipeline's Position and Advance
// do: each hour 20 shoppers who walk the site for five minutes, a fix
// every 10 s, and a phone that stands at the till all day (staff). Every
// fix is stored (10 s apart: positionsEvery). It returns the last fix's
// time.
func feedHeatDays(r *siteRunner, day0 time.Time, days int, seed uint64) int64 {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := r.site.Bounds
	var last int64
	r.mu.Lock()
	defer r.mu.Unlock()
	for d := 0; d < days; d++ {
		open := day0.AddDate(0, 0, d).Add(10 * time.Hour).UnixMilli()
		var ps []wire.Position
		for at := open; at < open+8*3_600_000; at += 10_000 {
			ps = append(ps, wire.Position{T: at, Dev: wire.Dev(1000 + d), Track: fmt.Sprintf("till%d", d), X: 8.5, Y: 1.5, Err: 1, N: 4})
		}
		for k := 0; k < 8*20; k++ {
			t0 := open + int64(k)*3_600_000/20
			x := b[0][0] + rng.Float64()*(b[1][0]-b[0][0])
			y := b[0][1] + rng.Float64()*(b[1][1]-b[0][1])
			for i := 0; i < 30; i++ {
				x = min(b[1][0], max(b[0][0], x+0.7*rng.NormFloat64()))
				y = min(b[1][1], max(b[0][1], y+0.7*rng.NormFloat64()))
				ps = append(ps, wire.Position{T: t0 + int64(i)*10_000 + int64(k%10), Dev: wire.Dev(d*10_000 + k + 1),
					Track: fmt.Sprintf("k%d-%d", d, k), X: x, Y: y, Err: 0.8 + rng.Float64(), N: 3})
			}
		}
		slices.SortStableFunc(ps, func(a, b wire.Position) int { return cmp.Compare(a.T, b.T) })
		for _, p := range ps {
			p.Zone = r.plan.Innermost(p.X, p.Y)
			r.Position(p)
			r.Advance(p.T)
			last = p.T
		}
	}
	r.Advance(last + 3_600_000)
	return last
}

// heatServer starts a server on the small shop's site with cfg (in a data
// directory of its own) and returns it, the site's runner and the local
// midnight daysAgo days before today.
func heatServer(tb testing.TB, cfg Config, daysAgo int) (*Server, *siteRunner, time.Time, func()) {
	tb.Helper()
	site := simtest.Shop(tb, "small", sim.Config{Seed: 1}).Site()
	cfg.DataDir = tb.TempDir()
	cfg.SiteFiles = []string{simtest.WriteSite(tb, cfg.DataDir, site)}
	srv, stop := startServer(tb, cfg)
	loc := site.Location()
	y, m, d := time.Now().In(loc).AddDate(0, 0, -daysAgo).Date()
	return srv, srv.runner(site.Site), time.Date(y, m, d, 0, 0, 0, 0, loc), stop
}

// storeHeatDays is feedHeatDays, then the runner's and the writer's rows
// stored.
func storeHeatDays(tb testing.TB, srv *Server, r *siteRunner, day0 time.Time, days int, seed uint64) {
	tb.Helper()
	feedHeatDays(r, day0, days, seed)
	ctx := context.Background()
	r.persist(ctx)
	if err := srv.writer.drain(ctx); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkHeatmapPastDay asks for the heatmap of days that are over: a
// day (the day before the last of 29 a runner took; 20 shoppers an hour
// and a staff phone, the small shop's 0.5 m tiles) and the 28 days before
// the last, on the embedded store and on PostgreSQL.
func BenchmarkHeatmapPastDay(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			url := ""
			if db == "postgres" {
				url = storetest.PostgresURL(b)
			}
			srv, r, day0, stop := heatServer(b, Config{DB: url, Migrate: true}, 30)
			defer stop()
			ctx := context.Background()
			storeHeatDays(b, srv, r, day0, 29, 1)
			for _, c := range []struct {
				name string
				from int
			}{{"day", 27}, {"month", 0}} {
				// Days that are over: the runner is on day 29.
				q := web.HeatmapQuery{Site: r.id, From: day0.AddDate(0, 0, c.from).UnixMilli(), To: day0.AddDate(0, 0, 28).UnixMilli()}
				b.Run(c.name, func(b *testing.B) {
					first, err := srv.Heatmap(ctx, q)
					if err != nil {
						b.Fatal(err)
					}
					var total float64
					for _, v := range first.Values {
						total += v
					}
					if total < 8*20*250 {
						b.Fatalf("the heatmap holds %.0f s: the benchmark shows nothing", total)
					}
					for b.Loop() {
						if _, err := srv.Heatmap(ctx, q); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
