package locate

import (
	"math"
	"math/rand/v2"
	"testing"
)

// referenceFix is the grid posterior computed the plain way, cell by cell
// from the model (math.Exp, math.Log, two passes for the covariance): what
// posterior.fix computes faster from its table of log-distances.
func referenceFix(s *Solver, prior *Sides) Fix {
	g, m := s.grid, s.m
	ib := 1 / (m.TxSigmaDB * m.TxSigmaDB)
	in := 1 / (m.ExponentSigma * m.ExponentSigma)
	invSm := 1 / math.Hypot(m.SigmaDB, m.TxSigmaDB)
	s.misses()
	n := g.Len()
	// logPost is the log posterior (less ½ log det A) and ½ log det A of a
	// phone at (x, y) on a side whose received level is off by mu, under
	// the log prior pri.
	logPost := func(x, y, mu, pri float64) (lp, ld float64) {
		var s0, swl, swll, swr, swlr, swrr float64
		for j := 0; j < s.k; j++ {
			i := s.idx[j]
			se := &m.Sensors[i]
			f := m.Expected(i, x, y)
			l := (se.RSSI1m - f) / se.Exponent
			w := 1 / s.v[j]
			r := s.y[j] - f + s.dn*l - mu
			s0 += w
			swl += w * l
			swll += w * l * l
			swr += w * r
			swlr += w * l * r
			swrr += w * r * r
		}
		a00, a11 := s0+ib, swll+in
		det := a00*a11 - swl*swl
		q := swrr - (a11*swr*swr-2*swl*swr*swlr+a00*swlr*swlr)/det
		v := pri - 0.5*q
		for _, i := range s.miss {
			se := &m.Sensors[i]
			f := m.Expected(i, x, y)
			l := (se.RSSI1m - f) / se.Exponent
			v += logPhi((m.MissDBm - (f - s.dn*l + mu)) * invSm)
		}
		return v, 0.5 * math.Log(det)
	}
	lp, ld := make([]float64, n), make([]float64, n)
	best0 := math.Inf(-1)
	for c := 0; c < n; c++ {
		x, y := g.Center(c)
		lp[c], ld[c] = logPost(x, y, s.sideOff[g.side[c]], g.prior[c])
		best0 = math.Max(best0, lp[c])
	}
	// The street beyond the bounds (Grid.far): more cells of the outside,
	// whose fixes land on the edge.
	cx, cy, cs := make([]float64, n), make([]float64, n), make([]int, n)
	for c := 0; c < n; c++ {
		cx[c], cy[c] = g.Center(c)
		cs[c] = int(g.side[c])
	}
	for _, fp := range g.far {
		v, d := logPost(fp.x, fp.y, s.sideOff[sideOutside], fp.prior)
		lp, ld = append(lp, v), append(ld, d)
		cx, cy, cs = append(cx, fp.cx), append(cy, fp.cy), append(cs, sideOutside)
		best0 = math.Max(best0, v)
	}
	// weights below e^-cutoff of the most probable cell's are left out
	best := math.Inf(-1)
	for c := range lp {
		if lp[c] < best0-cutoff {
			lp[c] = math.Inf(-1)
		}
		lp[c] -= ld[c]
		best = math.Max(best, lp[c])
	}
	var mass [3]float64
	for c := range lp {
		if lp[c] < best-cutoff {
			lp[c] = 0
			continue
		}
		lp[c] = math.Exp(lp[c] - best)
		mass[cs[c]] += lp[c]
	}
	side := 0
	for i := range mass {
		if prior != nil && g.area[i] > 0 {
			mass[i] *= prior[i] / g.area[i]
		}
		if mass[i] > mass[side] {
			side = i
		}
	}
	var sw, mx, my float64
	for c, e := range lp {
		if cs[c] == side {
			x, y := cx[c], cy[c]
			sw, mx, my = sw+e, mx+e*x, my+e*y
		}
	}
	mx, my = mx/sw, my/sw
	var cxx, cxy, cyy float64
	for c, e := range lp {
		if cs[c] == side {
			x, y := cx[c], cy[c]
			cxx += e * (x - mx) * (x - mx)
			cxy += e * (x - mx) * (y - my)
			cyy += e * (y - my) * (y - my)
		}
	}
	q := g.Cell * g.Cell / 12
	return Fix{X: mx, Y: my, Cov: [3]float64{cxx/sw + q, cxy / sw, cyy/sw + q}}
}

// TestGridMatchesReference checks the fast grid posterior against the plain
// one, with one exponent for all sensors (the fast path) and with one per
// sensor, with silent sensors, side offsets and an exponent correction.
func TestGridMatchesReference(t *testing.T) {
	for _, perSensor := range []bool{false, true} {
		m := testSite(t)
		if perSensor {
			for i := range m.Sensors {
				m.Sensors[i].Exponent = 2.2 + 0.15*float64(i)
			}
		}
		s := NewSolver(m)
		s.noLS = true
		s.SetExponentShift(0.3)
		s.SetSideOffset(SideOutside, -3.5)
		rng := rand.New(rand.NewPCG(8, 9))
		for n := 0; n < 40; n++ {
			x, y := -2+24*rng.Float64(), -6+19*rng.Float64()
			if n%5 == 4 { // down the street, beyond the bounds
				x, y = -40+90*float64(n%2), -3-3*rng.Float64()
			}
			b := burstAt(m, x, y, 4, 3*rng.NormFloat64(), rng)
			if n%3 == 1 { // some sensors heard nothing
				b.Readings = b.Readings[:2+rng.IntN(3)]
			}
			var prior *Sides
			if n%2 == 0 {
				prior = &Sides{0.2, 0.5, 0.3}
			}
			got, ok := s.LocateSides(b, prior, nil)
			if !ok {
				t.Fatal("no fix")
			}
			want := referenceFix(s, prior)
			if d := math.Hypot(got.X-want.X, got.Y-want.Y); d > 1e-9 {
				t.Errorf("per-sensor exponents %v, burst %d: fix (%.6f, %.6f), reference (%.6f, %.6f)",
					perSensor, n, got.X, got.Y, want.X, want.Y)
			}
			for i := range got.Cov {
				if math.Abs(got.Cov[i]-want.Cov[i]) > 1e-9*(1+math.Abs(want.Cov[i])) {
					t.Errorf("per-sensor exponents %v, burst %d: cov %v, reference %v", perSensor, n, got.Cov, want.Cov)
					break
				}
			}
		}
	}
}

// TestGridFarPoints: the street of a site continues beyond its bounds
// (Grid.far): points on its middle line beyond the left and right edges,
// none beyond the top or bottom, where no zone crosses the bounds; a phone
// far down the street, heard faintly, is put on the street (on the edge of
// the bounds) even by a track that holds the store likely, which the
// bounds alone could not: they offer it only cells too near, on either
// side of the front.
func TestGridFarPoints(t *testing.T) {
	m := testSite(t)
	s := NewSolver(m)
	g := s.grid
	if len(g.far) == 0 {
		t.Fatal("no far points")
	}
	for _, f := range g.far {
		if f.x > m.Bounds[0][0] && f.x < m.Bounds[1][0] || math.Abs(f.y-(-3.5)) > g.Cell {
			t.Fatalf("far point at (%.2f, %.2f): want beyond the left or right edge, on the street's middle", f.x, f.y)
		}
		if f.cx < m.Bounds[0][0] || f.cx > m.Bounds[1][0] {
			t.Fatalf("far point's fix at x %.2f, outside the bounds", f.cx)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	prior := &Sides{0.05, 0.9, 0.05}
	outside := func(far []farPt) (n int) {
		g.far = far
		for k := 0; k < 200; k++ {
			b := burstAt(m, -35-10*rng.Float64(), -2-3*rng.Float64(), 4, 3*rng.NormFloat64(), rng)
			var post Sides
			if f, ok := s.LocateSides(b, prior, &post); ok && post[SideOutside] > 0.5 && s.SideOf(f.X, f.Y) == SideOutside {
				n++
			}
		}
		return n
	}
	far := g.far
	with, without := outside(far), outside(nil)
	g.far = far
	t.Logf("phones 35-45 m down the street put on it: %d of 200 with the far points, %d without", with, without)
	if with < 180 || with <= without {
		t.Errorf("phones 35-45 m down the street put on it: %d of 200 with the far points, %d without", with, without)
	}
}
