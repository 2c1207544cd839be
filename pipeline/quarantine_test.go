package pipeline_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

type positions struct{ pos []wire.Position }

func (c *positions) Position(p wire.Position) { c.pos = append(c.pos, p) }
func (c *positions) Advance(int64)            {}

// shopBatches simulates the small shop (four sensors) for d.
func shopBatches(t *testing.T, d time.Duration) (*wire.Site, []*wire.Batch) {
	t.Helper()
	shop := simtest.Shop(t, "small", sim.Config{Seed: 9, PassersPerHour: 600, ShoppersPerHour: 80})
	from := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	return shop.Site(), simtest.Batches(t, shop, from, from.Add(d), nil)
}

// skew returns copies of the batches with sensor's clock moved by shift(batch).
func skew(bs []*wire.Batch, sensor string, shift func(i int) int64) []*wire.Batch {
	out := make([]*wire.Batch, len(bs))
	k := 0
	for i, b := range bs {
		if b.Sensor != sensor {
			out[i] = b
			continue
		}
		c := *b
		d := shift(k)
		k++
		c.Sent += d
		c.Obs = append([]wire.Observation(nil), b.Obs...)
		for j := range c.Obs {
			c.Obs[j].T += d
		}
		out[i] = &c
	}
	return out
}

func runSite(t *testing.T, site *wire.Site, bs []*wire.Batch) (*pipeline.Pipeline, []wire.Position) {
	t.Helper()
	c := &positions{}
	p, err := pipeline.New(pipeline.Config{Site: site}, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if err := p.Accept(0, b, wire.Drops{}); err != nil {
			t.Fatal(err)
		}
	}
	p.Flush()
	return p, c.pos
}

// same returns the share of want's fixes that got a fix of the same dev
// within 100 ms and 0.5 m.
func same(got, want []wire.Position) float64 {
	type key struct {
		dev wire.Dev
		t   int64
	}
	idx := map[key][]wire.Position{}
	for _, p := range got {
		k := key{p.Dev, p.T / 1000}
		idx[k] = append(idx[k], p)
	}
	n := 0
	for _, w := range want {
		found := false
		for dt := int64(-1); dt <= 1 && !found; dt++ {
			for _, g := range idx[key{w.Dev, w.T/1000 + dt}] {
				if math.Abs(float64(g.T-w.T)) <= 100 && math.Hypot(g.X-w.X, g.Y-w.Y) <= 0.5 {
					found = true
					break
				}
			}
		}
		if found {
			n++
		}
	}
	return float64(n) / float64(len(want))
}

func stat(p *pipeline.Pipeline, id string) pipeline.SensorStats {
	for _, s := range p.Stats() {
		if s.ID == id {
			return s
		}
	}
	return pipeline.SensorStats{}
}

// A sensor whose clock is ten minutes off is detected and corrected within
// seconds: the offset shown is right, and the positions are those of a shop
// whose clocks are fine.
func TestQuarantineCorrectsATenMinuteOffset(t *testing.T) {
	site, bs := shopBatches(t, 10*time.Minute)
	_, clean := runSite(t, site, bs)
	for _, shift := range []int64{600_000, -600_000} {
		p, got := runSite(t, site, skew(bs, "s2", func(int) int64 { return shift }))
		st := stat(p, "s2")
		if st.Clock != pipeline.ClockCorrected || math.Abs(float64(st.Offset-shift)) > 1000 {
			t.Errorf("shift %d: s2 clock %q offset %d ms", shift, st.Clock, st.Offset)
		}
		for _, id := range []string{"s1", "s3", "s4"} {
			if s := stat(p, id); s.Clock != pipeline.ClockOK || math.Abs(float64(s.Offset)) > 1000 {
				t.Errorf("shift %d: %s clock %q offset %d ms", shift, id, s.Clock, s.Offset)
			}
		}
		if f := same(got, clean); f < 0.9 {
			t.Errorf("shift %d: %.1f%% of the clean run's fixes kept, want ≥ 90%%", shift, 100*f)
		}
		if len(got) > len(clean)*11/10 {
			t.Errorf("shift %d: %d fixes, clean run %d", shift, len(got), len(clean))
		}
		t.Logf("shift %+d s: s2 %s by %d ms; %.1f%% of %d clean fixes reproduced (%d fixes)", shift/1000, st.Clock, st.Offset, 100*same(got, clean), len(clean), len(got))
	}
}

// A clock that jumps once, mid-run, by five minutes is corrected again.
func TestQuarantineFollowsAJump(t *testing.T) {
	site, bs := shopBatches(t, 10*time.Minute)
	_, clean := runSite(t, site, bs)
	n := 0
	for _, b := range bs {
		if b.Sensor == "s4" {
			n++
		}
	}
	p, got := runSite(t, site, skew(bs, "s4", func(k int) int64 {
		if k < n/2 {
			return 0
		}
		return 300_000
	}))
	st := stat(p, "s4")
	if st.Clock != pipeline.ClockCorrected || math.Abs(float64(st.Offset-300_000)) > 1000 {
		t.Errorf("s4 clock %q offset %d ms", st.Clock, st.Offset)
	}
	if f := same(got, clean); f < 0.9 {
		t.Errorf("%.1f%% of the clean run's fixes kept, want ≥ 90%%", 100*f)
	}
	t.Logf("s4 jumped +300 s: %s by %d ms; %.1f%% of %d clean fixes reproduced", st.Clock, st.Offset, 100*same(got, clean), len(clean))
}

// A clock that jumps at random is quarantined: its observations are not
// located, and the others' positions are those of a shop without it.
func TestQuarantineStopsAJumpingClock(t *testing.T) {
	site, bs := shopBatches(t, 10*time.Minute)
	rng := rand.New(rand.NewPCG(1, 2))
	p, got := runSite(t, site, skew(bs, "s3", func(int) int64 { return rng.Int64N(1200_000) - 600_000 }))
	var without []*wire.Batch
	for _, b := range bs {
		if b.Sensor != "s3" {
			without = append(without, b)
		}
	}
	_, ref := runSite(t, site, without)
	st := stat(p, "s3")
	if st.Clock != pipeline.ClockQuarantined || st.Quarantined == 0 {
		t.Errorf("s3: clock %q, %d observations quarantined", st.Clock, st.Quarantined)
	}
	if st.Quarantined < (st.Obs+st.Quarantined)*9/10 {
		t.Errorf("s3: only %d of %d observations quarantined", st.Quarantined, st.Obs+st.Quarantined)
	}
	for _, id := range []string{"s1", "s2", "s4"} {
		if s := stat(p, id); s.Clock != pipeline.ClockOK {
			t.Errorf("%s clock %q", id, s.Clock)
		}
	}
	if f := same(got, ref); f < 0.9 {
		t.Errorf("%.1f%% of the fixes without s3 reproduced, want ≥ 90%%", 100*f)
	}
	t.Logf("s3 quarantined %d of %d observations; %.1f%% of %d fixes without s3 reproduced", st.Quarantined, st.Obs+st.Quarantined, 100*same(got, ref), len(ref))
}

// Clocks that are fine stay "ok" and nothing is quarantined.
func TestQuarantineLeavesGoodClocks(t *testing.T) {
	site, bs := shopBatches(t, 5*time.Minute)
	p, _ := runSite(t, site, bs)
	for _, s := range p.Stats() {
		if s.Clock != pipeline.ClockOK || s.Quarantined != 0 {
			t.Errorf("%s: clock %q, %d quarantined", s.ID, s.Clock, s.Quarantined)
		}
	}
}
