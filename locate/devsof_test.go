package locate_test

import (
	"context"
	"testing"
	"time"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// TestTrackerDevsOf runs the tracker over two simulated hours of the small
// shop, with its deferred links' merges and undone links, and checks after
// every burst that each pseudonym is on its track's list (what merge and
// takeBack read instead of scanning every pseudonym).
func TestTrackerDevsOf(t *testing.T) {
	shop, err := sim.NewShop("small", sim.Config{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	var batches []*wire.Batch
	from := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	err = shop.Run(context.Background(), from, from.Add(2*time.Hour), func(_ string, b *wire.Batch) error {
		batches = append(batches, b)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	site := shop.Site()
	m, err := locate.NewModel(site)
	if err != nil {
		t.Fatal(err)
	}
	tr := locate.NewTracker(m, locate.TrackerOptions{})
	merges := 0
	for _, b := range sim.Bursts(m, site, batches) {
		tr.Expire(b.T)
		tr.Add(b)
		merges += len(tr.Merges())
		if err := tr.CheckDevsOf(); err != nil {
			t.Fatalf("at %d: %v", b.T, err)
		}
	}
	if merges == 0 {
		t.Fatal("no merges: the test does not reach merge")
	}
	t.Logf("%d merges", merges)
}
