package locate

import "math"

// The posterior over the cells of a Grid: the Solver's workspace for grid
// fixes, the fix itself (posterior mean and covariance over the most
// probable side of the front); the per-cell terms are in cellterms.go.

// moments are the weighted moments of the cells of one side, with x and y
// taken about the reference point of the fix (posterior.rx, ry).
type moments struct {
	sw, sx, sy, sxx, sxy, syy float64
}

func (m *moments) add(o *moments) {
	m.sw += o.sw
	m.sx += o.sx
	m.sy += o.sy
	m.sxx += o.sxx
	m.sxy += o.sxy
	m.syy += o.syy
}

// posterior is the Solver's workspace for grid fixes.
type posterior struct {
	lp    []float64 // log posterior per cell, then its weight
	farLP []float64 // the same for the grid's far points (whole-grid fixes)
	farID []float64
	farBH []float64 // and their offsets' posterior means and variances
	farVB []float64
	idet  []float64 // 1/determinant of the nuisances' information per cell
	// per cell, for the silent sensors' terms: the posterior mean of the
	// transmit offset about the side's level, and its variance (missRows
	// turns them into (μ + b̂)/√(σ² + V) and 1/√(σ² + V) in place)
	bh, vb []float64
	mass   [3]float64 // weight per side
	mom    [3]moments // per side
	bestC  [3]int     // the most probable cell per side (-1: none)
	bEst   [3]float64 // posterior mean of the offset there, about its side's
	// the cells the next fix considers: columns i0..i1 of rows j0..j1
	// (the whole grid, or a window)
	i0, i1, j0, j1 int
	rx, ry         float64   // reference point of the moments
	xs             []float64 // x of each column considered, about rx
	swl, swll, sul []float64 // per cell of a row: Σ w L, Σ w L², Σ w u L
	bc             burstConst
	dataWant       bool // offsetAt: also the offset from the readings alone (txoffset.go)
	dataOK         bool
	dataB, dataP   float64
	ibTot          float64 // the offset prior's precision of the last fix, 1/dB²
	s2             float64 // σ² of a silent sensor's level about the model, dB² (Model.SigmaDB²)
	coarse         bool    // the coarse grid's: its fixes' sides only are used
	useFar         bool    // the last fix weighed the grid's far points
	chords         []int32 // disc: the first and last cell of each row's chord
	dc             discCache
	fw             [4]int // the last fix's cells: columns fw[0]..fw[1] of rows fw[2]..fw[3]

	// the burst, per reading j (sensor gi[j]): weight 1/σ², y - P, the
	// exponent n + Δn; and per listening sensor that heard nothing (mi):
	// (sensitivity - P)/σ and n/σ
	gi              []int
	gw, gu, gwu, gc []float64
	mi              []int
	mp, mc          []float64
}

// burstConst holds what the cells of a fix share: per side of the front
// (indexed by side&3, which lets the compiler drop the bounds checks) its
// offset μ and the parts of Σ w r and Σ w r² that depend on the burst and
// μ only; the common exponent c with 2c and c², A₀₀ and 1/τn².
type burstConst struct {
	mu, swr, swrr        [4]float64
	c1, c2, c11, a00, in float64
}

// window limits the next fix to the cells within the rectangle (clamped to
// the grid); all limits the next fix to the whole grid.
func (p *posterior) window(g *Grid, x0, y0, x1, y1 float64) {
	cl := func(v float64, n int) int { return min(max(int(math.Floor(v)), 0), n-1) }
	p.i0, p.j0 = cl((x0-g.X0)/g.Cell+0.5, g.NX), cl((y0-g.Y0)/g.Cell+0.5, g.NY)
	p.i1, p.j1 = cl((x1-g.X0)/g.Cell+0.5, g.NX), cl((y1-g.Y0)/g.Cell+0.5, g.NY)
}

func (p *posterior) all(g *Grid) { p.i0, p.j0, p.i1, p.j1 = 0, 0, g.NX-1, g.NY-1 }

func (p *posterior) init(g *Grid) {
	if g != nil {
		p.all(g)
		p.lp = make([]float64, g.Len())
		p.idet = make([]float64, g.Len())
		p.bh = make([]float64, g.Len())
		p.vb = make([]float64, g.Len())
		p.xs = make([]float64, g.NX)
		p.swl = make([]float64, g.Len())
		p.swll = make([]float64, g.Len())
		p.sul = make([]float64, g.Len())
		p.gi = make([]int, g.ns)
		p.gw = make([]float64, g.ns)
		p.gwu = make([]float64, g.ns)
		p.gu = make([]float64, g.ns)
		p.gc = make([]float64, g.ns)
		p.mi = make([]int, 0, g.ns)
		p.mp = make([]float64, g.ns)
		p.mc = make([]float64, g.ns)
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

// cutoff is how far below the most probable cell, in nats, a cell's weight
// is taken as 0.
const cutoff = 25.0

// expCutoff is e^-cutoff (math.Exp, once).
var expCutoff = math.Exp(-cutoff)

// fix returns the posterior mean and covariance over the cells of the most
// probable side (store, outside, other), so that a fix never lands between
// the two sides of the shop's front. Within a side the prior is the zone
// density; across sides it is prior (nil: in proportion to the sides' prior
// mass, i.e. one density everywhere). post receives the posterior of the
// sides.
//
// Nuisances: the transmit offset b ~ N(0, τ²) (N(m, 1/(1/τ² + P)) for a
// phone whose pseudonym taught its track an offset, txoffset.go: the
// residuals taken about μ + m, P added to A₀₀) and an error of the path-loss
// exponent Δn ~ N(0, τn²), common to all sensors: the residuals are
// r_i = b - Δn·L_i + ε_i, L_i = 10 log10 d_i. Both are integrated out: with
// A = [[Σw + 1/τ², -Σw L], [-Σw L, Σw L² + 1/τn²]] and v = [Σ w r, -Σ w L r],
//
//	log p(c | y) = log π(c) - ½ (Σ w r² - vᵀ A⁻¹ v) - ½ log det A.
//
// With r_i = u_i - μ + c_i L_i (u_i = y_i - P_i, c_i = n_i + Δn, μ the
// side's offset) and one exponent c for every sensor (the usual site), the
// sums over the sensors reduce to three per cell, Σ w L, Σ w L² and
// Σ w u L; the rest comes from per-burst constants.
//
// A listening sensor i that heard nothing adds log(ε + (1-ε) Φ(z_i)) (logPhi),
// the chance that the phone's level there was below the sensitivity s:
//
//	z_i = (s - f_i - μ - b̂) / √(σ² + V),  b̂ = (A₁₁ Σwr - Σwl Σwlr)/det A,  V = A₁₁/det A,
//
// b̂ and V the posterior mean and variance of the transmit offset at the
// cell given the readings (the first element of A⁻¹v and of A⁻¹), σ the
// model's SigmaDB. The readings of a quiet phone say it is quiet, and the
// silent sensors are judged by that: taken at b = 0 with the offset's
// prior spread (σ² + τ² for every sensor, as until December 2026) a quiet
// phone heard by few sensors looked far from the silent ones, and
// passers-by in front of `large` were put at the ends of its street
// (docs/locate.md, "2026-12-05 evening: p90 in large").
func (p *posterior) fix(s *Solver, prior *Sides, post *Sides) Fix {
	g := s.grid
	k := s.k
	m := s.m
	var s0, u0, u2 float64
	uniform := true
	for j := 0; j < k; j++ {
		i := s.idx[j]
		se := &m.Sensors[i]
		w := 1 / s.v[j]
		s.w[j] = w
		u := s.y[j] - se.RSSI1m
		p.gi[j], p.gw[j], p.gu[j], p.gwu[j], p.gc[j] = i, w, u, w*u, se.Exponent+s.dn
		s0 += w
		u0 += w * u
		u2 += w * u * u
		uniform = uniform && p.gc[j] == p.gc[0]
	}
	ib, in := 0.0, 0.0
	if tau := m.TxSigmaDB; tau > 0 {
		ib = 1 / (tau * tau)
	} else {
		ib = 1e6
	}
	if tn := s.exponentSigma(); tn > 0 {
		in = 1 / (tn * tn)
	} else {
		in = 1e6
	}
	ib += s.txPrec
	p.ibTot = ib
	a00 := s0 + ib
	s.misses()
	p.s2 = m.SigmaDB * m.SigmaDB
	// A silent sensor: log Φ((sens - f_i - μ - b̂)/√(σ² + V)), sens - f_i = mp + mc L.
	p.mi = p.mi[:0]
	for _, i := range s.miss {
		se := &m.Sensors[i]
		p.mp[len(p.mi)] = m.MissDBm - se.RSSI1m
		p.mc[len(p.mi)] = se.Exponent + s.dn
		p.mi = append(p.mi, i)
	}
	p.bEst = [3]float64{}
	p.dc.ok = 0
	p.fw = [4]int{p.i0, p.i1, p.j0, p.j1}
	n := g.Len()
	// The constants per side (burstConst) are grouped as the per-cell
	// formulas below group them, so the sums are the same to the bit.
	var missS [4]float64
	bc := &p.bc
	for sd := range 3 {
		mu := s.sideOff[sd] + s.txShift
		bc.mu[sd] = mu
		bc.swr[sd] = u0 - mu*s0
		bc.swrr[sd] = u2 - 2*mu*u0 + mu*mu*s0
		missS[sd] = mu
	}
	muS := &bc.mu
	gi, gw, gu, gc := p.gi[:k], p.gw[:k], p.gu[:k], p.gc[:k]
	c1 := p.gc[0]
	c2, c11 := 2*c1, c1*c1
	bc.c1, bc.c2, bc.c11, bc.a00, bc.in = c1, c2, c11, a00, in
	mi := p.mi
	best0 := math.Inf(-1)
	// Spans of consecutive cells: the rows of the window, or all its rows
	// as one span when it is as wide as the grid.
	nsp, spw := p.j1-p.j0+1, p.i1-p.i0+1
	if spw == g.NX {
		nsp, spw = 1, nsp*g.NX
	}
	sps := nsp
	if uniform && avx2 && !simd8 { // the kernels over all the rows at once
		if l := p.uniformWindow(g, k, p.j0*g.NX+p.i0, nsp, spw, &missS); l > best0 {
			best0 = l
		}
		sps = 0
	}
	for sp := range sps {
		ca := (p.j0+sp)*g.NX + p.i0
		cb := ca + spw
		lp := p.lp[ca:cb]
		idet, bh, vb := p.idet[ca:cb], p.bh[ca:cb], p.vb[ca:cb]
		idet, bh, vb = idet[:len(lp)], bh[:len(lp)], vb[:len(lp)]
		side := g.side[ca:cb]
		side = side[:len(lp)]
		pri := g.prior[ca:cb]
		pri = pri[:len(lp)]
		if uniform {
			// Σ w L, Σ w L², Σ w u L per cell, sensor by sensor; then
			// r = (u - μ) + c L gives the rest.
			t0 := 0
			if simd8 {
				t0 = p.uniform8(g, k, ca, cb)
			}
			m := p.uniformRow(g, k, ca+t0, cb)
			if len(mi) == 0 {
				// No silent sensor's term to add: the row loop's
				// maximum stands (and a comparison per vector cell).
				for _, l := range lp[:t0] {
					if l > best0 {
						best0 = l
					}
				}
				if m > best0 {
					best0 = m
				}
				continue
			}
		} else {
			for t := range lp {
				lp[t], idet[t], bh[t], vb[t] = postSums(g.l, n, ca+t, gi, gw, gu, gc, muS[side[t]&3], a00, in, pri[t])
			}
		}
		// Sensors that heard nothing: the phone was below their
		// sensitivity there.
		if l := p.missRows(g, ca, cb, &missS); l > best0 {
			best0 = l
		}
	}
	// The street beyond the bounds (Grid.far), on fixes over the whole
	// grid.
	useFar := len(g.far) > 0 && p.i0 == 0 && p.j0 == 0 && p.i1 == g.NX-1 && p.j1 == g.NY-1
	p.useFar = useFar
	if useFar {
		if nf := max(len(g.far), len(g.farPri)); len(p.farLP) < nf {
			p.farLP = make([]float64, nf)
			p.farID = make([]float64, nf)
			p.farBH = make([]float64, nf)
			p.farVB = make([]float64, nf)
		}
		mu := muS[sideOutside]
		if avx2 && len(g.farPri) == (len(g.far)+3)&^3 && k > 0 {
			p.farRows(g, k, mu, a00, in) // four points at a time
		} else {
			for f := range g.far {
				fp := &g.far[f]
				p.farLP[f], p.farID[f], p.farBH[f], p.farVB[f] = postSums(fp.l, 1, 0, gi, gw, gu, gc, mu, a00, in, fp.prior)
			}
		}
		for f := range g.far {
			l := p.farLP[f]
			if len(mi) > 0 {
				l += p.missTerms(g.far[f].l, 1, 0, mu, p.farBH[f], p.farVB[f])
			}
			p.farLP[f] = l
			if l > best0 {
				best0 = l
			}
		}
	}
	// The weights exp(l - ½ log det A - best0) = exp(l - best0)/√det A,
	// only where they can matter (the determinant varies over the grid
	// by far less than the cutoff). expNeg is math.Exp to 2 ulp, faster.
	emax := 0.0
	var eBest [4]float64
	bestC := [4]int{-1, -1, -1, -1}
	wsp := nsp
	if avx2 && !simd8 {
		p.weightsWindow(g, p.j0*g.NX+p.i0, nsp, spw, best0, &eBest, &bestC)
		wsp = 0
	}
	for sp := range wsp {
		ca := (p.j0+sp)*g.NX + p.i0
		cb := ca + spw
		t0 := 0 // the weights of cells [ca, ca+t0) are done
		if simd8 {
			t0 = p.weights8(g, ca, cb, best0)
		}
		bestPerSide(p.lp[ca:ca+t0], g.side[ca:ca+t0], ca, &eBest, &bestC)
		p.weightsBest(g, ca+t0, cb, best0, &eBest, &bestC)
	}
	for _, e := range eBest { // the greatest weight of all
		if e > emax {
			emax = e
		}
	}
	if useFar {
		weights(p.farLP[:len(g.far)], p.farID[:len(g.far)], best0)
		for _, e := range p.farLP[:len(g.far)] {
			if e > emax {
				emax = e
			}
		}
	}
	p.bestC = [3]int(bestC[:3])
	for _, c := range p.bestC {
		if c >= 0 {
			p.bEst[g.side[c]] = p.offsetAt(s, g, c, g.side[c])
		}
	}
	// Moments per side, about the middle of the cells considered.
	p.mass = [3]float64{}
	p.mom = [3]moments{}
	p.rx = g.X0 + float64(p.i0+p.i1)/2*g.Cell
	p.ry = g.Y0 + float64(p.j0+p.j1)/2*g.Cell
	thr, inv := emax*expCutoff, 1/emax
	xs := p.xs[:p.i1-p.i0+1]
	for t := range xs {
		xs[t] = g.X0 + float64(p.i0+t)*g.Cell - p.rx
	}
	p.sumMoments(g, xs, thr, inv)
	if useFar {
		mo := &p.mom[sideOutside]
		for f, e := range p.farLP[:len(g.far)] {
			if e < thr || e == 0 {
				continue
			}
			e *= inv
			x, y := g.far[f].cx-p.rx, g.far[f].cy-p.ry
			mo.sw += e
			mo.sx += e * x
			mo.sy += e * y
			mo.sxx += e * x * x
			mo.sxy += e * x * y
			mo.syy += e * y * y
		}
	}
	for i := range p.mass {
		p.mass[i] = p.mom[i].sw
	}
	return p.choose(s, prior, post, !p.coarse)
}

// offsetAt returns the posterior mean of the transmit offset of the last
// fix's burst at cell c of g, relative to the offset of side:
// b̂ = (a₁₁ Σwr - Σwl Σwlr) / det A, plus the phone's prior mean
// (Solver.txShift; the residuals are taken about it). With p.dataWant it
// also sets p.dataB and p.dataP, the same from the readings alone and its
// precision (storeData).
func (p *posterior) offsetAt(s *Solver, g *Grid, c int, side uint8) float64 {
	mu := s.sideOff[side] + s.txShift
	var swl, swll, swr, swlr float64
	for j := 0; j < s.k; j++ {
		l := g.lrow(p.gi[j], c, c+1)[0]
		w := p.gw[j]
		r := (p.gu[j] - mu) + p.gc[j]*l
		wl := w * l
		swl += wl
		swll += wl * l
		swr += w * r
		swlr += wl * r
	}
	a11 := swll + p.bc.in
	if p.dataWant {
		p.dataOK = false
		if d0 := p.bc.a00 - p.ibTot; s.k >= txMinReadings && d0 > 0 {
			if det := d0*a11 - swl*swl; det > 0 {
				p.dataB, p.dataP, p.dataOK = s.txShift+(a11*swr-swl*swlr)/det, det/a11, true
			}
		}
	}
	return s.txShift + (a11*swr-swl*swlr)/(p.bc.a00*a11-swl*swl)
}

// choose picks the side from the posterior weights of the last fix and
// returns the mean and covariance over its cells.
func (p *posterior) choose(s *Solver, prior *Sides, post *Sides, point bool) Fix {
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
	mo := &p.mom[side]
	sw := mo.sw
	mx, my := mo.sx/sw, mo.sy/sw
	q := g.Cell * g.Cell / 12 // a cell's own spread
	cov := [3]float64{mo.sxx/sw - mx*mx + q, mo.sxy/sw - mx*my, mo.syy/sw - my*my + q}
	if r := s.m.DiscRadius; r > 0 && point && s.k >= 2 && !math.IsNaN(mx) && cov[0]+cov[2] > 2*discTight*discTight*r*r {
		// The point of most mass within r; the covariance about it.
		// (Where the side's spread is below discTight·r per axis, a
		// disc about the mean holds nearly all of it, 99% for a
		// Gaussian: the mean stands. From one sensor's reading the
		// posterior is a ring about it, and its point of most mass an
		// arbitrary arc that moves from burst to burst: the mean stands
		// too, or a phone heard by one sensor is split by its own jumps,
		// as in the real one-receiver captures.)
		dx, dy := p.discCached(g, side, p.rx+mx, p.ry+my, r)
		ox, oy := dx-p.rx-mx, dy-p.ry-my
		cov[0] += ox * ox
		cov[1] += ox * oy
		cov[2] += oy * oy
		return Fix{X: dx, Y: dy, Cov: cov, Err: errOf(cov, s.m.Bounds), N: s.k}
	}
	return Fix{X: p.rx + mx, Y: p.ry + my, Cov: cov, Err: errOf(cov, s.m.Bounds), N: s.k}
}
