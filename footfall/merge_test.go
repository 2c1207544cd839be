package footfall

import (
	"slices"
	"testing"

	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// A merge makes the counter what it would have been had the merged
// track's positions carried the other's name.
func TestCounterMerge(t *testing.T) {
	site := loadSite(t)
	t0 := at(2026, 12, 1, 10, 0, 0)
	// One shopper: k-a on the street and in the store for 3 min, then a
	// new MAC (k-b) in the store for 4 min, through the aisle, and out.
	a := append(stay("k-a", t0, t0+60_000, 30, street), stay("k-a", t0+90_000, t0+240_000, 30, floor)...)
	b := append(stay("k-b", t0+270_000, t0+390_000, 30, aisle), stay("k-b", t0+420_000, t0+480_000, 30, floor)...)
	b = append(b, stay("k-b", t0+510_000, t0+600_000, 30, street)...)
	// Another passer-by in between, who stays apart.
	c := stay("k-c", t0+100_000, t0+200_000, 30, street)
	all := slices.Concat(a, b, c)
	slices.SortStableFunc(all, func(x, y wire.Position) int { return int(x.T - y.T) })

	run := func(merge bool, rename bool) ([]TrackDay, []Visit) {
		cnt := NewCounter(site, zones.NewPlan(site))
		for _, p := range all {
			if rename && p.Track == "k-b" {
				p.Track = "k-a"
			}
			if merge && p.Track == "k-b" && p.T == t0+420_000 {
				first, last, ok := cnt.Merge("k-b", "k-a")
				if !ok || first != t0+270_000 || last != t0+390_000 {
					t.Errorf("merged span %d..%d (%v), want k-b's", first-t0, last-t0, ok)
				}
				p.Track = "k-a"
			} else if merge && p.Track == "k-b" && p.T > t0+420_000 {
				p.Track = "k-a"
			}
			cnt.Add(p)
		}
		cnt.Flush()
		return cnt.TrackDays(), cnt.Visits()
	}
	wantDays, wantVisits := run(false, true)
	gotDays, gotVisits := run(true, false)
	if !slices.Equal(gotDays, wantDays) {
		t.Errorf("days after the merge:\n%+v\nwant\n%+v", gotDays, wantDays)
	}
	if !slices.Equal(gotVisits, wantVisits) {
		t.Errorf("visits after the merge:\n%+v\nwant\n%+v", gotVisits, wantVisits)
	}
	if len(gotDays) != 2 {
		t.Errorf("%d track days, want 2", len(gotDays))
	}
	var store []Visit
	for _, v := range gotVisits {
		if v.Zone == "store" {
			store = append(store, v)
		}
	}
	if len(store) != 1 || store[0].Track != "k-a" || store[0].End-store[0].Start != (480_000-90_000) {
		t.Errorf("store visits %+v, want one of k-a over 6.5 min", store)
	}
	// The door's fixes: k-a's last on the street before, k-b's first after.
	if len(store) == 1 && (store[0].Before != t0+60_000 || store[0].Enter != t0+90_000 || store[0].After != t0+510_000) {
		t.Errorf("door fixes %d, %d, %d s, want 60, 90, 510", (store[0].Before-t0)/1000, (store[0].Enter-t0)/1000, (store[0].After-t0)/1000)
	}
	// Merging what is not there changes nothing.
	cnt := NewCounter(site, zones.NewPlan(site))
	cnt.Add(wire.Position{T: t0, Track: "k-x", X: floor[0], Y: floor[1]})
	if _, _, ok := cnt.Merge("k-nope", "k-x"); ok {
		t.Error("merged an unknown track")
	}
	if _, _, ok := cnt.Merge("k-x", "k-x"); ok {
		t.Error("merged a track into itself")
	}
	if d := cnt.TrackDays(); len(d) != 1 || d[0].Track != "k-x" {
		t.Errorf("days %+v", d)
	}
}
