package locate

import (
	"math"
	"math/rand/v2"
	"testing"
)

// shiftLoop is posterior.shift as a plain loop over the disc's square of
// cells, each tested: the reference shift is checked against (the far
// points, shiftEnd, alike).
func (p *posterior) shiftLoop(g *Grid, side uint8, cx, cy, r2 float64, ri int) (float64, float64, float64) {
	var sw, sx, sy float64
	ci := int(math.Round((cx - g.X0) / g.Cell))
	cj := int(math.Round((cy - g.Y0) / g.Cell))
	for j := max(cj-ri, p.fw[2]); j <= min(cj+ri, p.fw[3]); j++ {
		y := g.Y0 + float64(j)*g.Cell
		dy2 := (y - cy) * (y - cy)
		if dy2 > r2 {
			continue
		}
		for i := max(ci-ri, p.fw[0]); i <= min(ci+ri, p.fw[1]); i++ {
			c := j*g.NX + i
			e := p.lp[c]
			if e == 0 || g.side[c] != side {
				continue
			}
			x := g.X0 + float64(i)*g.Cell
			if (x-cx)*(x-cx)+dy2 > r2 {
				continue
			}
			sw += e
			sx += e * x
			sy += e * y
		}
	}
	return p.shiftEnd(g, side, cx, cy, r2, sw, sx, sy)
}

// TestDiscShiftMatchesLoop compares shift, which visits each row's chord
// only, with the loop over the disc's square bit for bit: after whole-grid
// and windowed fixes, on every side, at random centres (inside and outside
// the grid) and at cell centres, with radii that put a cell exactly on the
// circle or a rounding step inside or outside it.
func TestDiscShiftMatchesLoop(t *testing.T) {
	m := testSite(t)
	m.MissDBm = -80
	s := NewSolver(m)
	rng := rand.New(rand.NewPCG(5, 6))
	n, cells := 0, 0
	for k := 0; k < 200; k++ {
		b := burstAt(m, -2+24*rng.Float64(), -6+19*rng.Float64(), 4, 3*rng.NormFloat64(), rng)
		if k%2 == 0 {
			b.Readings = b.Readings[:2+rng.IntN(3)] // broad posteriors
		}
		s.noLS = k%3 != 0 // windows around least squares too
		if _, ok := s.Locate(b); !ok || !s.gridFix {
			continue
		}
		g, p := s.last()
		for q := 0; q < 50; q++ {
			var cx, cy float64
			if q%2 == 0 {
				cx = g.X0 - 3 + (float64(g.NX)*g.Cell+6)*rng.Float64()
				cy = g.Y0 - 3 + (float64(g.NY)*g.Cell+6)*rng.Float64()
			} else {
				cx, cy = g.Center(rng.IntN(g.Len()))
			}
			// r² is the test's own value at a cell near the disc's
			// edge: that cell lies on the circle, or just inside or
			// outside it.
			x, y := g.Center(rng.IntN(g.Len()))
			if d := math.Hypot(x-cx, y-cy); d > 8 {
				x, y = cx+(x-cx)*8/d, cy+(y-cy)*8/d
				x = g.X0 + math.Round((x-g.X0)/g.Cell)*g.Cell
				y = g.Y0 + math.Round((y-g.Y0)/g.Cell)*g.Cell
			}
			r2 := (x-cx)*(x-cx) + (y-cy)*(y-cy)
			switch q % 3 {
			case 1:
				r2 = math.Nextafter(r2, 0)
			case 2:
				r2 = math.Nextafter(r2, math.Inf(1))
			}
			r := math.Sqrt(r2)
			ri := int(math.Ceil(r/g.Cell)) + 1
			for side := uint8(0); side < 3; side++ {
				x, y, w := p.shift(g, side, cx, cy, r2, ri)
				xr, yr, wr := p.shiftLoop(g, side, cx, cy, r2, ri)
				if !sameBits(x, xr) || !sameBits(y, yr) || !sameBits(w, wr) {
					t.Fatalf("fix %d, side %d, disc (%v, %v) r %v: shift (%v, %v, %v), loop (%v, %v, %v)",
						k, side, cx, cy, r, x, y, w, xr, yr, wr)
				}
				if w > 0 {
					cells++
				}
				n++
			}
		}
	}
	if n < 10000 || cells < n/4 {
		t.Fatalf("%d discs compared, %d with mass: too few", n, cells)
	}
	t.Logf("%d discs compared, %d with mass", n, cells)
}

// TestDiscCacheMatches redoes fixes under other side priors (Resides)
// with the disc points of the fix reused and recomputed, and fails unless
// both give the same fixes and side posteriors to the bit; whole-grid and
// windowed fixes, on every side.
func TestDiscCacheMatches(t *testing.T) {
	m := testSite(t)
	m.MissDBm = -80
	s := NewSolver(m)
	rng := rand.New(rand.NewPCG(7, 8))
	hits := 0
	for k := 0; k < 300; k++ {
		b := burstAt(m, -2+24*rng.Float64(), -6+19*rng.Float64(), 5, 3*rng.NormFloat64(), rng)
		b.Readings = b.Readings[:2+rng.IntN(len(b.Readings)-1)]
		s.noLS = k%2 == 0
		prior := Sides{rng.Float64(), rng.Float64(), rng.Float64()}
		if _, ok := s.LocateSides(b, &prior, nil); !ok {
			continue
		}
		for q := 0; q < 3; q++ {
			var other Sides
			other[q] = 1
			for i := range other {
				other[i] += 0.01
			}
			_, p := s.last()
			ok0 := p.dc.ok
			var post, post2 Sides
			f, ok := s.Resides(&other, &post)
			if !ok {
				break
			}
			p.dc.ok = 0
			f2, _ := s.Resides(&other, &post2)
			if ok0 != 0 && p.dc.ok&ok0 != 0 {
				hits++
			}
			if !sameBits(f.X, f2.X) || !sameBits(f.Y, f2.Y) || f.Cov != f2.Cov || post != post2 {
				t.Fatalf("burst %d, prior %v: reused %+v %v, recomputed %+v %v", k, other, f, post, f2, post2)
			}
		}
	}
	if hits < 50 {
		t.Fatalf("%d redone fixes reused a disc point: too few", hits)
	}
	t.Logf("%d redone fixes reused a disc point", hits)
}

// TestDiscLastFixCells checks that the disc point of a window's fix, taken
// again after the posterior's window went back to the whole grid (as
// Resides does), reads the window's cells only: the cells beyond hold an
// earlier burst's weights.
func TestDiscLastFixCells(t *testing.T) {
	m := testSite(t)
	s := NewSolver(m)
	g := s.grid
	rng := rand.New(rand.NewPCG(9, 10))
	wins := 0
	for k := 0; k < 100; k++ {
		b := burstAt(m, 2+16*rng.Float64(), 2+8*rng.Float64(), 3, 0, rng)
		if _, ok := s.Locate(b); !ok || !s.winFix {
			continue
		}
		wins++
		p := &s.post
		if p.i0 != 0 || p.i1 != g.NX-1 || p.fw[1]-p.fw[0] == g.NX-1 {
			t.Fatalf("burst %d: window %v after the fix, the fix's %v", k, [4]int{p.i0, p.i1, p.j0, p.j1}, p.fw)
		}
		side := uint8(sideStore)
		mo := &p.mom[side]
		mx, my := p.rx+mo.sx/mo.sw, p.ry+mo.sy/mo.sw
		x, y := p.disc(g, side, mx, my, 6)
		saved := append([]float64(nil), p.lp...)
		for c := range p.lp {
			if i, j := c%g.NX, c/g.NX; i < p.fw[0] || i > p.fw[1] || j < p.fw[2] || j > p.fw[3] {
				p.lp[c] = 1e6
			}
		}
		x2, y2 := p.disc(g, side, mx, my, 6)
		copy(p.lp, saved)
		if !sameBits(x, x2) || !sameBits(y, y2) {
			t.Fatalf("burst %d: disc point (%v, %v), with other weights beyond the window (%v, %v)", k, x, y, x2, y2)
		}
	}
	if wins < 20 {
		t.Fatalf("%d window fixes: too few", wins)
	}
}
