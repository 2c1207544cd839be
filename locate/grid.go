package locate

import (
	"math"

	"github.com/passant/passant/wire"
)

// maxCells bounds the cells of a Grid; the cell size grows with the site.
const maxCells = 2500

// Prior densities of the Grid, relative: where people can be.
const (
	priorZone  = 1.0  // inside the store or an outside zone
	priorOther = 0.05 // in the bounds but in no zone (walls, neighbours)
)

// Sides of a cell.
const (
	sideOther = iota
	sideStore
	sideOutside
)

// Grid is the site's bounds cut into square cells, with a prior over where
// people can be (the site's zones: the store and the street in front of it)
// and each sensor's expected RSSI at each cell. It serves the posterior mean
// where least squares is weak: with b ~ N(0, τ²) the transmit offset is
// integrated out in closed form, so the log posterior of cell c is
//
//	log p(c | y) = log π(c) - ½ (S₂ - S₁² / (1/τ² + S₀)),
//	S₀ = Σ w_i,  S₁ = Σ w_i r_i,  S₂ = Σ w_i r_i²,  r_i = y_i - f_i(c),  w_i = 1/σ_i².
//
// A Grid is read-only after NewGrid and may be shared.
type Grid struct {
	X0, Y0 float64 // centre of cell 0
	Cell   float64 // side of a cell, metres
	NX, NY int
	ns     int       // sensors
	prior  []float64 // log prior per cell
	side   []uint8
	area   [3]float64 // prior mass per side
	f      []float64  // f[c*ns+i]: model RSSI of sensor i at cell c (b = 0)
	l      []float64  // l[c*ns+i]: 10 log10 d of sensor i at cell c
}

// NewGrid builds the grid of m's bounds; nil when m has no site bounds.
func NewGrid(m *Model) *Grid {
	b := m.Bounds
	w, h := b[1][0]-b[0][0], b[1][1]-b[0][1]
	if !(w > 0 && h > 0) {
		return nil
	}
	cell := math.Max(0.5, math.Sqrt(w*h/maxCells))
	nx, ny := int(math.Ceil(w/cell)), int(math.Ceil(h/cell))
	g := &Grid{X0: b[0][0] + cell/2, Y0: b[0][1] + cell/2, Cell: cell, NX: nx, NY: ny,
		ns: len(m.Sensors)}
	n := nx * ny
	g.prior = make([]float64, n)
	g.side = make([]uint8, n)
	g.f = make([]float64, n*g.ns)
	g.l = make([]float64, n*g.ns)
	var zones []wire.Zone
	if m.Site != nil {
		zones = m.Site.Zones
	}
	for c := 0; c < n; c++ {
		x, y := g.Center(c)
		p := wire.Point{x, y}
		dens := priorOther
		if len(zones) == 0 {
			dens = priorZone
		}
		for _, z := range zones {
			if !pointInPolygon(p, z.Polygon) {
				continue
			}
			switch z.Kind {
			case wire.ZoneStore:
				g.side[c] = sideStore
				dens = priorZone
			case wire.ZoneOutside:
				if g.side[c] != sideStore {
					g.side[c] = sideOutside
				}
				dens = priorZone
			}
		}
		g.prior[c] = math.Log(dens)
		g.area[g.side[c]] += dens
		for i := range m.Sensors {
			g.f[c*g.ns+i] = m.Expected(i, x, y)
			g.l[c*g.ns+i] = (m.Sensors[i].RSSI1m - g.f[c*g.ns+i]) / m.Sensors[i].Exponent
		}
	}
	return g
}

// Center returns the centre of cell c.
func (g *Grid) Center(c int) (x, y float64) {
	return g.X0 + float64(c%g.NX)*g.Cell, g.Y0 + float64(c/g.NX)*g.Cell
}

// Len returns the number of cells.
func (g *Grid) Len() int { return g.NX * g.NY }

// posterior is the Solver's workspace for grid fixes.
type posterior struct {
	lp    []float64  // log posterior per cell, then its weight
	det   []float64  // determinant of the nuisances' information per cell
	mass  [3]float64 // weight per side
	bestC [3]int     // the most probable cell per side (-1: none)
	bEst  float64    // posterior mean of the offset there, about its side's
	bSide uint8      // side of bestC
	cells []int      // the cells the next fix considers: full or a window
	full  []int      // every cell
	win   []int      // the window's cells
}

// window limits the next fix to the cells within the rectangle (clamped to
// the grid); all limits the next fix to the whole grid.
func (p *posterior) window(g *Grid, x0, y0, x1, y1 float64) {
	cl := func(v float64, n int) int { return min(max(int(math.Floor(v)), 0), n-1) }
	i0, j0 := cl((x0-g.X0)/g.Cell+0.5, g.NX), cl((y0-g.Y0)/g.Cell+0.5, g.NY)
	i1, j1 := cl((x1-g.X0)/g.Cell+0.5, g.NX), cl((y1-g.Y0)/g.Cell+0.5, g.NY)
	p.cells = p.win[:0]
	for j := j0; j <= j1; j++ {
		for i := i0; i <= i1; i++ {
			p.cells = append(p.cells, j*g.NX+i)
		}
	}
}

func (p *posterior) all(g *Grid) { p.cells = p.full }

func (p *posterior) init(g *Grid) {
	if g != nil {
		p.full = make([]int, g.Len())
		for c := range p.full {
			p.full[c] = c
		}
		p.win = make([]int, 0, g.Len())
		p.all(g)
		p.lp = make([]float64, g.Len())
		p.det = make([]float64, g.Len())
	}
}

// Sides is a probability per side of the shop's front: in the store,
// outside (the street) and elsewhere (in no zone).
type Sides [3]float64

// Side indices into Sides.
const (
	SideOther   = sideOther
	SideStore   = sideStore
	SideOutside = sideOutside
)

// fix returns the posterior mean and covariance over the cells of the most
// probable side (store, outside, other), so that a fix never lands between
// the two sides of the shop's front. Within a side the prior is the zone
// density; across sides it is prior (nil: in proportion to the sides' prior
// mass, i.e. one density everywhere). post receives the posterior of the
// sides.
func (p *posterior) fix(s *Solver, prior *Sides, post *Sides) Fix {
	g := s.grid
	k := s.k
	var s0 float64
	for j := 0; j < k; j++ {
		s.w[j] = 1 / s.v[j]
		s0 += s.w[j]
	}
	// Nuisances: the transmit offset b ~ N(0, τ²) and an error of the
	// path-loss exponent Δn ~ N(0, τn²), common to all sensors: the
	// residuals are r_i = b - Δn·L_i + ε_i, L_i = 10 log10 d_i. Both are
	// integrated out: with A = [[Σw + 1/τ², -Σw L], [-Σw L, Σw L² + 1/τn²]]
	// and v = [Σ w r, -Σ w L r],
	//
	//	log p(c | y) = log π(c) - ½ (Σ w r² - vᵀ A⁻¹ v) - ½ log det A.
	ib, in := 0.0, 0.0
	if tau := s.m.TxSigmaDB; tau > 0 {
		ib = 1 / (tau * tau)
	} else {
		ib = 1e6
	}
	if tn := s.m.ExponentSigma; tn > 0 {
		in = 1 / (tn * tn)
	} else {
		in = 1e6
	}
	a00 := s0 + ib
	best, best0 := math.Inf(-1), math.Inf(-1)
	dn := s.dn
	s.misses()
	invSm := 1 / math.Hypot(s.m.SigmaDB, s.m.TxSigmaDB)
	p.bestC = [3]int{-1, -1, -1}
	p.bEst, p.bSide = 0, sideOther
	const cutoff = 25.0
	for _, c := range p.cells {
		f := g.f[c*g.ns : c*g.ns+g.ns]
		L := g.l[c*g.ns : c*g.ns+g.ns]
		mu := s.sideOff[g.side[c]]
		var swl, swll, swr, swlr, swrr float64
		for j := 0; j < k; j++ {
			i := s.idx[j]
			r := s.y[j] - f[i] + dn*L[i] - mu
			w := s.w[j]
			wl := w * L[i]
			swl += wl
			swll += wl * L[i]
			wr := w * r
			swr += wr
			swlr += wl * r
			swrr += wr * r
		}
		a11 := swll + in
		det := a00*a11 - swl*swl
		// v = [swr, -swlr], A01 = -swl: vᵀA⁻¹v = (a11 swr² - 2 swl swr swlr + a00 swlr²)/det
		q := swrr - (a11*swr*swr-2*swl*swr*swlr+a00*swlr*swlr)/det
		l := g.prior[c] - 0.5*q
		// Sensors that heard nothing: the phone was below their
		// sensitivity there, log Φ((sens - f_i)/σ).
		for _, i := range s.miss {
			l += logPhi((s.m.MissDBm - (f[i] - dn*L[i] + mu)) * invSm)
		}
		p.lp[c] = l
		p.det[c] = det
		best0 = max(best0, l)
	}
	// The determinant's logarithm, only where the weight can matter
	// (it varies over the grid by far less than the cutoff).
	for _, c := range p.cells {
		if p.lp[c] < best0-cutoff {
			p.lp[c] = math.Inf(-1)
			continue
		}
		p.lp[c] -= 0.5 * math.Log(p.det[c])
		best = max(best, p.lp[c])
		if sd := g.side[c]; p.bestC[sd] < 0 || p.lp[c] > p.lp[p.bestC[sd]] {
			p.bestC[sd] = c
		}
	}
	if c := p.bestC[sideOutside]; c >= 0 {
		p.offsetAt(s, c, a00, in)
	}
	p.mass = [3]float64{}
	for _, c := range p.cells {
		d := p.lp[c] - best
		if d < -cutoff {
			p.lp[c] = 0
			continue
		}
		e := math.Exp(d)
		p.lp[c] = e
		p.mass[g.side[c]] += e
	}
	return p.choose(s, prior, post)
}

// offsetAt computes the posterior mean of the transmit offset at cell c,
// relative to its side's offset: b̂ = (a₁₁ Σwr - Σwl Σwlr) / det A.
func (p *posterior) offsetAt(s *Solver, c int, a00, in float64) {
	g := s.grid
	f := g.f[c*g.ns : c*g.ns+g.ns]
	L := g.l[c*g.ns : c*g.ns+g.ns]
	mu := s.sideOff[g.side[c]]
	var swl, swll, swr, swlr float64
	for j := 0; j < s.k; j++ {
		i := s.idx[j]
		r := s.y[j] - f[i] + s.dn*L[i] - mu
		wl := s.w[j] * L[i]
		swl += wl
		swll += wl * L[i]
		swr += s.w[j] * r
		swlr += wl * r
	}
	a11 := swll + in
	p.bEst = (a11*swr - swl*swlr) / (a00*a11 - swl*swl)
	p.bSide = g.side[c]
}

// choose picks the side from the posterior weights fix left in lp and
// returns the mean and covariance over its cells.
func (p *posterior) choose(s *Solver, prior *Sides, post *Sides) Fix {
	g := s.grid
	mass := p.mass
	if prior != nil {
		for i := range mass {
			if g.area[i] > 0 {
				mass[i] *= prior[i] / g.area[i]
			}
		}
	}
	side := uint8(0)
	var tot float64
	for i := uint8(0); i < 3; i++ {
		tot += mass[i]
		if mass[i] > mass[side] {
			side = i
		}
	}
	if post != nil {
		for i := range mass {
			post[i] = mass[i] / tot
		}
	}
	var sw, mx, my float64
	for _, c := range p.cells {
		if g.side[c] != side {
			continue
		}
		e := p.lp[c]
		x, y := g.Center(c)
		sw += e
		mx += e * x
		my += e * y
	}
	mx /= sw
	my /= sw
	var cxx, cxy, cyy float64
	for _, c := range p.cells {
		if g.side[c] != side {
			continue
		}
		e := p.lp[c]
		x, y := g.Center(c)
		dx, dy := x-mx, y-my
		cxx += e * dx * dx
		cxy += e * dx * dy
		cyy += e * dy * dy
	}
	q := g.Cell * g.Cell / 12 // a cell's own spread
	cov := [3]float64{cxx/sw + q, cxy / sw, cyy/sw + q}
	return Fix{X: mx, Y: my, Cov: cov, Err: errOf(cov, s.m.Bounds), N: s.k}
}

// pointInPolygon reports whether p lies inside poly or on its edge.
func pointInPolygon(p wire.Point, poly []wire.Point) bool {
	n := len(poly)
	if n < 3 {
		return false
	}
	in := false
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := poly[i], poly[j]
		// on the edge
		cr := (b[0]-a[0])*(p[1]-a[1]) - (b[1]-a[1])*(p[0]-a[0])
		if math.Abs(cr) < 1e-9 && p[0] >= math.Min(a[0], b[0])-1e-9 && p[0] <= math.Max(a[0], b[0])+1e-9 &&
			p[1] >= math.Min(a[1], b[1])-1e-9 && p[1] <= math.Max(a[1], b[1])+1e-9 {
			return true
		}
		if (a[1] > p[1]) != (b[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if p[0] < x {
				in = !in
			}
		}
	}
	return in
}

// convexHull returns the convex hull of pts, counter-clockwise, grown
// outward by hullMargin (Andrew's monotone chain). Fewer than 3 distinct
// points give nil.
func convexHull(pts []wire.Point) []wire.Point {
	p := append([]wire.Point(nil), pts...)
	// insertion sort by x, then y: a site has few sensors
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && (p[j][0] < p[j-1][0] || (p[j][0] == p[j-1][0] && p[j][1] < p[j-1][1])); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
	cr := func(o, a, b wire.Point) float64 {
		return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
	}
	var h []wire.Point
	for _, q := range p {
		for len(h) >= 2 && cr(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	lo := len(h) + 1
	for i := len(p) - 2; i >= 0; i-- {
		q := p[i]
		for len(h) >= lo && cr(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	h = h[:len(h)-1]
	if len(h) < 3 {
		return nil
	}
	// grow: move each vertex outward from the centroid by hullMargin
	var cx, cy float64
	for _, q := range h {
		cx += q[0]
		cy += q[1]
	}
	cx /= float64(len(h))
	cy /= float64(len(h))
	for i, q := range h {
		dx, dy := q[0]-cx, q[1]-cy
		l := math.Hypot(dx, dy)
		if l > 0 {
			h[i] = wire.Point{q[0] + hullMargin*dx/l*math.Sqrt2, q[1] + hullMargin*dy/l*math.Sqrt2}
		}
	}
	return h
}

// misses lists the sensors that did not hear the burst and were listening.
func (s *Solver) misses() {
	s.miss = s.miss[:0]
	if s.m.MissDBm == 0 {
		return
	}
	j := 0
	for i := range s.m.Sensors {
		if j < s.k && s.idx[j] == i {
			j++
			continue
		}
		if i < 64 && s.deaf&(1<<uint(i)) != 0 {
			continue
		}
		s.miss = append(s.miss, i)
	}
}

// logPhi is log(ε + (1-ε) Φ(z)), Φ the standard normal distribution
// function: the chance that a sensor hears nothing of a phone whose level
// there would be z standard deviations above its sensitivity, with ε the
// chance that it misses a burst anyway (frames lost, busy on another
// channel). From a table, linear interpolation on [-12, 6].
func logPhi(z float64) float64 {
	if z >= phiHi {
		return 0
	}
	if z <= phiLo {
		return logPhiTab[0]
	}
	u := (z - phiLo) * phiScale
	i := int(u)
	f := u - float64(i)
	return logPhiTab[i] + f*(logPhiTab[i+1]-logPhiTab[i])
}

const (
	phiLo, phiHi = -12.0, 6.0
	phiN         = 1024
	phiScale     = phiN / (phiHi - phiLo)
	missFloor    = 0.05
)

var logPhiTab = func() [phiN + 2]float64 {
	var t [phiN + 2]float64
	for i := range t {
		z := phiLo + float64(i)/phiScale
		t[i] = math.Log(missFloor + (1-missFloor)*0.5*math.Erfc(-z/math.Sqrt2))
	}
	return t
}()
