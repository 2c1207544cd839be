package locate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/passant/passant/wire"
)

// referenceFix is the grid posterior computed the plain way, cell by cell
// from the model (math.Exp, math.Log, two passes for the covariance): what
// posterior.fix computes faster from its table of log-distances.
func referenceFix(s *Solver, prior *Sides) Fix {
	m := s.m
	g, _ := s.last()
	ib := 1 / (m.TxSigmaDB * m.TxSigmaDB)
	in := 1 / (m.ExponentSigma * m.ExponentSigma)
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
		// the transmit offset's posterior mean and variance here
		b, vb := (a11*swr-swl*swlr)/det, a11/det
		for _, i := range s.miss {
			se := &m.Sensors[i]
			f := m.Expected(i, x, y)
			l := (se.RSSI1m - f) / se.Exponent
			v += logPhi((m.MissDBm - (f - s.dn*l + mu + b)) / math.Sqrt(m.SigmaDB*m.SigmaDB+vb))
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
		m.DiscRadius = 0 // the posterior mean, as referenceFix
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
	if s.mid == nil {
		t.Fatal("no mid grid for whole-grid fixes")
	}
	for _, g := range []*Grid{s.grid, s.mid} {
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
	}
	rng := rand.New(rand.NewPCG(3, 4))
	prior := &Sides{0.05, 0.9, 0.05}
	// Whole-grid fixes (these phones' least-squares points lie outside
	// the hull) take the mid grid's far points.
	g := s.mid
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

// discMass returns the posterior weight of the last grid fix within r of
// (x, y) over the cells of side, and the side's whole weight.
func discMass(s *Solver, side uint8, x, y, r float64) (in, all float64) {
	g, p := s.last()
	for c, e := range p.lp[:g.Len()] {
		if g.side[c] != side {
			continue
		}
		cx, cy := g.Center(c)
		all += e
		if math.Hypot(cx-x, cy-y) <= r {
			in += e
		}
	}
	return in, all
}

// TestGridDiscPoint checks the grid fix's point (Model.DiscRadius): on a
// shop whose three sensors stand in a line, a phone on the street has a
// mirror image across that line, and the posterior mean falls between the
// two (on the line, metres from either) while the disc point is one of
// them; it holds at least as much posterior mass within the radius as the
// mean. A phone inside a ring of sensors (one mode) keeps a point near the
// mean.
func TestGridDiscPoint(t *testing.T) {
	site := &wire.Site{Site: "n", Bounds: wire.Rect{{-12, -7}, {17, 31}},
		Radio:   wire.Radio{RSSI1m: -45, Exponent: 2.5, Offset5GHz: -6, PhoneZ: 1.2},
		Sensors: []wire.Sensor{{ID: "a", X: 2.5, Y: 1.5, Z: 2.5}, {ID: "b", X: 2.5, Y: 15, Z: 2.5}, {ID: "c", X: 2.5, Y: 28.5, Z: 2.5}},
		Zones: []wire.Zone{
			{ID: "street", Kind: wire.ZoneOutside, Polygon: []wire.Point{{-12, -7}, {17, -7}, {17, 0}, {-12, 0}}},
			{ID: "store", Kind: wire.ZoneStore, Polygon: []wire.Point{{0, 0}, {5, 0}, {5, 30}, {0, 30}}},
		}}
	m, err := NewModel(site)
	if err != nil {
		t.Fatal(err)
	}
	if r, want := m.DiscRadius, 0.2*math.Sqrt(29*38); math.Abs(r-want) > 1e-9 {
		t.Fatalf("DiscRadius %.3f, want %.3f (a fifth of the root of 29 × 38 m²)", r, want)
	}
	b := burstAt(m, -8, -3, 0, 0, nil)
	for i := range b.Readings {
		b.Readings[i].RSSI -= m.FrontDB // through the front
	}
	mean := *m
	mean.DiscRadius = 0
	fm, _ := NewSolver(&mean).Locate(b)
	s := NewSolver(m)
	f, ok := s.Locate(b)
	if !ok || !s.gridFix {
		t.Fatalf("no grid fix: %+v", f)
	}
	if math.Abs(fm.X-2.5) > 1.5 {
		t.Errorf("posterior mean (%.2f, %.2f): want it near the sensors' line x = 2.5 (between the mirror images)", fm.X, fm.Y)
	}
	if d := math.Min(math.Hypot(f.X+8, f.Y+3), math.Hypot(f.X-13, f.Y+3)); d > 3 {
		t.Errorf("disc point (%.2f, %.2f): %.1f m from the phone (-8, -3) and its mirror image (13, -3)", f.X, f.Y, d)
	}
	in, all := discMass(s, sideOutside, f.X, f.Y, m.DiscRadius)
	inMean, _ := discMass(s, sideOutside, fm.X, fm.Y, m.DiscRadius)
	if in < inMean || !(all > 0) {
		t.Errorf("mass within %.2f m: disc point %.3f, mean %.3f of %.3f", m.DiscRadius, in/all, inMean/all, all)
	}
	t.Logf("mean (%.2f, %.2f), disc point (%.2f, %.2f); mass within %.2f m %.2f against %.2f", fm.X, fm.Y, f.X, f.Y, m.DiscRadius, in/all, inMean/all)

	// One mode: inside a ring of six sensors.
	m6 := testSite(t)
	rng := rand.New(rand.NewPCG(1, 2))
	b = burstAt(m6, 10, 6, 1, 0, rng)
	mean6 := *m6
	mean6.DiscRadius = 0
	s6, s6m := NewSolver(m6), NewSolver(&mean6)
	s6.noLS, s6m.noLS = true, true
	f6, _ := s6.Locate(b)
	f6m, _ := s6m.Locate(b)
	if d := math.Hypot(f6.X-f6m.X, f6.Y-f6m.Y); d > 1 {
		t.Errorf("one mode: disc point (%.2f, %.2f) %.2f m from the mean (%.2f, %.2f)", f6.X, f6.Y, d, f6m.X, f6m.Y)
	}
}

// TestGridCells: sensors over an area get the grid of about maxCells cells,
// resized so that the front (y = 0 here) lies on an edge between cells and
// every cell's centre lies in the bounds; sensors on a line (the same site
// with its back row moved onto the front wall) keep lineCells cells.
func TestGridCells(t *testing.T) {
	m := testSite(t)
	if w := sensorsWidth(m); math.Abs(w-12) > 1e-9 {
		t.Errorf("sensors' width %v, want 12", w)
	}
	if v, ax, ok := frontEdge(m); !ok || v != 0 || ax != 1 {
		t.Errorf("front %v on axis %d (%v), want y = 0", v, ax, ok)
	}
	g := NewGrid(m)
	if n := g.Len(); n < maxCells*3/4 || n > maxCells*5/4 {
		t.Errorf("%d cells, want about %d", n, maxCells)
	}
	k := (0 - (g.Y0 - g.Cell/2)) / g.Cell
	if math.Abs(k-math.Round(k)) > 1e-9 {
		t.Errorf("the front is %.3f cells from the grid's bottom edge, want a whole number", k)
	}
	b := m.Bounds
	for _, c := range []int{0, g.Len() - 1} {
		if x, y := g.Center(c); x < b[0][0] || x > b[1][0] || y < b[0][1] || y > b[1][1] {
			t.Errorf("cell %d's centre (%.2f, %.2f) beyond the bounds", c, x, y)
		}
	}
	line := *m
	line.Sensors = append([]Sensor(nil), m.Sensors...)
	for i := range line.Sensors {
		line.Sensors[i].Y = 0
	}
	if w := sensorsWidth(&line); w != 0 {
		t.Errorf("sensors on a line: width %v, want 0", w)
	}
	want := newGrid(&line, lineCells, false)
	if g := NewGrid(&line); g.Len() != want.Len() || g.Cell != want.Cell {
		t.Errorf("sensors on a line: %d cells of %.3f m, want %d of %.3f", g.Len(), g.Cell, want.Len(), want.Cell)
	}
}

// TestMidGrid compares whole-grid fixes on the mid grid (Solver.mid) with
// the same fixes on the fine grid: the points a fraction of a cell apart
// on the whole, the same side nearly always, the level's offsets
// (OffsetEstimates, taken on the fine grid's cells) close, and the gains'
// residuals from the mid grid's posterior close to those from the coarse
// grid's pass.
func TestMidGrid(t *testing.T) {
	m := testSite(t)
	s, fine := NewSolver(m), NewSolver(m)
	fine.mid = nil
	s.noLS, fine.noLS = true, true
	if s.mid == nil || 2*s.mid.Len() > s.grid.Len() {
		t.Fatalf("mid grid %v: want one of at most half the grid's %d cells", s.mid, s.grid.Len())
	}
	rng := rand.New(rand.NewPCG(11, 12))
	var ds, dbs, dgs []float64
	same, n, nanDiff, dbSum := 0, 400, 0, 0.0
	for k := range n {
		b := burstAt(m, -2+24*rng.Float64(), -6+19*rng.Float64(), 4, 3*rng.NormFloat64(), rng)
		b.Readings = b.Readings[:1+rng.IntN(len(b.Readings))]
		var pm, pf Sides
		fm, ok := s.LocateSides(b, nil, &pm)
		ff, ok2 := fine.LocateSides(b, nil, &pf)
		if !ok || !ok2 || !s.midFix || fine.midFix {
			t.Fatalf("burst %d: fixes %v %v, on the mid grid %v %v", k, ok, ok2, s.midFix, fine.midFix)
		}
		ds = append(ds, math.Hypot(fm.X-ff.X, fm.Y-ff.Y))
		if s.SideOf(fm.X, fm.Y) == fine.SideOf(ff.X, ff.Y) {
			same++
		}
		if len(b.Readings) >= gainMinReadings {
			// The gains' residuals from the mid grid's posterior and
			// from the coarse grid's.
			_, rm, ok := s.gainResiduals(nil)
			_, rc, ok2 := fine.gainResiduals(nil)
			if !ok || !ok2 {
				t.Fatalf("burst %d: no gain residuals (%v, %v)", k, ok, ok2)
			}
			for j := range rm {
				dgs = append(dgs, math.Abs(rm[j]-rc[j]))
			}
		}
		om, _ := s.OffsetEstimates()
		of, _ := fine.OffsetEstimates()
		for i := range om {
			if math.IsNaN(om[i]) != math.IsNaN(of[i]) {
				nanDiff++
			} else if !math.IsNaN(of[i]) {
				dbs = append(dbs, math.Abs(om[i]-of[i]))
				dbSum += math.Abs(om[i] - of[i])
			}
		}
	}
	slices.Sort(ds)
	slices.Sort(dbs)
	slices.Sort(dgs)
	if dg := dgs[len(dgs)/2]; dg > 0.3 {
		t.Errorf("gain residuals from the mid grid's posterior and the coarse grid's: %.2f dB apart (median)", dg)
	} else {
		t.Logf("gain residuals from the mid grid's posterior and the coarse grid's: %.2f dB apart (median of %d)", dg, len(dgs))
	}
	med, p90 := ds[len(ds)/2], ds[len(ds)*9/10]
	dbMed := dbs[len(dbs)/2]
	t.Logf("mid %d cells of %.2f m, fine %d of %.2f m: points apart median %.2f m, p90 %.2f m; same side %d of %d; offsets apart median %.2f dB, mean %.2f dB (%d); NaN on one grid only %d",
		s.mid.Len(), s.mid.Cell, s.grid.Len(), s.grid.Cell, med, p90, same, n, dbMed, dbSum/float64(len(dbs)), len(dbs), nanDiff)
	if med > 0.3 || p90 > 1.5 || same < n*95/100 || dbMed > 0.3 || len(dbs) < n || nanDiff > n/4 {
		t.Errorf("mid grid against fine: points apart median %.2f m, p90 %.2f m; same side %d of %d; offsets apart median %.2f dB (%d); NaN on one grid only %d",
			med, p90, same, n, dbMed, len(dbs), nanDiff)
	}
}
