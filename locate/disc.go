package locate

import "math"

// disc returns a point of high posterior mass within r of it among the
// cells of side that the last fix considered (and, on the street, the far
// points at the edge cells where their fixes land): flat-kernel mean shift
// (each step to the mean of the cells within r, kept while the mass
// within r grows) from the side's mean (mx, my) and from its most
// probable cell, the better of the two and the mean itself. Where the
// posterior has one mode the point stays near the mean; where it has two
// further apart than r (the mirror images of a phone on the street of a
// shop whose sensors stand in a line, the two ends of a ridge) it is one
// of them, not the empty middle.
func (p *posterior) disc(g *Grid, side uint8, mx, my, r float64) (float64, float64) {
	r2 := r * r
	ri := int(math.Ceil(r/g.Cell)) + 1
	// shift returns the mean of the cells within r of (cx, cy) and their
	// mass.
	shift := func(cx, cy float64) (float64, float64, float64) {
		return p.shift(g, side, cx, cy, r2, ri)
	}
	run := func(cx, cy float64) (float64, float64, float64) {
		nx, ny, m := shift(cx, cy) // m: the mass within r of (cx, cy)
		for range discSteps {
			ax, ay, am := shift(nx, ny)
			if am <= m {
				break
			}
			moved := math.Hypot(nx-cx, ny-cy)
			cx, cy, m = nx, ny, am
			nx, ny = ax, ay
			if moved < g.Cell/4 {
				break
			}
		}
		return cx, cy, m
	}
	bx, by, bm := run(mx, my)
	if c := p.bestC[side]; c >= 0 {
		x0, y0 := g.Center(c)
		if x, y, m := run(x0, y0); m > bm {
			bx, by = x, y
		}
	}
	return bx, by
}

// discCache holds the disc points of the last fix per side: Resides
// redoes the fix's choice of side under another prior, which leaves each
// side's disc point as it was (it depends on the side's cells, mean and
// most probable cell, not on the prior), and most often picks the same
// side.
type discCache struct {
	ok uint8 // bit s: xy[s] holds side s's point
	r  float64
	xy [3][2]float64
}

// discCached is disc, reusing the point found for side since the last fix
// (posterior.fix clears the cache).
func (p *posterior) discCached(g *Grid, side uint8, mx, my, r float64) (float64, float64) {
	d := &p.dc
	if d.ok != 0 && d.r != r {
		d.ok = 0
	}
	if d.ok&(1<<side) != 0 {
		return d.xy[side][0], d.xy[side][1]
	}
	x, y := p.disc(g, side, mx, my, r)
	d.ok |= 1 << side
	d.r = r
	d.xy[side] = [2]float64{x, y}
	return x, y
}

// shift returns the mean of the cells of side within √r2 of (cx, cy) among
// those the last fix considered (p.fw, not the posterior's current
// window: Resides after a window's fix has the window's weights only, the
// cells beyond hold an earlier burst's) and the far points on the street,
// and their mass. The sums run over rows upwards and cells left to right, then
// the far points, whichever disc: the same order for every centre. Each row
// visits only its chord, the cells i whose test (x−cx)² + dy² ≤ r2, taken
// in floating point as written, holds. That test is monotone in |x − cx|
// and x in i, so it holds on one run of cells, whose ends are within a
// cell of the exact circle's chord u ± h (u = (cx − X0)/Cell,
// h = √(r2 − dy²)/Cell: their rounding errors are far below a cell), so
// the ends are ⌈u − h⌉ and ⌊u + h⌋, each moved by one where the test says.
func (p *posterior) shift(g *Grid, side uint8, cx, cy, r2 float64, ri int) (float64, float64, float64) {
	var sw, sx, sy float64
	x0, cell := g.X0, g.Cell
	ci := int(math.Round((cx - x0) / cell))
	cj := int(math.Round((cy - g.Y0) / cell))
	ilo, ihi := max(ci-ri, p.fw[0]), min(ci+ri, p.fw[1])
	inv := 1 / cell
	u := (cx - x0) * inv
	out := func(i int, dy2 float64) bool {
		x := x0 + float64(i)*cell
		return (x-cx)*(x-cx)+dy2 > r2
	}
	// The chords first (independent rows, which the processor overlaps),
	// then the sums.
	j0, j1 := max(cj-ri, p.fw[2]), min(cj+ri, p.fw[3])
	if n := 2 * (j1 - j0 + 1); len(p.chords) < n {
		p.chords = make([]int32, n)
	}
	ch := p.chords
	for j := j0; j <= j1; j++ {
		a, b := 0, -1
		y := g.Y0 + float64(j)*cell
		if dy2 := (y - cy) * (y - cy); dy2 <= r2 {
			h := math.Sqrt(r2-dy2) * inv
			a, b = int(math.Ceil(u-h)), int(math.Floor(u+h))
			if !out(a-1, dy2) {
				a--
			} else if out(a, dy2) {
				a++
			}
			if !out(b+1, dy2) {
				b++
			} else if out(b, dy2) {
				b--
			}
			a, b = max(a, ilo), min(b, ihi)
		}
		ch[2*(j-j0)], ch[2*(j-j0)+1] = int32(a), int32(b)
	}
	lp, sides, xc := p.lp, g.side, g.xc
	for j := j0; j <= j1; j++ {
		a, b := int(ch[2*(j-j0)]), int(ch[2*(j-j0)+1])
		if a > b {
			continue
		}
		y := g.Y0 + float64(j)*cell
		row := j * g.NX
		ws := lp[row+a : row+b+1]
		ss, xs := sides[row+a:row+b+1], xc[a:b+1]
		ss, xs = ss[:len(ws)], xs[:len(ws)]
		// (A weight of 0 adds ±0, which leaves the sums as they are:
		// they start at +0 and are never -0.)
		for k, e := range ws {
			if ss[k] != side {
				continue
			}
			x := xs[k]
			sw += e
			sx += e * x
			sy += e * y
		}
	}
	return p.shiftEnd(g, side, cx, cy, r2, sw, sx, sy)
}

// shiftEnd adds the far points within √r2 of (cx, cy) to the sums of a
// step's cells (on the street, after a whole-grid fix) and returns their
// mean and mass.
func (p *posterior) shiftEnd(g *Grid, side uint8, cx, cy, r2, sw, sx, sy float64) (float64, float64, float64) {
	if p.useFar && side == sideOutside {
		for f, e := range p.farLP[:len(g.far)] {
			fp := &g.far[f]
			if e == 0 || (fp.cx-cx)*(fp.cx-cx)+(fp.cy-cy)*(fp.cy-cy) > r2 {
				continue
			}
			sw += e
			sx += e * fp.cx
			sy += e * fp.cy
		}
	}
	if sw == 0 {
		return cx, cy, 0
	}
	return sx / sw, sy / sw, sw
}

// discSteps bounds the mean-shift steps of a grid fix's disc point;
// discTight is the spread per axis, in disc radii, below which the
// posterior mean is kept as the point.
const (
	discSteps = 12
	discTight = 1.0 / 3
)
