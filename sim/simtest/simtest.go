// Package simtest runs simulated shops for other packages' tests: a shop
// of a layout, the batches its sensors send over a span (as a slice or as
// replay input, one batch a line) and its site file on disk. Each helper
// fails the test on error, so a test reads as what it simulates.
//
// It imports sim (and through it locate, sensor and wire), so the tests of
// those packages' own (internal) test files cannot use it; external test
// packages (package locate_test) can.
package simtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// Shop returns a new shop of the named layout (sim.Layouts) with cfg.
func Shop(t testing.TB, layout string, cfg sim.Config) *sim.Shop {
	t.Helper()
	shop, err := sim.NewShop(layout, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return shop
}

// Run simulates [from, to) on shop as fast as it can, handing each batch
// to emit in sending order and the ground truth to truth (nil: none).
func Run(t testing.TB, shop *sim.Shop, from, to time.Time, truth sim.TruthSink, emit sim.Emit) {
	t.Helper()
	if err := shop.Run(context.Background(), from, to, emit, truth); err != nil {
		t.Fatal(err)
	}
}

// Batches simulates [from, to) on shop and returns its sensors' batches in
// sending order.
func Batches(t testing.TB, shop *sim.Shop, from, to time.Time, truth sim.TruthSink) []*wire.Batch {
	t.Helper()
	var bs []*wire.Batch
	Run(t, shop, from, to, truth, func(_ string, b *wire.Batch) error {
		bs = append(bs, b)
		return nil
	})
	return bs
}

// Input simulates [from, to) on shop and returns its batches as replay
// input (the contract's batches, one a line), as `passant sim` writes
// them. It keeps no batch, so long spans fit in memory.
func Input(t testing.TB, shop *sim.Shop, from, to time.Time, truth sim.TruthSink) []byte {
	t.Helper()
	var in bytes.Buffer
	var line []byte
	Run(t, shop, from, to, truth, func(_ string, b *wire.Batch) error {
		line = append(wire.AppendBatch(line[:0], b), '\n')
		in.Write(line)
		return nil
	})
	return in.Bytes()
}

// Sent returns the batches of bs sent in [lo, hi) (Unix ms), in order.
func Sent(bs []*wire.Batch, lo, hi int64) []*wire.Batch {
	var out []*wire.Batch
	for _, b := range bs {
		if b.Sent >= lo && b.Sent < hi {
			out = append(out, b)
		}
	}
	return out
}

// WriteSite writes site's file into dir as <site id>.json and returns its
// path.
func WriteSite(t testing.TB, dir string, site *wire.Site) string {
	t.Helper()
	data, err := wire.MarshalSite(site)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, site.Site+".json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
