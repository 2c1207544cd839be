package replay

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// bursts keeps the simulator's truth: where each person's phone was at
// each burst, and what the person was.
type bursts []sim.BurstTruth

func (b *bursts) Burst(x *sim.BurstTruth) { *b = append(*b, *x) }
func (b *bursts) Person(*sim.PersonTruth) {}

// TestHeatmapStaffFigures measures what leaving the staff out does to the
// heatmap of a simulated shop day (docs/heatmap.md, "2026-12-05 night:
// people, not staff"): the share of the heatmap's time in the till zone
// and the brightest cell, with the staff and without, and the Pearson
// correlation over the cells with the truth's occupancy of the people who
// are not staff (each burst at its true place, standing until the person's
// next burst, at most 60 s, as the Builder weighs fixes). Opt-in:
// PASSANT_HEATSTAFF=layout (e.g. small), PASSANT_HEATSTAFF_SEED,
// PASSANT_HEATSTAFF_HOURS (default 10, from 9:00 local).
func TestHeatmapStaffFigures(t *testing.T) {
	layout := os.Getenv("PASSANT_HEATSTAFF")
	if layout == "" {
		t.Skip("set PASSANT_HEATSTAFF=small (a layout) to measure")
	}
	seed, _ := strconv.ParseUint(os.Getenv("PASSANT_HEATSTAFF_SEED"), 10, 64)
	hours, _ := strconv.ParseFloat(os.Getenv("PASSANT_HEATSTAFF_HOURS"), 64)
	if seed == 0 {
		seed = 1
	}
	if hours == 0 {
		hours = 10
	}
	shop := simtest.Shop(t, layout, sim.Config{Seed: seed})
	site := shop.Site()
	loc := site.Location()
	from := time.Date(2026, 12, 1, 9, 0, 0, 0, loc)
	var truth bursts
	in := simtest.Input(t, shop, from, from.Add(time.Duration(hours*float64(time.Hour))), &truth)
	dir := t.TempDir()
	cfg := Config{Site: site, Input: bytes.NewReader(in), Positions: filepath.Join(dir, "positions.jsonl")}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// The positions with their final tracks, through a counter (the day's
	// classification) and a builder with a log.
	f, err := os.Open(cfg.Positions)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, staff := heatmap.NewTiles(site.Bounds, 0.5), heatmap.NewTiles(site.Bounds, 0.5)
	b := heatmap.NewBuilder(all)
	b.Log = heatmap.NewLog()
	counter := footfall.NewCounter(site, zones.NewPlan(site))
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		p, err := wire.ParsePosition(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		counter.Add(p)
		b.Add(&p)
	}
	b.Flush()
	counter.Flush()
	spans, bytes := b.Log.Len(), b.Log.Bytes()
	st := footfall.NewStaffOn(loc, footfall.StaffDays(site, counter.TrackDays(), counter.Visits()), nil, "")
	b.Log.Move(staff, math.MaxInt64, st.Is)
	before := all.Range(0, math.MaxInt64)
	after := all.Range(0, math.MaxInt64)
	after.Sub(staff.Range(0, math.MaxInt64))

	// The truth's people (not staff), weighed like fixes.
	want := heatmap.NewGrid(site.Bounds, 0.5)
	last := map[string]sim.BurstTruth{}
	bd := site.Bounds
	inBounds := func(x sim.BurstTruth) bool {
		return x.X >= bd[0][0] && x.X <= bd[1][0] && x.Y >= bd[0][1] && x.Y <= bd[1][1]
	}
	var staffTruth float64
	for _, x := range truth {
		if prev, ok := last[x.Person]; ok && prev.Class == sim.Staff {
			staffTruth += float64(min(x.T-prev.T, b.Cap)) / 1000
		}
		if prev, ok := last[x.Person]; ok && prev.Class != sim.Staff && inBounds(prev) {
			want.AddFix(prev.X, prev.Y, 0.25, float64(min(x.T-prev.T, b.Cap))/1000)
		}
		last[x.Person] = x
	}
	for _, x := range last {
		if x.Class != sim.Staff && inBounds(x) {
			want.AddFix(x.X, x.Y, 0.25, float64(b.Last)/1000)
		}
	}
	var till []wire.Point
	for _, z := range site.Zones {
		if z.Kind == wire.ZoneArea && (z.ID == "till" || z.ID == "checkout") {
			till = z.Polygon
		}
	}
	share := func(g *heatmap.Grid) float64 {
		in := 0.0
		for j := 0; j < g.NY; j++ {
			for i := 0; i < g.NX; i++ {
				x, y := g.Center(i, j)
				if heatmap.Inside(wire.Point{x, y}, till) {
					in += g.V[j*g.NX+i]
				}
			}
		}
		return in / g.Total()
	}
	brightest := func(g *heatmap.Grid) string {
		best := 0
		for i, v := range g.V {
			if v > g.V[best] {
				best = i
			}
		}
		x, y := g.Center(best%g.NX, best/g.NX)
		return fmt.Sprintf("%.0f min at (%.2f, %.2f)", g.V[best]/60, x, y)
	}
	// Pearson's r over every cell, and over the cells whose centre lies in
	// the store.
	var store []wire.Point
	for _, z := range site.Zones {
		if z.Kind == wire.ZoneStore {
			store = z.Polygon
		}
	}
	corr := func(g *heatmap.Grid, poly []wire.Point) float64 {
		var n, sx, sy, sxx, syy, sxy float64
		for j := 0; j < g.NY; j++ {
			for i := 0; i < g.NX; i++ {
				x, y := g.Center(i, j)
				if poly != nil && !heatmap.Inside(wire.Point{x, y}, poly) {
					continue
				}
				a, b := g.V[j*g.NX+i], want.V[j*g.NX+i]
				n, sx, sy, sxx, syy, sxy = n+1, sx+a, sy+b, sxx+a*a, syy+b*b, sxy+a*b
			}
		}
		return (sxy - sx*sy/n) / math.Sqrt((sxx-sx*sx/n)*(syy-sy*sy/n))
	}
	tillShare := share(want)
	t.Logf("%s seed %d, %.0f h: %d spans logged (%d kB, %.0f B a span); %d staff tracks",
		layout, seed, hours, spans, bytes/1000, float64(bytes)/float64(spans), len(footfall.StaffDays(site, counter.TrackDays(), counter.Visits())))
	t.Logf("total %.1f h -> %.1f h (truth's people in the bounds %.1f h, staff %.1f h)", before.Total()/3600, after.Total()/3600, want.Total()/3600, staffTruth/3600)
	t.Logf("till share %.1f%% -> %.1f%% (truth's people %.1f%%)", 100*share(before), 100*share(after), 100*tillShare)
	t.Logf("brightest cell %s -> %s (truth's people %s)", brightest(before), brightest(after), brightest(want))
	t.Logf("r with the truth's people: site %.3f -> %.3f, store %.3f -> %.3f",
		corr(before, nil), corr(after, nil), corr(before, store), corr(after, store))
}
