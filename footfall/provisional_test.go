package footfall

import (
	"slices"
	"testing"

	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// A stay that begins on a fix whose store side is under zones.SureEnterP
// counts in the store only once it has lasted provisionalMs: a short one
// is no visit (nor a bounce) and leaves no area visit; a long one is a
// visit from its first fix; one begun sure of the side counts however
// short. While provisional it is neither reported open nor occupying.
func TestCounterProvisionalStay(t *testing.T) {
	site := loadSite(t)
	t0 := at(2026, 12, 4, 10, 0, 0)
	unsure := zones.SureEnterP - 0.02
	stayP := func(track string, s0, s1 int, at [2]float64, pin float64) []wire.Position {
		ps := stay(track, t0+int64(s0)*1000, t0+int64(s1)*1000, 30, at)
		for i := range ps {
			ps[i].Err, ps[i].PStore = 1, pin
		}
		return ps
	}
	window := slices.Concat(stayP("w", 0, 90, aisle, unsure), stayP("w", 120, 150, street, 0.05))
	shopper := slices.Concat(stayP("s", 0, 30, aisle, unsure), stayP("s", 60, 300, aisle, 0.95))
	quick := slices.Concat(stayP("q", 0, 90, floor, 0.9), stayP("q", 120, 150, street, 0.05))

	// Open, while the window's stay is young: not reported, not counted.
	c := NewCounter(site, zones.NewPlan(site))
	all := slices.Concat(window, shopper, quick)
	slices.SortStableFunc(all, func(a, b wire.Position) int { return int(a.T - b.T) })
	for _, p := range all {
		if p.T > t0+60_000 {
			break
		}
		c.Add(p)
	}
	for _, v := range c.Visits() {
		if v.Track != "q" {
			t.Errorf("a provisional stay reported open: %+v", v)
		}
	}
	if occ := c.Occupancy(); occ["store"] != 1 || occ["aisle-1"] != 0 {
		t.Errorf("occupancy %v, want the sure track only", occ)
	}

	c = run(t, site, window, shopper, quick)
	got := map[string][2]int64{}
	for _, v := range c.Visits() {
		if v.Zone == "store" {
			got[v.Track] = [2]int64{(v.Start - t0) / 1000, (v.End - t0) / 1000}
		} else if v.Track == "w" {
			t.Errorf("area visit of a stay that never counted: %+v", v)
		}
	}
	want := map[string][2]int64{"s": {0, 300}, "q": {0, 90}}
	if len(got) != len(want) || got["s"] != want["s"] || got["q"] != want["q"] {
		t.Errorf("store visits %v, want %v", got, want)
	}
	cl := Classes(site, c.TrackDays(), c.Visits())
	if cl["w"] != Passerby || cl["s"] != Visitor || cl["q"] != Visitor {
		t.Errorf("classes %v", cl)
	}
}

// A merge carries a provisional stay's state: a window-shopper's stay
// merged into nothing sure is still dropped; merged into a sure visit
// that began earlier it counts as part of it.
func TestCounterMergeProvisional(t *testing.T) {
	site := loadSite(t)
	t0 := at(2026, 12, 4, 10, 0, 0)
	unsure := zones.SureEnterP - 0.02
	fix := func(track string, s int, at [2]float64, pin float64) wire.Position {
		return wire.Position{T: t0 + int64(s)*1000, Track: track, X: at[0], Y: at[1], Err: 1, PStore: pin}
	}
	for _, tc := range []struct {
		name  string
		ps    []wire.Position
		visit bool
	}{
		{"provisional into provisional", []wire.Position{fix("a", 0, aisle, unsure), fix("a", 30, aisle, 0.9), fix("b", 60, aisle, 0.9), fix("b", 90, aisle, 0.9)}, false},
		{"provisional into sure", []wire.Position{fix("a", 0, floor, 0.9), fix("a", 30, floor, 0.9), fix("b", 60, aisle, unsure), fix("b", 90, aisle, 0.9)}, true},
	} {
		c := NewCounter(site, zones.NewPlan(site))
		for _, p := range tc.ps {
			c.Add(p)
		}
		c.Merge("b", "a")
		c.Flush()
		var n int
		for _, v := range c.Visits() {
			if v.Zone == "store" {
				n++
				if v.Track != "a" || v.Start != t0 || v.End != t0+90_000 {
					t.Errorf("%s: visit %+v", tc.name, v)
				}
			}
		}
		if (n == 1) != tc.visit || n > 1 {
			t.Errorf("%s: %d store visits, want visit %v", tc.name, n, tc.visit)
		}
	}
}
