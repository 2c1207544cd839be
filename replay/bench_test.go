package replay

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// BenchmarkReplay runs the whole replay (decoding, clock alignment,
// reordering, fusion, tracking, footfall, positions.jsonl) over two hours
// of the simulated small shop and reports observations per second.
func BenchmarkReplay(b *testing.B) {
	shop := simtest.Shop(b, "small", sim.Config{Seed: 1})
	from := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var in []byte
	var obs int
	simtest.Run(b, shop, from, from.Add(2*time.Hour), nil, func(_ string, bt *wire.Batch) error {
		in = append(wire.AppendBatch(in, bt), '\n')
		obs += len(bt.Obs)
		return nil
	})
	site := shop.Site()
	pos := filepath.Join(b.TempDir(), "positions.jsonl")
	b.ReportAllocs()
	for b.Loop() {
		res, err := Run(context.Background(), Config{Site: site, Input: bytes.NewReader(in), Positions: pos})
		if err != nil || res.Observations != int64(obs) {
			b.Fatalf("replay: %v (%d of %d observations)", err, res.Observations, obs)
		}
	}
	b.ReportMetric(float64(obs)*float64(b.N)/b.Elapsed().Seconds(), "obs/s")
}
