package checkpoint_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/passant/passant/checkpoint"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
)

// afterDay returns a run of the small shop after one simulated 11 h day,
// and its checkpoint.
func afterDay(b *testing.B) (*run, []byte) {
	shop := simtest.Shop(b, "small", sim.Config{Seed: 7})
	from := time.Date(2026, 11, 10, 8, 0, 0, 0, time.UTC)
	r := newRun(b, shop.Site())
	r.accept(simtest.Batches(b, shop, from, from.Add(11*time.Hour), nil))
	var ck bytes.Buffer
	if err := checkpoint.Write(&ck, pipeline.CheckpointKeep, r.pipe, r.counter); err != nil {
		b.Fatal(err)
	}
	return r, ck.Bytes()
}

// BenchmarkWrite writes the checkpoint of a site after an 11 h day.
func BenchmarkWrite(b *testing.B) {
	r, ck := afterDay(b)
	b.SetBytes(int64(len(ck)))
	b.ReportAllocs()
	for b.Loop() {
		if err := checkpoint.Write(io.Discard, pipeline.CheckpointKeep, r.pipe, r.counter); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead reads it into a fresh pipeline and counter (their making
// included: what a start does).
func BenchmarkRead(b *testing.B) {
	r, ck := afterDay(b)
	b.SetBytes(int64(len(ck)))
	b.ReportAllocs()
	for b.Loop() {
		fresh := newRun(b, r.site)
		if err := checkpoint.Read(bytes.NewReader(ck), pipeline.CheckpointKeep, fresh.pipe, fresh.counter); err != nil {
			b.Fatal(err)
		}
	}
}
