package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
)

// TestPastCacheBounded: the kept Pasts stay within their bytes (the least
// recently used go first) and their age; a change to the summaries a Past
// is being made of spoils it (used once, not kept); a change after it
// drops it; a change elsewhere leaves it.
func TestPastCacheBounded(t *testing.T) {
	site := simtest.Shop(t, "small", sim.Config{}).Site()
	mid := localDay(time.Now().UnixMilli(), site.Location())
	start := mid.UnixMilli()
	var days []footfall.TrackDay
	var visits []footfall.Visit
	for i := range 200 {
		at := mid.Add(-time.Duration(i) * 7 * time.Minute)
		track := fmt.Sprintf("v%d", i)
		days = append(days, footfall.TrackDay{Site: site.Site, Day: at.Format(time.DateOnly), Track: track, First: at.UnixMilli(), Last: at.Add(10 * time.Minute).UnixMilli(), Fixes: 50})
		visits = append(visits, footfall.Visit{Site: site.Site, Track: track, Zone: "store", Start: at.Add(time.Minute).UnixMilli(), End: at.Add(9 * time.Minute).UnixMilli(), Fixes: 40})
	}
	past := footfall.NewPast(site, start, days, visits)
	if past.Size() < 200*20 {
		t.Fatalf("a Past of 200 visitors holds %d bytes", past.Size())
	}
	made := 0
	build := func() (*footfall.Past, error) { made++; return past, nil }
	low := start - 31*24*3600_000

	// Ten sites asked for in turn, room for three: with the idle ones
	// evicted first (none is idle), the first three stay and are found
	// on the next round (the least recently used would have been the
	// next asked for each time: none found).
	c := newPastCache(3*past.Size(), time.Hour, time.Hour)
	for range 2 {
		for i := range 10 {
			if _, err := c.get(pastKey{fmt.Sprint("s", i), start}, "h", start, low, build); err != nil {
				t.Fatal(err)
			}
		}
	}
	if h, m := c.counts(); len(c.entries) != 3 || c.bytes > c.budget || h != 3 || m != 17 {
		t.Fatalf("%d Pasts kept, %d bytes of %d, %d found, %d made", len(c.entries), c.bytes, c.budget, h, m)
	}
	for i := range 10 {
		if _, kept := c.entries[pastKey{fmt.Sprint("s", i), start}]; kept != (i < 3) {
			t.Errorf("s%d kept %v", i, kept)
		}
	}
	// Idle ones make room, the least recently used first.
	c = newPastCache(3*past.Size(), time.Hour, 0)
	for i := range 10 {
		c.get(pastKey{fmt.Sprint("s", i), start}, "h", start, low, build)
	}
	for i := range 10 {
		if _, kept := c.entries[pastKey{fmt.Sprint("s", i), start}]; kept != (i >= 7) {
			t.Errorf("idle: s%d kept %v", i, kept)
		}
	}
	made = 0
	c.get(pastKey{"s9", start}, "h", start, low, build)
	c.get(pastKey{"s9", start}, "h2", start, low, build) // a new version of the site
	if made != 1 {
		t.Errorf("%d Pasts made for a kept one and a new site version, want 1", made)
	}

	// A change while it is made.
	made = 0
	spoil := func() (*footfall.Past, error) {
		c.touched(map[string]span{"s1": {start - 3600_000, start - 3600_000}})
		return past, nil
	}
	if p, err := c.get(pastKey{"s1", start}, "h", start, low, spoil); err != nil || p != past {
		t.Fatal(p, err)
	}
	if _, kept := c.entries[pastKey{"s1", start}]; kept {
		t.Error("a Past spoiled while made was kept")
	}
	// A change after the midnight (today's summaries) leaves it, one
	// before drops it, the retention's of every site too.
	c.get(pastKey{"s1", start}, "h", start, low, build)
	c.touched(map[string]span{"s1": {start, start + 3600_000}})
	c.touched(map[string]span{"s2": {low, start}})
	if _, kept := c.entries[pastKey{"s1", start}]; !kept {
		t.Error("a change after the Past's midnight dropped it")
	}
	c.touched(map[string]span{"s1": {start - 1, start}})
	if _, kept := c.entries[pastKey{"s1", start}]; kept {
		t.Error("a change before the Past's midnight left it")
	}
	c.get(pastKey{"s1", start}, "h", start, low, build)
	c.touched(map[string]span{"": {low - 24*3600_000, low - 1}})
	if _, kept := c.entries[pastKey{"s1", start}]; !kept {
		t.Error("a retention before the Past's summaries dropped it")
	}
	c.touched(map[string]span{"": {low - 24*3600_000, low}})
	if len(c.entries) != 0 {
		t.Errorf("%d Pasts kept after the retention reached them", len(c.entries))
	}

	// Age.
	c = newPastCache(1<<20, time.Millisecond, 0)
	made = 0
	c.get(pastKey{"s1", start}, "h", start, low, build)
	time.Sleep(2 * time.Millisecond)
	c.get(pastKey{"s1", start}, "h", start, low, build)
	if made != 2 {
		t.Errorf("%d Pasts made, want 2: one too old was used", made)
	}
}
