package pipeline

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/wire"
)

// The stable names of tracks the tracker has forgotten for good are
// dropped: after three hours, those of randomised phones seen once are
// gone, those of a non-randomised phone (remembered for Memory) and of a
// live phone are kept. A non-randomised phone back the next day is named
// as before. (Before, names were kept until there were 65,536 of them.)
func TestPipelineNamesPruned(t *testing.T) {
	site := testSite(t)
	w := &world{site: site, offsets: []int64{0, 0, 0, 0}, rng: rand.New(rand.NewPCG(7, 1))}
	const t0 = 1796342400000
	const hour = 3_600_000
	keep := &device{dev: 0x1e3779b97f4a7c01, x: 5, y: 5}
	rands := []*device{{dev: 0x3e3779b97f4a7c02, x: 12, y: 8}, {dev: 0x3e3779b97f4a7c0b, x: 15, y: 3}, {dev: 0x3e3779b97f4a7c17, x: 8, y: 6}}
	late := &device{dev: 0x1e3779b97f4a7c25, x: 10, y: 4}
	isRand := map[wire.Dev]bool{}
	for _, d := range rands {
		isRand[d.dev] = true
	}
	c := &collect{}
	p, err := New(Config{Site: site}, c)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{} // batch ids go on across the calls
	feed := func(devs []*device, from int64) {
		for _, b := range w.batches(devs, from, 120_000) {
			ids[b.Sensor]++
			b.ID = ids[b.Sensor]
			for i := range b.Obs {
				b.Obs[i].Rand = isRand[b.Obs[i].Dev]
			}
			if err := p.Accept(0, b, wire.Drops{}); err != nil && !errors.Is(err, ErrDuplicate) {
				t.Fatal(err)
			}
		}
	}
	name := func(d wire.Dev) string { return "k" + d.String()[:12] }
	feed([]*device{keep}, t0)
	for i, d := range rands {
		feed([]*device{d}, t0+int64(i+1)*600_000)
	}
	feed([]*device{late}, t0+3*hour)
	for _, d := range append([]*device{keep, late}, rands...) {
		if !seen(c.pos, d.dev) {
			t.Fatalf("no fix of %v", d.dev)
		}
	}
	held := map[string]bool{}
	for _, n := range p.names {
		held[n] = true
	}
	for _, d := range rands {
		if held[name(d.dev)] {
			t.Errorf("the name of randomised %v, silent for hours, is still held", d.dev)
		}
	}
	if !held[name(keep.dev)] || !held[name(late.dev)] {
		t.Errorf("names held %v: want those of %v (remembered) and %v (live)", held, keep.dev, late.dev)
	}
	feed([]*device{keep, late}, t0+26*hour)
	p.Flush()
	back := 0
	for _, q := range c.pos {
		if q.Dev == keep.dev && q.T >= t0+26*hour {
			back++
			if q.Track != name(keep.dev) {
				t.Fatalf("the returning phone is named %s, want %s", q.Track, name(keep.dev))
			}
		}
	}
	if back == 0 {
		t.Fatal("no fix of the returning phone")
	}
}

func seen(pos []wire.Position, d wire.Dev) bool {
	for _, q := range pos {
		if q.Dev == d {
			return true
		}
	}
	return false
}
