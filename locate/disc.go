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
		var sw, sx, sy float64
		ci := int(math.Round((cx - g.X0) / g.Cell))
		cj := int(math.Round((cy - g.Y0) / g.Cell))
		for j := max(cj-ri, p.j0); j <= min(cj+ri, p.j1); j++ {
			y := g.Y0 + float64(j)*g.Cell
			dy2 := (y - cy) * (y - cy)
			if dy2 > r2 {
				continue
			}
			row := j * g.NX
			for i := max(ci-ri, p.i0); i <= min(ci+ri, p.i1); i++ {
				c := row + i
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

// discSteps bounds the mean-shift steps of a grid fix's disc point;
// discTight is the spread per axis, in disc radii, below which the
// posterior mean is kept as the point.
const (
	discSteps = 12
	discTight = 1.0 / 3
)
