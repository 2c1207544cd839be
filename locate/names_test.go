package locate_test

import (
	"testing"
	"time"
)

// TestTrackerRemembered runs the tracker over three simulated hours of the
// small shop and checks what the pipeline's pruning of stable names relies
// on: a track that gives a position is remembered, and a name the tracker
// no longer remembers after a prune never comes back, in a position or a
// merge. And the cache of names is cut back: at the end it holds fewer
// names than there were tracks, and none once every track has expired.
func TestTrackerRemembered(t *testing.T) {
	tr, bursts := threeHours(t)
	named := map[string]bool{} // every name given; false once forgotten
	forgotten := 0
	var pruned, last int64
	use := func(name string, what string, at int64) {
		if ok, seen := named[name]; seen && !ok {
			t.Fatalf("at %d: %s names %s, forgotten before", at, what, name)
		}
		named[name] = true
	}
	for _, b := range bursts {
		tr.Expire(b.T)
		for _, mg := range tr.Merges() {
			use(mg.From, "a merge", b.T)
			use(mg.Into, "a merge", b.T)
		}
		if at := tr.PrunedAt(); at != pruned {
			pruned = at
			rem := tr.Remembered()
			for n, ok := range named {
				if ok && !rem(n) {
					named[n] = false
					forgotten++
				}
			}
		}
		pos := tr.Add(b)
		use(pos.Track, "a position", b.T)
		if !tr.Remembered()(pos.Track) {
			t.Fatalf("at %d: track %s of a position is not remembered", b.T, pos.Track)
		}
		for _, mg := range tr.Merges() {
			use(mg.From, "a merge", b.T)
			use(mg.Into, "a merge", b.T)
		}
		last = b.T
	}
	if forgotten == 0 {
		t.Fatal("no name forgotten: the test does not reach the pruning")
	}
	if c := tr.NamesCached(); c >= len(named) {
		t.Errorf("%d names cached for %d tracks", c, len(named))
	}
	t.Logf("%d tracks, %d forgotten, %d names cached", len(named), forgotten, tr.NamesCached())
	tr.Expire(last + 2*time.Hour.Milliseconds())
	if c := tr.NamesCached(); tr.Len() != 0 || c != 0 {
		t.Errorf("%d tracks live, %d names cached after all expired", tr.Len(), c)
	}
}
