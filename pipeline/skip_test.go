package pipeline

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// TestPipelineSkips runs the same devices with and without Skip naming one
// of them: that one is never located, the others are located as before (to
// 1.2 of the grid's cells: the tracker's site-wide self-calibration, the
// received level, the sensors' gains and the sides' prior, learns from
// every located burst, and the grid fix's point of most mass within a
// radius, Model.DiscRadius, moves by up to a cell with those small
// differences: with 0.5 m cells 6 of 15 fixes by more than 5 cm, at most
// 0.52 m; with 0.73 m cells 2 of 15 by more than 5 cm, at most 0.70 m;
// with the posterior mean, at most 1.3 cm), and its frames are counted as
// skipped.
func TestPipelineSkips(t *testing.T) {
	mk := func() []*wire.Batch {
		w := &world{site: testSite(t), offsets: []int64{0, 120, -60, 30}, rng: rand.New(rand.NewPCG(3, 4))}
		devs := []*device{{dev: 3, x: 5, y: 5}, {dev: 7, x: 15, y: 10}}
		return w.batches(devs, 1_764_850_000_000, 5*60_000)
	}
	_, all := run(t, mk())
	site := testSite(t)
	c := &collect{}
	p, err := New(Config{Site: site, Skip: func(d wire.Dev) bool { return d == 7 }}, c)
	if err != nil {
		t.Fatal(err)
	}
	frames := 0
	for _, b := range mk() {
		for _, o := range b.Obs {
			if o.Dev == 7 {
				frames++
			}
		}
		if err := p.Accept(0, b, wire.Drops{}); err != nil {
			t.Fatal(err)
		}
	}
	p.Flush()
	var want []wire.Position
	for _, pos := range all.pos {
		if pos.Dev != 7 {
			want = append(want, pos)
		}
	}
	if len(want) == len(all.pos) || len(want) == 0 {
		t.Fatalf("the run without Skip has %d fixes, %d of them of dev 3", len(all.pos), len(want))
	}
	if len(c.pos) != len(want) {
		t.Fatalf("%d fixes with Skip, want %d", len(c.pos), len(want))
	}
	m, err := locate.NewModel(site)
	if err != nil {
		t.Fatal(err)
	}
	tol := 1.2 * locate.NewGrid(m).Cell
	for i := range want {
		if c.pos[i].Dev != want[i].Dev || math.Abs(c.pos[i].X-want[i].X) > tol || math.Abs(c.pos[i].Y-want[i].Y) > tol {
			t.Fatalf("fix %d: %+v, want %+v", i, c.pos[i], want[i])
		}
	}
	var skipped int64
	for _, s := range p.Stats() {
		skipped += s.Skipped
	}
	if skipped != int64(frames) || frames == 0 {
		t.Fatalf("skipped %d of %d frames", skipped, frames)
	}
}
