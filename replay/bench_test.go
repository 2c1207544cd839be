package replay

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// BenchmarkReplay runs the whole replay (decoding, clock alignment,
// reordering, fusion, tracking, footfall, positions.jsonl) over two hours
// of the simulated small shop and reports observations per second.
func BenchmarkReplay(b *testing.B) {
	shop, err := sim.NewShop("small", sim.Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var in bytes.Buffer
	var obs int
	from := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	err = shop.Run(context.Background(), from, from.Add(2*time.Hour), func(_ string, bt *wire.Batch) error {
		in.Write(wire.AppendBatch(nil, bt))
		in.WriteByte('\n')
		obs += len(bt.Obs)
		return nil
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	site := shop.Site()
	pos := filepath.Join(b.TempDir(), "positions.jsonl")
	b.ReportAllocs()
	for b.Loop() {
		res, err := Run(context.Background(), Config{Site: site, Input: bytes.NewReader(in.Bytes()), Positions: pos})
		if err != nil || res.Observations != int64(obs) {
			b.Fatalf("replay: %v (%d of %d observations)", err, res.Observations, obs)
		}
	}
	b.ReportMetric(float64(obs)*float64(b.N)/b.Elapsed().Seconds(), "obs/s")
}
