package checkpoint_test

import (
	"bytes"
	"reflect"
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

// TestFloat32Size: float32s take 4 bytes (a heatmap's tiles, the spans of
// its log), not the 8 of a float64, and are read back bit for bit.
func TestFloat32Size(t *testing.T) {
	type span struct {
		X, Y float32
	}
	type state struct {
		V     []float32
		Spans []span
	}
	s := &state{V: make([]float32, 1000), Spans: make([]span, 100)}
	for i := range s.V {
		s.V[i] = float32(i) / 3
	}
	for i := range s.Spans {
		s.Spans[i] = span{float32(i) * 1.1, -float32(i) / 7}
	}
	sizes, err := checkpoint.Sizes(nil, 1, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, sz := range sizes {
		if sz.Bytes > 4*1000+8*100+16 {
			t.Errorf("%s: %d bytes", sz.Path, sz.Bytes)
		}
	}
	var b bytes.Buffer
	if err := checkpoint.Write(&b, nil, s); err != nil {
		t.Fatal(err)
	}
	got := &state{}
	if err := checkpoint.Read(&b, nil, got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("read back differs")
	}
}
