package checkpoint_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/passant/passant/checkpoint"
	"github.com/passant/passant/footfall"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// run is a site's pipeline and counter with what they compute written out:
// the positions as the replay writes them, and the merges.
type run struct {
	site    *wire.Site
	plan    *zones.Plan
	counter *footfall.Counter
	pipe    *pipeline.Pipeline
	out     *out
}

type out struct {
	counter *footfall.Counter
	buf     bytes.Buffer
}

func (o *out) Position(p wire.Position) {
	o.buf.Write(wire.AppendPosition(nil, &p))
	o.buf.WriteByte('\n')
	o.counter.Add(p)
}

func (o *out) Merge(from, into string, t int64) {
	fmt.Fprintf(&o.buf, "merge %s %s %d\n", from, into, t)
	o.counter.Merge(from, into)
}

func (o *out) Advance(now int64) { o.counter.Advance(now) }

func newRun(t testing.TB, site *wire.Site) *run {
	t.Helper()
	plan := zones.NewPlan(site)
	counter := footfall.NewCounter(site, plan)
	o := &out{counter: counter}
	p, err := pipeline.New(pipeline.Config{Site: site, Zone: plan.Innermost}, o)
	if err != nil {
		t.Fatal(err)
	}
	return &run{site: site, plan: plan, counter: counter, pipe: p, out: o}
}

func (r *run) accept(bs []*wire.Batch) {
	for _, b := range bs {
		r.pipe.Accept(0, b, wire.Drops{})
	}
}

// final flushes the run and returns its report and statistics as JSON.
func (r *run) final(t *testing.T) []byte {
	t.Helper()
	r.pipe.Flush()
	r.counter.Flush()
	first, last, _ := r.pipe.Span()
	rep := footfall.Build(r.site, first, last+1, r.counter.TrackDays(), r.counter.Visits(), nil, footfall.History{})
	data, err := json.Marshal(struct {
		Report *wire.Report
		Stats  []pipeline.SensorStats
		N      int64
	}{&rep, r.pipe.Stats(), r.pipe.Positions()})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (r *run) write(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := checkpoint.Write(&b, pipeline.CheckpointKeep, r.pipe, r.counter); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestExact runs simulated days straight through one pipeline and again
// with a checkpoint at a point, read into a fresh pipeline that goes on
// from there: every position, merge, statistic and the report must be the
// same, byte for byte. The days: two mornings (learning), then an evening
// that runs over midnight, cut at several points (one in the middle of the
// evening's traffic, with tracks, bursts and visits open).
func TestExact(t *testing.T) {
	cases := []struct {
		layout string
		seed   uint64
	}{{"small", 7}, {"large", 8}, {"narrow", 3}, {"corner", 5}}
	if testing.Short() {
		cases = cases[:1]
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%d", c.layout, c.seed), func(t *testing.T) {
			shop := simtest.Shop(t, c.layout, sim.Config{Seed: c.seed, ShoppersPerHour: 60,
				Regulars: &sim.Regulars{Seed: c.seed, N: 20, Share: 0.5}})
			site := shop.Site()
			var bs []*wire.Batch
			for _, span := range [][2]time.Time{
				{time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC)},
				{time.Date(2026, 11, 11, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)},
				{time.Date(2026, 11, 11, 23, 30, 0, 0, time.UTC), time.Date(2026, 11, 12, 0, 30, 0, 0, time.UTC)},
			} {
				bs = append(bs, simtest.Batches(t, shop, span[0], span[1], nil)...)
			}
			straight := newRun(t, site)
			type cut struct {
				ck   []byte
				skip int // the straight run's output up to the cut
			}
			cuts := map[int]*cut{len(bs) / 3: nil, len(bs) * 5 / 6: nil}
			for i, b := range bs {
				if _, ok := cuts[i]; ok {
					cuts[i] = &cut{straight.write(t), straight.out.buf.Len()}
				}
				straight.pipe.Accept(0, b, wire.Drops{})
			}
			endState := straight.write(t)
			wantFinal := straight.final(t)
			for k, c := range cuts {
				ck, want := c.ck, straight.out.buf.Bytes()[c.skip:]

				r := newRun(t, site)
				if err := checkpoint.Read(bytes.NewReader(ck), pipeline.CheckpointKeep, r.pipe, r.counter); err != nil {
					t.Fatal(err)
				}
				if again := r.write(t); !bytes.Equal(again, ck) {
					t.Errorf("cut at batch %d: the state read, written again, differs from the checkpoint (%d bytes, %d)", k, len(again), len(ck))
				}
				r.accept(bs[k:])
				if a, b := r.write(t), endState; !bytes.Equal(a, b) {
					i := 0
					for i < min(len(a), len(b)) && a[i] == b[i] {
						i++
					}
					t.Errorf("cut at batch %d: the state before the flush differs at byte %d of %d", k, i, len(a))
				}
				final := r.final(t)
				got := r.out.buf.Bytes()
				t.Logf("cut at batch %d of %d: checkpoint %d bytes, %d bytes of positions after it", k, len(bs), len(ck), len(want))
				if !bytes.Equal(got, want) {
					i := 0
					for i < min(len(got), len(want)) && got[i] == want[i] {
						i++
					}
					t.Fatalf("cut at batch %d: the positions after it differ at byte %d (of %d straight, %d restored):\nstraight: %.600s\nrestored: %.600s",
						k, i, len(want), len(got), want[max(0, i-100):], got[max(0, i-100):])
				}
				if !bytes.Equal(final, wantFinal) {
					t.Fatalf("cut at batch %d: the report differs:\nstraight: %s\nrestored: %s", k, wantFinal, final)
				}
			}
		})
	}
}

// TestRefused: a checkpoint that is corrupt, cut short, not one, or for
// other types is refused with ErrRefused, before anything is read into the
// fresh values.
func TestRefused(t *testing.T) {
	shop := simtest.Shop(t, "small", sim.Config{Seed: 1})
	site := shop.Site()
	r := newRun(t, site)
	r.accept(simtest.Batches(t, shop, time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 10, 9, 10, 0, 0, time.UTC), nil))
	ck := r.write(t)

	flipped := bytes.Clone(ck)
	flipped[len(flipped)/2] ^= 1
	otherBuild := bytes.Replace(bytes.Clone(ck), []byte("build "), []byte("build x"), 1)
	for name, data := range map[string][]byte{
		"corrupt":     flipped,
		"cut short":   ck[:len(ck)-40],
		"empty":       nil,
		"not one":     []byte("{\"v\":1}\n"),
		"other build": otherBuild,
	} {
		fresh := newRun(t, site)
		err := checkpoint.Read(bytes.NewReader(data), pipeline.CheckpointKeep, fresh.pipe, fresh.counter)
		if !errors.Is(err, checkpoint.ErrRefused) {
			t.Errorf("%s: %v, want refused", name, err)
			continue
		}
		t.Logf("%s: %v", name, err)
		if fresh.pipe.Positions() != 0 {
			t.Errorf("%s: the refused checkpoint was read into the pipeline", name)
		}
	}
	// Other types: the counter alone where the pipeline was.
	fresh := newRun(t, site)
	if err := checkpoint.Read(bytes.NewReader(ck), pipeline.CheckpointKeep, fresh.counter, fresh.pipe); !errors.Is(err, checkpoint.ErrRefused) {
		t.Errorf("other types: %v, want refused", err)
	}
}
