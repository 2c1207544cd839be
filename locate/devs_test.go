package locate_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
)

// TestTrackerPseudonymSlots runs the tracker over three simulated hours of
// the small shop, with its deferred links' merges, undone links and the
// hourly pruning of pseudonyms, and checks after every burst that the
// pseudonyms' map and slots agree; and that a merge moved every pseudonym
// of the merged track (none names it afterwards).
func TestTrackerPseudonymSlots(t *testing.T) {
	tr, bursts := threeHours(t)
	merges, forgotten := 0, 0
	prev := 0
	for _, b := range bursts {
		tr.Expire(b.T)
		n := len(tr.Pseudonyms())
		if n < prev {
			forgotten += prev - n
		}
		tr.Add(b)
		if err := tr.CheckDevs(); err != nil {
			t.Fatalf("at %d: %v", b.T, err)
		}
		ms := tr.Merges()
		if len(ms) > 0 {
			gone := map[string]bool{}
			for _, mg := range ms {
				gone[mg.From] = true
			}
			for d, num := range tr.Pseudonyms() {
				if gone["k"+strconv.Itoa(int(num))] {
					t.Fatalf("at %d: pseudonym %v still names merged track %d", b.T, d, num)
				}
			}
		}
		merges += len(ms)
		prev = len(tr.Pseudonyms())
	}
	if merges == 0 || forgotten == 0 {
		t.Fatalf("%d merges, %d pseudonyms forgotten: the test does not reach merge and pruning", merges, forgotten)
	}
	t.Logf("%d merges, %d pseudonyms forgotten", merges, forgotten)
}

// threeHours returns a tracker for the small shop and the bursts of three
// simulated hours of it (seed 2).
func threeHours(t *testing.T) (*locate.Tracker, []*locate.Burst) {
	shop := simtest.Shop(t, "small", sim.Config{Seed: 2})
	from := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	batches := simtest.Batches(t, shop, from, from.Add(3*time.Hour), nil)
	site := shop.Site()
	m, err := locate.NewModel(site)
	if err != nil {
		t.Fatal(err)
	}
	return locate.NewTracker(m, locate.TrackerOptions{}), sim.Bursts(m, site, batches)
}
