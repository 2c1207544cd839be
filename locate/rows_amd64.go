//go:build amd64

package locate

import (
	"math"

	"golang.org/x/sys/cpu"
)

// avx2 is whether the grid posterior's row loops run 4 cells at a time in
// assembly (rows_amd64.s), on AVX2. Each lane does the scalar code's
// operations in the same order (no fused multiply-add), so the fixes are
// the same to the bit (TestRowsAsmBitExact). A variable for the tests.
var avx2 = cpu.X86.HasAVX2

// rowArgs is what uniform4 reads and writes; rows_amd64.s addresses its
// fields by offset (TestRowArgsLayout).
type rowArgs struct {
	l      *float64    // 0: sensor 0's log-distance at the first cell (&g.l[ca])
	stride int         // 8: bytes from a sensor's row of the table to the next's
	gi     *int        // 16: the readings' sensors
	gw     *float64    // 24: their weights
	gwu    *float64    // 32: weight × (y - P)
	k      int         // 40: readings
	side   *uint8      // 48: the cells' sides
	pri    *float64    // 56: log prior
	lp     *float64    // 64: out: log posterior
	idet   *float64    // 72: out: 1/det A
	cells  int         // 80: how many cells of each row, a multiple of 4
	bc     *burstConst // 88
	lmax   [4]float64  // 96: out: the greatest log posterior per lane
	rows   int         // 128: rows of cells (at least 1; the kernel counts it down)
	skip   int         // 136: cells from a row's last to the next row's first, less 1
	bh, vb *float64    // 144, 152: out: the offset's posterior mean and variance
	nob    int         // 160: not 0: leave bh and vb (no silent sensor)
}

// rowConst holds the constants of the assembly kernels, 4 lanes each;
// expNeg's are the same constant expressions as in weights (rows.go).
var rowConst = func() (c [24][4]float64) {
	const (
		invLn2N = expTabN / math.Ln2
		ln2HiN  = 0x1.62e42fefa0000p-7
		ln2LoN  = (math.Ln2 - 0x1.62e42fefa0000p-1) / expTabN
		shifter = 0x1.8p52
	)
	v := []float64{
		math.Inf(-1),                      // 0
		1,                                 // 32
		0.5,                               // 64
		math.Float64frombits(1 << 32),     // 96: 1 in each lane's upper half
		math.Float64frombits(3),           // 128: side mask
		-cutoff,                           // 160
		invLn2N,                           // 192
		shifter,                           // 224
		ln2HiN,                            // 256
		ln2LoN,                            // 288
		1.0 / 120,                         // 320
		1.0 / 24,                          // 352
		1.0 / 6,                           // 384
		1.0 / 2,                           // 416
		math.Float64frombits(expTabN - 1), // 448: table index mask
		phiLo,                             // 480
		phiHi,                             // 512
		phiScale,                          // 544
		logPhiTab[0],                      // 576
		math.Float64frombits(0),           // 608: the sides
		math.Float64frombits(1),           // 640
		math.Float64frombits(2),           // 672
		math.Float64frombits(4),           // 704: the next 4 cells
	}
	for i, x := range v {
		c[i] = [4]float64{x, x, x, x}
	}
	c[len(v)] = [4]float64{math.Float64frombits(0), math.Float64frombits(1), // 736: 0, 1, 2, 3
		math.Float64frombits(2), math.Float64frombits(3)}
	return c
}()

// bestArgs is what weightsBest4 leaves: per side of the front, per lane,
// the greatest weight (0: none) and its cell (-1: none).
type bestArgs struct {
	e [3][4]float64
	c [3][4]int
}

// weightsBest4 is weights and bestPerSide over n cells from c0, n a
// multiple of 4, in one pass (the greatest per lane), and over the n cells
// of each of the next rows-1 rows, skip cells after the last row's. The
// sides are 0, 1 and 2 (sideOther, sideStore, sideOutside; a Grid has no
// other).
//
//go:noescape
func weightsBest4(lp, idet *float64, side *uint8, n, c0 int, best0 float64, a *bestArgs, rows, skip int)

// weightsBestAsm does weightsBest over the first multiple of 4 cells of
// [ca, cb) and returns where the scalar loops take over.
func (p *posterior) weightsBestAsm(g *Grid, ca, cb int, best0 float64, eBest *[4]float64, bestC *[4]int) int {
	m := (cb - ca) &^ 3
	if m == 0 {
		return ca
	}
	_, _, _ = p.lp[ca+m-1], p.idet[ca+m-1], g.side[ca+m-1]
	var a bestArgs
	weightsBest4(&p.lp[ca], &p.idet[ca], &g.side[ca], m, ca, best0, &a, 1, 0)
	mergeBest(&a, eBest, bestC)
	return ca + m
}

// mergeBest merges the lanes' greatest weights per side (weightsBest4)
// into eBest and bestC, which hold those of the cells before.
func mergeBest(a *bestArgs, eBest *[4]float64, bestC *[4]int) {
	for sd := range a.e {
		// The lanes' bests: the greatest, the first cell of equals; it
		// must beat the cells before (strictly: they came first).
		be, bc := 0.0, -1
		for l := range 4 {
			e, c := a.e[sd][l], a.c[sd][l]
			if c >= 0 && (e > be || (e == be && c < bc)) {
				be, bc = e, c
			}
		}
		if bc >= 0 && be > eBest[sd] {
			eBest[sd], bestC[sd] = be, bc
		}
	}
}

// uniform4 fills a.lp and a.idet for a.cells cells, as uniformRow does
// (rowSums and its per-cell loop).
//
//go:noescape
func uniform4(a *rowArgs)

// weights4 is weights over n cells, n a multiple of 4.
//
//go:noescape
func weights4(lp, idet *float64, n int, best0 float64)

// logPhiPair holds (logPhiTab[i], logPhiTab[i+1] - logPhiTab[i]), the
// two numbers logPhi reads at index i, for missRow4.
var logPhiPair = func() (p [phiN + 1][2]float64) {
	for i := range p {
		p[i] = [2]float64{logPhiTab[i], logPhiTab[i+1] - logPhiTab[i]}
	}
	return p
}()

// missArgs is what missRows4 reads and writes; rows_amd64.s addresses
// its fields by offset (TestRowArgsLayout).
type missArgs struct {
	lp     *float64    // 0: the log posterior of the first cell
	side   *uint8      // 8: its side
	missS  *[4]float64 // 16: μ per side
	n      int         // 24: cells, a multiple of 4
	m      int         // 32: silent sensors
	l      *float64    // 40: sensor 0's log-distance at the first cell
	stride int         // 48: bytes from a sensor's row of the table to the next's
	mi     *int        // 56: the silent sensors
	mp, mc *float64    // 64, 72: their sens - P and n
	lmax   [4]float64  // 80: out: the greatest log posterior per lane
	rows   int         // 112: rows of n cells (at least 1; counted down)
	skip   int         // 120: cells from a row's last to the next row's first, less 1
	bh, vb *float64    // 128, 136: the cells' offset mean and variance (posterior.fix), in place: (μ + b̂)/s and 1/s, s = √(σ² + V)
	s2     float64     // 144: σ²
}

// missRows4 is missRows over a.n cells.
//
//go:noescape
func missRows4(a *missArgs)

// missRowsAsm runs missRows4 over the first multiple of 4 cells of
// [ca, cb); it returns where the scalar loops take over and the greatest
// log posterior of the cells done (-Inf: none).
func (p *posterior) missRowsAsm(g *Grid, ca, cb int, missS *[4]float64) (int, float64) {
	n := (cb - ca) &^ 3
	lmax := math.Inf(-1)
	if n == 0 {
		return ca, lmax
	}
	m := len(p.mi)
	for _, i := range p.mi {
		_ = g.l[i*g.Len()+ca+n-1]
	}
	_, _, _, _ = p.lp[ca+n-1], g.side[ca+n-1], p.bh[ca+n-1], p.vb[ca+n-1]
	a := missArgs{lp: &p.lp[ca], side: &g.side[ca], missS: missS, n: n, m: m, l: &g.l[ca], stride: 8 * g.Len(), rows: 1,
		bh: &p.bh[ca], vb: &p.vb[ca], s2: p.s2}
	if m > 0 {
		_, _ = p.mp[m-1], p.mc[m-1]
		a.mi, a.mp, a.mc = &p.mi[0], &p.mp[0], &p.mc[0]
	}
	missRows4(&a)
	for _, v := range a.lmax {
		if v > lmax {
			lmax = v
		}
	}
	return ca + n, lmax
}

// uniform4 runs the assembly kernel over the first multiple of 4 cells of
// [ca, cb); it returns where the scalar loop takes over and the greatest
// log posterior of the cells done (-Inf: none).
func (p *posterior) uniform4(g *Grid, k, ca, cb int) (int, float64) {
	m := (cb - ca) &^ 3
	lmax := math.Inf(-1)
	if m == 0 || k == 0 {
		return ca, lmax
	}
	_, _, _ = p.gi[k-1], p.gw[k-1], p.gwu[k-1]
	for _, i := range p.gi[:k] {
		_ = g.l[i*g.Len()+ca+m-1]
	}
	_, _, _, _ = g.side[ca+m-1], g.prior[ca+m-1], p.lp[ca+m-1], p.idet[ca+m-1]
	_, _ = p.bh[ca+m-1], p.vb[ca+m-1]
	a := rowArgs{l: &g.l[ca], stride: 8 * g.Len(), gi: &p.gi[0], gw: &p.gw[0], gwu: &p.gwu[0], k: k,
		side: &g.side[ca], pri: &g.prior[ca], lp: &p.lp[ca], idet: &p.idet[ca], cells: m, bc: &p.bc, rows: 1,
		bh: &p.bh[ca], vb: &p.vb[ca], nob: b2i(len(p.mi) == 0)}
	uniform4(&a)
	for _, v := range a.lmax {
		if v > lmax {
			lmax = v
		}
	}
	return ca + m, lmax
}

// weightsAsm does weights over the first multiple of 4 cells and returns
// how many it did.
func weightsAsm(lp, idet []float64, best0 float64) int {
	m := len(lp) &^ 3
	if m == 0 {
		return 0
	}
	idet = idet[:m]
	weights4(&lp[0], &idet[0], m, best0)
	return m
}

// uniformWindow is the log posterior of a window of rows of spw cells
// from cell ca (the uniform-exponent case): uniformRow over each row and,
// with silent sensors, missRows; it returns the greatest (of missRows when
// there are silent sensors, as the span loop of fix takes it). The kernels
// run over the first multiple of 4 cells of every row in one call each;
// the scalar loops do the rest of each row.
func (p *posterior) uniformWindow(g *Grid, k, ca, rows, spw int, missS *[4]float64) float64 {
	m := spw &^ 3
	if k == 0 {
		m = 0
	}
	lmax := math.Inf(-1)
	nx, n := g.NX, g.Len()
	if m > 0 {
		last := ca + (rows-1)*nx + m - 1
		_, _, _ = p.gi[k-1], p.gw[k-1], p.gwu[k-1]
		for _, i := range p.gi[:k] {
			_ = g.l[i*n+last]
		}
		_, _, _, _ = g.side[last], g.prior[last], p.lp[last], p.idet[last]
		_, _ = p.bh[last], p.vb[last]
		a := rowArgs{l: &g.l[ca], stride: 8 * n, gi: &p.gi[0], gw: &p.gw[0], gwu: &p.gwu[0], k: k,
			side: &g.side[ca], pri: &g.prior[ca], lp: &p.lp[ca], idet: &p.idet[ca], cells: m, bc: &p.bc,
			rows: rows, skip: nx - m, bh: &p.bh[ca], vb: &p.vb[ca], nob: b2i(len(p.mi) == 0)}
		uniform4(&a)
		for _, v := range a.lmax {
			if v > lmax {
				lmax = v
			}
		}
	}
	if m < spw {
		for r := range rows {
			c := ca + r*nx
			if l := p.uniformRow(g, k, c+m, c+spw); l > lmax {
				lmax = l
			}
		}
	}
	if len(p.mi) == 0 {
		return lmax
	}
	lmax = math.Inf(-1)
	if m > 0 {
		mn := len(p.mi)
		last := ca + (rows-1)*nx + m - 1
		for _, i := range p.mi {
			_ = g.l[i*n+last]
		}
		_, _, _, _ = p.lp[last], g.side[last], p.bh[last], p.vb[last]
		_, _ = p.mp[mn-1], p.mc[mn-1]
		a := missArgs{lp: &p.lp[ca], side: &g.side[ca], missS: missS, n: m, m: mn, l: &g.l[ca], stride: 8 * n,
			mi: &p.mi[0], mp: &p.mp[0], mc: &p.mc[0], rows: rows, skip: nx - m, bh: &p.bh[ca], vb: &p.vb[ca], s2: p.s2}
		missRows4(&a)
		for _, v := range a.lmax {
			if v > lmax {
				lmax = v
			}
		}
	}
	if m < spw {
		for r := range rows {
			c := ca + r*nx
			if l := p.missRows(g, c+m, c+spw, missS); l > lmax {
				lmax = l
			}
		}
	}
	return lmax
}

// weightsWindow is weightsBest over a window of rows of spw cells from
// cell ca: the kernel over the first multiple of 4 cells of every row in
// one call, then the scalar loops over the rest of each row, whose cells
// may come before some the kernel did (so a tie goes to the lower cell, as
// the cells in order give it).
func (p *posterior) weightsWindow(g *Grid, ca, rows, spw int, best0 float64, eBest *[4]float64, bestC *[4]int) {
	m := spw &^ 3
	nx := g.NX
	if m > 0 {
		last := ca + (rows-1)*nx + m - 1
		_, _, _ = p.lp[last], p.idet[last], g.side[last]
		var a bestArgs
		weightsBest4(&p.lp[ca], &p.idet[ca], &g.side[ca], m, ca, best0, &a, rows, nx-m)
		mergeBest(&a, eBest, bestC)
	}
	if m < spw {
		for r := range rows {
			c := ca + r*nx + m
			lp, side := p.lp[c:c+spw-m], g.side[c:c+spw-m]
			weights(lp, p.idet[c:c+spw-m], best0)
			side = side[:len(lp)]
			for t, e := range lp {
				if sd := side[t] & 3; e > eBest[sd] || (e == eBest[sd] && c+t < bestC[sd]) {
					eBest[sd], bestC[sd] = e, c+t
				}
			}
		}
	}
}

// momArgs is what moments4 reads and writes; rows_amd64.s addresses its
// fields by offset (TestRowArgsLayout).
type momArgs struct {
	lp     *float64    // 0: the weight of the first cell considered
	side   *uint8      // 8: its side
	xs     *float64    // 16: x of each column, about rx
	nx     int         // 24: columns
	stride int         // 32: cells from a row to the next (Grid.NX)
	rows   int         // 40
	row0   int         // 48: the first row's index
	y0     float64     // 56: Grid.Y0
	cell   float64     // 64: Grid.Cell
	ry     float64     // 72
	thr    float64     // 80: weights below are passed over
	inv    float64     // 88: 1/the greatest weight
	rs     int         // 96: in and out: the side of the run
	s      [6]float64  // 104: in and out: the run's sums
	mom    *[3]moments // 152: the sides' moments
}

// moments4 is the moments loop of sumMoments over the cells considered.
//
//go:noescape
func moments4(a *momArgs)

// momentsAsm runs moments4 over the cells considered by the last fix
// (p.i0..p.i1, p.j0..p.j1), the run of side rs starting from 0, and
// returns the side and sums of the run at the end.
func (p *posterior) momentsAsm(g *Grid, xs []float64, thr, inv float64, rs uint8) (uint8, [6]float64) {
	ca := p.j0*g.NX + p.i0
	last := p.j1*g.NX + p.i1
	if len(xs) != p.i1-p.i0+1 || p.j1 < p.j0 {
		panic("locate: moments over no cells")
	}
	_, _ = p.lp[last], g.side[last]
	a := momArgs{lp: &p.lp[ca], side: &g.side[ca], xs: &xs[0], nx: len(xs), stride: g.NX,
		rows: p.j1 - p.j0 + 1, row0: p.j0, y0: g.Y0, cell: g.Cell, ry: p.ry, thr: thr, inv: inv,
		rs: int(rs), mom: &p.mom}
	moments4(&a)
	return uint8(a.rs), a.s
}

// wlArgs is what weightedLT reads and writes; rows_amd64.s addresses its
// fields by offset (TestRowArgsLayout).
type wlArgs struct {
	lc    *float64    // 0: the cell-major table (Grid.lc)
	lp    *float64    // 8: the cells' weights
	side  *uint8      // 16: their sides
	scale *[4]float64 // 24: the weights' scale per side
	n     int         // 32: cells
	sw    float64     // 40: in and out: Σw
	acc   [8]float64  // 48: in and out: Σ w L per sensor
}

//go:noescape
func weightedLT(a *wlArgs)

// weightedLCells is weightedL over the cell-major table g.lc, all
// readings (at most 8 sensors) in one pass on AVX2: each sensor's sum in
// a lane of its own, in cell order, so the same to the bit as the scalar
// loops (TestWeightedLMatchesLoop). far, when not empty, are the weights
// of g's first len(far) far points, whose terms follow the cells' (as
// gainResiduals adds them; TestWeightedLFarMatchesLoop).
func weightedLCells(g *Grid, lp, far []float64, scale *[4]float64, idx []int, el []float64) float64 {
	n := g.Len()
	if n == 0 {
		return 0
	}
	_, _, _ = lp[n-1], g.side[n-1], g.lc[lcLanes*n-1]
	a := wlArgs{lc: &g.lc[0], lp: &lp[0], side: &g.side[0], scale: scale, n: n}
	for j, i := range idx {
		a.acc[i] = el[j]
	}
	weightedLT(&a)
	if nf := len(far); nf > 0 {
		_, _ = g.farLc[lcLanes*nf-1], g.farSide[nf-1]
		a.lc, a.lp, a.side, a.n = &g.farLc[0], &far[0], &g.farSide[0], nf
		weightedLT(&a)
	}
	for j, i := range idx {
		el[j] = a.acc[i]
	}
	return a.sw
}

// farArgs is what farRows4 reads and writes; rows_amd64.s addresses its
// fields by offset (TestRowArgsLayout).
type farArgs struct {
	l      *float64 // 0: sensor 0's log-distances of the far points (&g.farL[0])
	stride int      // 8: elements from one sensor's row of g.farL to the next's
	gi     *int     // 16: the readings' sensors
	gw     *float64 // 24: their weights
	gu     *float64 // 32: weight × (y - P) ... as posterior.gu
	gc     *float64 // 40: as posterior.gc
	k      int      // 48: readings
	mu     float64  // 56: the outside's offset μ
	a00    float64  // 64
	in     float64  // 72
	pri    *float64 // 80: the far points' log priors (g.farPri)
	lp     *float64 // 88: out: log posterior before the silent sensors' terms
	id     *float64 // 96: out: 1/det A
	groups int      // 104: groups of four far points
	bh, vb *float64 // 112, 120: out: the offset's posterior mean and variance (advanced by the kernel)
}

//go:noescape
func farRows4(a *farArgs)

// farRows fills p.farLP (before the silent sensors' terms) and p.farID for
// the far points of g, four at a time on AVX2 (posterior.fix's loop over
// them, lane by lane; TestFarRowsBitExact).
func (p *posterior) farRows(g *Grid, k int, mu, a00, in float64) {
	nf := len(g.farPri)
	if nf == 0 || k == 0 {
		panic("locate: farRows without far points or readings")
	}
	_, _, _, _ = p.gi[k-1], p.gw[k-1], p.gu[k-1], p.gc[k-1]
	_, _, _, _ = p.farLP[nf-1], p.farID[nf-1], p.farBH[nf-1], p.farVB[nf-1]
	for _, i := range p.gi[:k] {
		_ = g.farL[i*nf+nf-1]
	}
	a := farArgs{l: &g.farL[0], stride: nf, gi: &p.gi[0], gw: &p.gw[0], gu: &p.gu[0], gc: &p.gc[0],
		k: k, mu: mu, a00: a00, in: in, pri: &g.farPri[0], lp: &p.farLP[0], id: &p.farID[0], groups: nf / 4,
		bh: &p.farBH[0], vb: &p.farVB[0]}
	farRows4(&a)
}
