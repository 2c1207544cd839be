package demo

import (
	"context"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// TestRestartSendsOtherPhones: a demo started again on its data (no
// history, so no today's part) sends phones of its own, not the first
// run's shifted by the time between the starts. Before, the live shop was
// the seed's alone: the same addresses and sequence numbers came again a
// few minutes later, and the server's coarse clock check, which matches
// frames up to an hour apart, took the lag for two sensors' clocks 169 s
// off and raised clock alerts.
func TestRestartSendsOtherPhones(t *testing.T) {
	layout, err := sim.LayoutNamed("small")
	if err != nil {
		t.Fatal(err)
	}
	site := &layout.Site
	loc := site.Location()
	first := time.Date(2026, 12, 5, 11, 0, 0, 0, loc) // a Saturday, open
	frames := func(start time.Time, again bool) map[[2]int64]bool {
		cfg := Config{Seed: 7, Layout: "small", Busy: 3}
		shop, err := liveShop(cfg, site, true, again, shopDay{}, start)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[[2]int64]bool{}
		err = shop.Run(context.Background(), start, start.Add(10*time.Minute), func(_ string, b *wire.Batch) error {
			for _, o := range b.Obs {
				if o.Seq >= 0 {
					seen[[2]int64{int64(o.Dev), int64(o.Seq)}] = true
				}
			}
			return nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return seen
	}
	a, b := frames(first, false), frames(first.Add(3*time.Minute), true)
	same := 0
	for k := range b {
		if a[k] {
			same++
		}
	}
	if len(a) < 500 || same > len(b)/100 {
		t.Fatalf("%d of the restart's %d frames (address and sequence number) are the first run's (%d frames)", same, len(b), len(a))
	}
	// A first run (a fresh data directory, --history 0) is the seed's
	// shop, whenever it starts.
	c := frames(first.Add(3*time.Minute), false)
	same = 0
	for k := range c {
		if a[k] {
			same++
		}
	}
	if same != len(c) || len(c) != len(a) {
		t.Errorf("two first runs of seed 7: %d of %d frames the same (%d in the earlier)", same, len(c), len(a))
	}
}
