package checkpoint_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/passant/passant/checkpoint"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
)

// TestSizes: the sizes per path add up to the checkpoint's state (its
// length less the header, the length and the SHA-256), and a path that
// holds data (the tracker's pseudonyms) is listed.
func TestSizes(t *testing.T) {
	shop := simtest.Shop(t, "small", sim.Config{Seed: 7})
	from := time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)
	r := newRun(t, shop.Site())
	r.accept(simtest.Batches(t, shop, from, from.Add(30*time.Minute), nil))
	ck := r.write(t)
	sizes, err := checkpoint.Sizes(pipeline.CheckpointKeep, 2, r.pipe, r.counter)
	if err != nil {
		t.Fatal(err)
	}
	total, devs := 0, 0
	for _, s := range sizes {
		total += s.Bytes
		if s.Path == "0.tracker.devs" {
			devs = s.Bytes
		}
	}
	head := bytes.Index(ck, []byte("\ntypes ")) + len("\ntypes ") + 33
	if want := len(ck) - head - 8 - 32; total != want {
		t.Errorf("sizes add up to %d bytes, the checkpoint's state is %d", total, want)
	}
	if devs == 0 {
		t.Errorf("no bytes under 0.tracker.devs: %v", sizes[:min(len(sizes), 10)])
	}
}
