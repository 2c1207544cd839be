package sim

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// TestLevelDay prints, per seed, the store level the tracker learned hour
// by hour over a shop day beside the sensors' true mean gain error.
// PASSANT_LEVELDAY=<layout>, PASSANT_LEVELDAY_SEEDS=<n> (1..n).
func TestLevelDay(t *testing.T) {
	layout := os.Getenv("PASSANT_LEVELDAY")
	if layout == "" {
		t.Skip("set PASSANT_LEVELDAY=<layout>")
	}
	n, _ := strconv.Atoi(os.Getenv("PASSANT_LEVELDAY_SEEDS"))
	for seed := 1; seed <= n; seed++ {
		shop, err := NewShop(layout, Config{Seed: uint64(seed)})
		if err != nil {
			t.Fatal(err)
		}
		site := shop.Site()
		from := time.Date(2026, 12, 3, 9, 0, 0, 0, site.Location())
		var batches []*wire.Batch
		if err := shop.Run(context.Background(), from, from.Add(11*time.Hour), func(_ string, b *wire.Batch) error {
			batches = append(batches, b)
			return nil
		}, &Truth{}); err != nil {
			t.Fatal(err)
		}
		m, err := locate.NewModel(site)
		if err != nil {
			t.Fatal(err)
		}
		tr := locate.NewTracker(m, locate.TrackerOptions{})
		var mean float64
		for _, g := range shop.gain {
			mean += g / float64(len(shop.gain))
		}
		var levels []float64
		next := from.Add(time.Hour).UnixMilli()
		for _, b := range Bursts(m, site, batches) {
			for b.T >= next {
				levels = append(levels, tr.Level())
				next += 3600_000
			}
			tr.Add(b)
			tr.Expire(b.T)
		}
		levels = append(levels, tr.Level())
		t.Logf("seed %2d: true mean gain %+.2f dB (gains %.2f, exponents %.2f); learned level by hour %.2f; learned gains %.2f", seed, mean, shop.gain, shop.expn, levels, tr.Gains())
	}
}
