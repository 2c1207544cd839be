package server

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// dayHeat returns the small shop's site, the start of a local day, and a
// footfall counter and a runner's heat as a runner that started before
// that day holds them.
func dayHeat(t testing.TB) (*wire.Site, int64, *zones.Plan, *footfall.Counter, *heat) {
	site := simtest.Shop(t, "small", sim.Config{Seed: 1}).Site()
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, site.Location()).UnixMilli()
	plan := zones.NewPlan(site)
	h := newHeat(site)
	h.liveFrom = day
	return site, day, plan, footfall.NewCounter(site, plan), h
}

// TestHeatLeavesOutAPrinter runs a day of a printer standing at one spot
// in the store from 8:00 to 20:00 and a shopper's ten minutes along the
// left rail through a runner's heat and footfall counter, as Position and
// Advance feed them: during the day the printer is out of the heatmap
// once it has been seen for staff_min_dwell_s (the staff so far), and
// once the day is over its spans move into the staff's tiles (bake) and
// the log forgets the day; the shopper's path stays whole throughout.
func TestHeatLeavesOutAPrinter(t *testing.T) {
	site, day, plan, counter, h := dayHeat(t)
	var ps []wire.Position
	for at := day + 8*heatmap.Hour; at < day+20*heatmap.Hour; at += 30_000 {
		ps = append(ps, wire.Position{T: at, Track: "printer", X: 8.5, Y: 1.5, Err: 1, PStore: 1, N: 4})
	}
	for i, at := 0, day+11*heatmap.Hour; i < 30; i, at = i+1, at+20_000 {
		ps = append(ps, wire.Position{T: at, Track: "shopper", X: 1.75, Y: 2.5 + 0.15*float64(i), Err: 1, PStore: 1, N: 4})
	}
	slices.SortStableFunc(ps, func(a, b wire.Position) int { return int(a.T - b.T) })
	for _, p := range ps {
		p.Zone = plan.Innermost(p.X, p.Y)
		counter.Add(p)
		h.add(&p)
		counter.Advance(p.T)
		h.builder.Expire(p.T)
		h.bake(p.T, site, counter, bakeMode{Replace: true})
	}
	all := func(int64) bool { return true }
	everyone := func() *heatmap.Grid {
		return sumTiles(h.tiles, day, day+24*heatmap.Hour, all)
	}
	// At 20:00 the printer has been seen for 12 hours: staff so far.
	people := everyone()
	staff := h.tiles.Grid()
	h.staffSoFar(staff, site, counter, day, day+24*heatmap.Hour, all)
	people.Sub(staff)
	var whole *heatmap.Grid // with the staff
	check := func(when string, people *heatmap.Grid) {
		t.Helper()
		all := whole
		if all.At(8.5, 1.5) < 1000 {
			t.Fatalf("%s: the printer's cell holds %.0f s with the staff: the test shows nothing", when, all.At(8.5, 1.5))
		}
		if got := people.At(8.5, 1.5); got > 0.01 {
			t.Errorf("%s: the printer's cell holds %.3f s of %.0f", when, got, all.At(8.5, 1.5))
		}
		for y := 2.75; y < 6.5; y += 0.5 {
			if got := people.At(1.75, y); got <= 0 || math.Abs(got-all.At(1.75, y)) > 1e-3 {
				t.Errorf("%s: the shopper's path at (1.75, %.2f): %.2f s, %.2f with the staff", when, y, got, all.At(1.75, y))
			}
		}
		if got := people.Total(); math.Abs(got-(29*20+15)) > 1 {
			t.Errorf("%s: people's total %.1f s, want the shopper's 595", when, got)
		}
	}
	whole = everyone()
	check("at 20:00", people)
	// The day over: the log's spans move out, into the staff's tiles, and
	// the day's tiles go to the store.
	next := day + 24*heatmap.Hour + 2*h.builder.Cap
	counter.Advance(next)
	h.builder.Expire(next)
	h.bake(next, site, counter, bakeMode{Replace: true})
	if h.log.Len() != 0 || len(h.tiles.Hours()) != 0 {
		t.Errorf("the log holds %d spans, the tiles %d hours of a day that is over", h.log.Len(), len(h.tiles.Hours()))
	}
	whole, staff = h.tiles.Grid(), h.tiles.Grid()
	baked := h.takeBaked()
	if len(baked) != 2*24 {
		t.Errorf("%d tiles baked, want everyone's and the staff's of 24 hours", len(baked))
	}
	for _, b := range baked {
		g := whole
		if b.Staff {
			g = staff
		}
		if err := heatmap.AddTile(g, b.Data); err != nil {
			t.Fatal(err)
		}
	}
	people = heatmap.NewGrid(site.Bounds, defaultCell)
	people.Add(whole)
	people.Sub(staff)
	check("the day over", people)
}

// BenchmarkHeatmapToday takes the staff so far out of the heatmap of a busy
// day under way (1000 people of 100 fixes, 3 staff phones all day, the
// small shop): the classification of the counter's summaries and the
// staff's logged spans, what a heatmap query of today adds under the
// runner's lock.
func BenchmarkHeatmapToday(b *testing.B) {
	site, day, plan, counter, h := dayHeat(b)
	benchHeatToday(b, site, day, plan, counter, h)
}

// BenchmarkHeatmapTodayTiles is BenchmarkHeatmapToday in India (UTC+5:30)
// with the tiles of its clock hours (what the server keeps) and, for
// comparison, with tiles of 15 minutes, the finer tiles that would also
// select any zone's clock hours (Nepal's UTC+5:45 included).
func BenchmarkHeatmapTodayTiles(b *testing.B) {
	for _, c := range []struct {
		name   string
		period func(*wire.Site) heatmap.Period
	}{
		{"local-hours", func(s *wire.Site) heatmap.Period { return heatmap.LocalPeriod(s.Location()) }},
		{"quarter-hours", func(*wire.Site) heatmap.Period { return heatmap.Period{Len: heatmap.Hour / 4} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			site, _, plan, counter, _ := dayHeat(b)
			site.Timezone = "Asia/Kolkata"
			day := time.Date(2026, 12, 3, 0, 0, 0, 0, site.Location()).UnixMilli()
			counter = footfall.NewCounter(site, plan)
			h := newHeat(site)
			p := c.period(site)
			h.tiles = heatmap.NewPeriodTiles(site.Bounds, defaultCell, p)
			h.builder = heatmap.NewBuilder(h.tiles)
			h.builder.Log = h.log
			h.liveFrom = day
			benchHeatToday(b, site, day, plan, counter, h)
		})
	}
}

func benchHeatToday(b *testing.B, site *wire.Site, day int64, plan *zones.Plan, counter *footfall.Counter, h *heat) {
	rng := rand.New(rand.NewPCG(3, 3))
	var ps []wire.Position
	for k := 0; k < 1000; k++ {
		t0 := day + 9*heatmap.Hour + rng.Int64N(10*heatmap.Hour)
		x, y := rng.Float64()*10, -3+rng.Float64()*11
		for i := 0; i < 100; i++ {
			x, y = min(20, max(-10, x+0.3*rng.NormFloat64())), min(9, max(-7, y+0.3*rng.NormFloat64()))
			ps = append(ps, wire.Position{T: t0 + int64(i)*20_000, Track: fmt.Sprintf("k%d", k), X: x, Y: y, Err: 1 + rng.Float64(), PStore: 0.9, N: 3})
		}
	}
	for k := 0; k < 3; k++ {
		for t := day + 9*heatmap.Hour; t < day+20*heatmap.Hour; t += 20_000 {
			ps = append(ps, wire.Position{T: t, Track: fmt.Sprintf("staff%d", k), X: 8.5 + 0.5*rng.NormFloat64(), Y: 1.5 + 0.5*rng.NormFloat64(), Err: 1.5, PStore: 1, N: 4})
		}
	}
	slices.SortStableFunc(ps, func(a, b wire.Position) int { return cmp.Compare(a.T, b.T) })
	for _, p := range ps {
		p.Zone = plan.Innermost(p.X, p.Y)
		counter.Add(p)
		h.add(&p)
	}
	now := day + 20*heatmap.Hour
	counter.Advance(now)
	h.builder.Expire(now)
	all := func(int64) bool { return true }
	g0 := sumTiles(h.tiles, day, now, all)
	for b.Loop() {
		g := sumTiles(h.tiles, day, now, all)
		staff := h.tiles.Grid()
		h.staffSoFar(staff, site, counter, day, now, all)
		g.Sub(staff)
		if g.Total() > g0.Total()-3*10*3600 {
			b.Fatalf("%.0f s of %.0f taken out, want the staff's 3 x 11 h", g0.Total()-g.Total(), g0.Total())
		}
	}
	b.ReportMetric(float64(h.log.Len()), "spans")
	b.ReportMetric(float64(h.log.Bytes()), "log-bytes")
	b.ReportMetric(float64(h.tiles.Bytes()), "tile-bytes")
}

// TestHeatmapLeavesOutStaff runs 50 minutes of the small shop through
// MQTT with staff_min_dwell_s at 30 minutes, so that its two staff phones,
// which stand mostly at the till, are staff by the time the test asks: the
// heatmap leaves their time out (by the counter's classification so far),
// staff=1 puts it back, and what falls out is about the staff tracks' time.
// The stored path (a cell size other than the tiles') does the same.
func TestHeatmapLeavesOutStaff(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a shop through MQTT: not in -short")
	}
	skipNearMidnight(t)
	shop := simtest.Shop(t, "small", sim.Config{Seed: 5, ShoppersPerHour: 120, PassersPerHour: 400})
	site := shop.Site()
	site.Footfall.StaffMinDwellS = 1800
	srv, _, stop := startSite(t, site, Config{})
	defer stop()
	from := time.Now().Add(-50 * time.Minute)
	r := srv.runner(site.Site)
	// A runner that was running before: the live tiles hold every hour
	// (the first one is otherwise built from storage, as after a start).
	r.mu.Lock()
	r.heat.liveFrom = heatmap.HourOf(from.UnixMilli())
	r.mu.Unlock()
	sent := publishShop(t, srv, shop, from, time.Now())
	eventually(t, "every batch processed", func() bool { return processed(r) == int64(sent) })
	r.mu.Lock()
	staff := footfall.StaffDays(site, r.counter.TrackDays(), r.counter.Visits())
	var staffTime float64
	for _, d := range r.counter.TrackDays() {
		if staff[d.Track] != nil {
			staffTime += float64(d.Last-d.First)/1000 + 15
		}
	}
	r.mu.Unlock()
	if len(staff) == 0 {
		t.Fatal("no staff after 50 minutes with staff_min_dwell_s 1800: the test shows nothing")
	}
	ctx := context.Background()
	q := web.HeatmapQuery{Site: site.Site, From: time.Now().Add(-2 * time.Hour).UnixMilli(), To: time.Now().Add(time.Hour).UnixMilli()}
	compare := func(how string, q web.HeatmapQuery) {
		t.Helper()
		q.Staff = false
		people, err := srv.Heatmap(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		q.Staff = true
		all, err := srv.Heatmap(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if people.Staff || !all.Staff {
			t.Errorf("%s: staff flags: people %v, all %v", how, people.Staff, all.Staff)
		}
		var pt, at, ptill, atill float64
		g := heatmap.Grid{X0: all.Bounds[0][0], Y0: all.Bounds[0][1], Cell: all.Cell, NX: all.W, NY: all.H}
		for j := 0; j < g.NY; j++ {
			for i := 0; i < g.NX; i++ {
				p, a := people.Values[j*g.NX+i], all.Values[j*g.NX+i]
				if p > a+1e-6 {
					t.Fatalf("%s: cell (%d, %d): %.3f s without the staff, %.3f with", how, i, j, p, a)
				}
				pt, at = pt+p, at+a
				x, y := g.Center(i, j)
				if x >= 7 && x <= 9.5 && y >= 0.5 && y <= 2.5 { // the till
					ptill, atill = ptill+p, atill+a
				}
			}
		}
		out := at - pt
		t.Logf("%s: %d staff tracks, %.0f s of them; heatmap %.0f s with the staff, %.0f without (%.0f s out); till %.0f s -> %.0f s (%.1f%% -> %.1f%% of the total)",
			how, len(staff), staffTime, at, pt, out, atill, ptill, 100*atill/at, 100*ptill/pt)
		if out < 0.6*staffTime || out > 1.1*staffTime {
			t.Errorf("%s: %.0f s fell out of the heatmap, want about the staff tracks' %.0f s", how, out, staffTime)
		}
		if ptill >= atill {
			t.Errorf("%s: the till holds %.0f s without the staff, %.0f with", how, ptill, atill)
		}
	}
	compare("live tiles, the staff so far", q)
	// The stored positions: at another cell size, and as the hours before
	// a runner's start (built from storage with the staff's tiles).
	eventually(t, "positions stored", func() bool {
		ps, err := srv.store.Positions(ctx, site.Site, q.From, q.To)
		return err == nil && len(ps) > 0 && ps[len(ps)-1].T > time.Now().Add(-3*time.Minute).UnixMilli()
	})
	q1 := q
	q1.Cell = 1
	compare("stored positions, 1 m cells", q1)
	r.mu.Lock()
	r.heat.liveFrom = heatmap.HourOf(time.Now().UnixMilli()) + heatmap.Hour
	r.mu.Unlock()
	compare("hours built from storage", q)
}
