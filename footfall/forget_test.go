package footfall

import (
	"slices"
	"testing"

	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// Forget drops a track's closed and open visits and its days, past and
// current; the other tracks' stay as they were.
func TestCounterForget(t *testing.T) {
	site := loadSite(t)
	t0 := at(2026, 12, 4, 10, 0, 0)
	day2 := at(2026, 12, 5, 10, 0, 0)
	c := NewCounter(site, zones.NewPlan(site))
	all := slices.Concat(
		stay("a", t0, t0+600_000, 10, aisle), stay("b", t0, t0+600_000, 10, floor),
		stay("a", day2, day2+300_000, 10, floor), stay("b", day2, day2+300_000, 10, till))
	slices.SortStableFunc(all, func(x, y wire.Position) int { return int(x.T - y.T) })
	for _, p := range all {
		c.Add(p)
	}
	before := map[string]int{}
	for _, v := range c.Visits() {
		before[v.Track]++
	}
	for _, d := range c.TrackDays() {
		before[d.Track+" day"]++
	}
	if before["a"] < 3 || before["a day"] != 2 || before["b"] < 3 || before["b day"] != 2 {
		t.Fatalf("before: %v", before)
	}
	c.Forget(map[string]bool{"a": true})
	after := map[string]int{}
	for _, v := range c.Visits() {
		after[v.Track]++
	}
	for _, d := range c.TrackDays() {
		after[d.Track+" day"]++
	}
	if after["a"] != 0 || after["a day"] != 0 || after["b"] != before["b"] || after["b day"] != 2 {
		t.Fatalf("after forgetting a: %v (before %v)", after, before)
	}
	if occ := c.Occupancy(); occ["store"] != 1 {
		t.Fatalf("occupancy %v, want b alone", occ)
	}
}
