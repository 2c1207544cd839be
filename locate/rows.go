package locate

import "math"

// The scalar loops of posterior.fix over a span of cells (a row of the
// window, or all its rows): grid_vec.go does the same 8 cells at a time
// on AVX-512 and leaves the rest of a span to these.

// weights turns each log posterior l into its weight exp(l - best0)·√idet,
// 0 below the cutoff (expNeg, written out: a call per cell costs more
// than its arithmetic).
func weights(lp, idet []float64, best0 float64) {
	const (
		invLn2N = expTabN / math.Ln2
		ln2HiN  = 0x1.62e42fefa0000p-7
		ln2LoN  = (math.Ln2 - 0x1.62e42fefa0000p-1) / expTabN
		shifter = 0x1.8p52
	)
	idet = idet[:len(lp)]
	if avx2 {
		m := weightsAsm(lp, idet, best0)
		lp, idet = lp[m:], idet[m:]
	}
	for t, l := range lp {
		x := l - best0
		if x < -cutoff {
			lp[t] = 0
			continue
		}
		tt := x*invLn2N + shifter
		k := int64(math.Float64bits(tt) - math.Float64bits(shifter))
		kf := tt - shifter
		r := (x - kf*ln2HiN) - kf*ln2LoN
		q := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120)))))
		scale := math.Float64frombits(math.Float64bits(expTab[k&(expTabN-1)]) + uint64(k>>6)<<52)
		lp[t] = scale * q * math.Sqrt(idet[t])
	}
}

// weightsBest turns the log posterior of the cells [ca, cb) into their
// weights (weights) and updates, per side of the front (side&3), the
// greatest weight and its cell (the first of equals; these cells come
// after those seen already).
func (p *posterior) weightsBest(g *Grid, ca, cb int, best0 float64, eBest *[4]float64, bestC *[4]int) {
	if avx2 {
		ca = p.weightsBestAsm(g, ca, cb, best0, eBest, bestC)
	}
	weights(p.lp[ca:cb], p.idet[ca:cb], best0)
	bestPerSide(p.lp[ca:cb], g.side[ca:cb], ca, eBest, bestC)
}

// bestPerSide updates, per side (side&3), the greatest weight and its
// cell with the weights lp of the cells c0, c0+1, ...
func bestPerSide(lp []float64, side []uint8, c0 int, eBest *[4]float64, bestC *[4]int) {
	side = side[:len(lp)]
	for t, e := range lp {
		if sd := side[t] & 3; e > eBest[sd] {
			eBest[sd], bestC[sd] = e, c0+t
		}
	}
}

// missRows adds the silent sensors' terms (p.mi, with p.mp and p.mc) to
// the log posterior of the cells [ca, cb) and returns the greatest: for
// each, log Φ((sens - f - μ - b̂)/√(σ² + V)), sens - f = mp + mc L, μ per
// side in missS, b̂ and V the cell's p.bh and p.vb (fix), which become
// (μ + b̂)/√(σ² + V) and 1/√(σ² + V).
func (p *posterior) missRows(g *Grid, ca, cb int, missS *[4]float64) (lmax float64) {
	lmax = math.Inf(-1)
	if avx2 {
		ca, lmax = p.missRowsAsm(g, ca, cb, missS)
	}
	lp, side, bh, vb := p.lp[ca:cb], g.side[ca:cb], p.bh[ca:cb], p.vb[ca:cb]
	side, bh, vb = side[:len(lp)], bh[:len(lp)], vb[:len(lp)]
	for t := range lp {
		inv := 1 / math.Sqrt(p.s2+vb[t])
		vb[t] = inv
		bh[t] = (missS[side[t]&3] + bh[t]) * inv
	}
	for h, i := range p.mi {
		li := g.lrow(i, ca, cb)
		li = li[:len(lp)]
		mp, mc := p.mp[h], p.mc[h]
		for t := range lp {
			lp[t] += logPhi((mp+mc*li[t])*vb[t] - bh[t])
		}
	}
	for _, l := range lp {
		if l > lmax {
			lmax = l
		}
	}
	return lmax
}

// uniformRow is the uniform-exponent loop of fix over the cells [ca, cb):
// the log posterior (without the silent sensors' terms) into lp and
// 1/det A into idet, from Σ w L, Σ w L² and Σ w u L (rowSums), and returns
// the greatest (NaN passed over, as the caller's comparisons do): with
// r = (u - μ) + c L,
//
//	Σ w r = Σ w u - μ Σ w + c Σ w L,  Σ w L r = Σ w u L - μ Σ w L + c Σ w L²,
//	Σ w r² = Σ w u² - 2μ Σ w u + μ² Σ w + 2c (Σ w u L - μ Σ w L) + c² Σ w L².
func (p *posterior) uniformRow(g *Grid, k, ca, cb int) (lmax float64) {
	lmax = math.Inf(-1)
	if avx2 {
		ca, lmax = p.uniform4(g, k, ca, cb)
		if ca == cb {
			return lmax
		}
	}
	bl, bll, bul := p.rowSums(g, k, ca, cb)
	bll, bul = bll[:len(bl)], bul[:len(bl)]
	lp, idet, side, pri := p.lp[ca:cb], p.idet[ca:cb], g.side[ca:cb], g.prior[ca:cb]
	lp, idet, side, pri = lp[:len(bl)], idet[:len(bl)], side[:len(bl)], pri[:len(bl)]
	bh, vb := p.bh[ca:cb], p.vb[ca:cb]
	bh, vb = bh[:len(bl)], vb[:len(bl)]
	bc := &p.bc
	c1, c2, c11, a00, in := bc.c1, bc.c2, bc.c11, bc.a00, bc.in
	for t, swl := range bl {
		swll, sul := bll[t], bul[t]
		sd := side[t] & 3
		swr := bc.swr[sd] + c1*swl
		ul := sul - bc.mu[sd]*swl
		swlr := ul + c1*swll
		swrr := bc.swrr[sd] + c2*ul + c11*swll
		a11 := swll + in
		id := 1 / (a00*a11 - swl*swl) // 1/det A
		// the offset's posterior mean and variance ((A⁻¹v)₀, (A⁻¹)₀₀)
		bh[t] = (a11*swr - swl*swlr) * id
		vb[t] = a11 * id
		// v = [swr, -swlr], A01 = -swl: vᵀA⁻¹v = (a11 swr² - 2 swl swr swlr + a00 swlr²)/det
		q := swrr - (a11*swr*swr-2*swl*swr*swlr+a00*swlr*swlr)*id
		l := pri[t] - 0.5*q
		lp[t] = l
		idet[t] = id
		if l > lmax {
			lmax = l
		}
	}
	return lmax
}

// rowSums returns Σ w L, Σ w L² and Σ w u L over the readings of the
// burst for the cells [ca, cb), in the posterior's row buffers. Up to four
// readings are summed in one pass (each sum from 0, reading by reading, as
// a loop over the readings would), more in further passes of four and one.
func (p *posterior) rowSums(g *Grid, k, ca, cb int) (swl, swll, sul []float64) {
	swl, swll, sul = p.swl[:cb-ca], p.swll[:cb-ca], p.sul[:cb-ca]
	swll, sul = swll[:len(swl)], sul[:len(swl)]
	row := func(j int) ([]float64, float64, float64) {
		l := g.lrow(p.gi[j], ca, cb)
		return l[:len(swl)], p.gw[j], p.gwu[j]
	}
	switch min(k, 4) {
	case 1:
		l0, w0, u0 := row(0)
		for t, a := range l0 {
			wa := w0 * a
			swl[t], swll[t], sul[t] = 0+wa, 0+wa*a, 0+u0*a
		}
	case 2:
		l0, w0, u0 := row(0)
		l1, w1, u1 := row(1)
		for t, a := range l0 {
			b := l1[t]
			wa, wb := w0*a, w1*b
			swl[t], swll[t], sul[t] = 0+wa+wb, 0+wa*a+wb*b, 0+u0*a+u1*b
		}
	case 3:
		l0, w0, u0 := row(0)
		l1, w1, u1 := row(1)
		l2, w2, u2 := row(2)
		for t, a := range l0 {
			b, c := l1[t], l2[t]
			wa, wb, wc := w0*a, w1*b, w2*c
			swl[t], swll[t], sul[t] = 0+wa+wb+wc, 0+wa*a+wb*b+wc*c, 0+u0*a+u1*b+u2*c
		}
	case 4:
		l0, w0, u0 := row(0)
		l1, w1, u1 := row(1)
		l2, w2, u2 := row(2)
		l3, w3, u3 := row(3)
		for t, a := range l0 {
			b, c, d := l1[t], l2[t], l3[t]
			wa, wb, wc, wd := w0*a, w1*b, w2*c, w3*d
			swl[t], swll[t], sul[t] = 0+wa+wb+wc+wd, 0+wa*a+wb*b+wc*c+wd*d, 0+u0*a+u1*b+u2*c+u3*d
		}
	}
	for j := 4; j < k; j++ {
		if j+4 <= k { // four more in one pass, added in order
			l0, w0, u0 := row(j)
			l1, w1, u1 := row(j + 1)
			l2, w2, u2 := row(j + 2)
			l3, w3, u3 := row(j + 3)
			for t, a := range l0 {
				b, c, d := l1[t], l2[t], l3[t]
				wa, wb, wc, wd := w0*a, w1*b, w2*c, w3*d
				swl[t] = swl[t] + wa + wb + wc + wd
				swll[t] = swll[t] + wa*a + wb*b + wc*c + wd*d
				sul[t] = sul[t] + u0*a + u1*b + u2*c + u3*d
			}
			j += 3
			continue
		}
		l, w, wu := row(j)
		for t, a := range l {
			wa := w * a
			swl[t] += wa
			swll[t] += wa * a
			sul[t] += wu * a
		}
	}
	return swl, swll, sul
}

// weightedL adds to el[j], per reading j (sensor idx[j]), Σ w L_j over
// the cells of g, w a cell's weight in lp times scale[its side] (weights
// of 0 passed over), and returns Σ w: the loop
//
//	for c, w := range lp { if w != 0 { w *= scale[side]; sw += w; el[j] += w L_j(c) for each j } }
//
// with the sums of up to eight readings (weightedL8), then four, in
// registers per pass over the cells, or on AVX2 with a cell-major table
// (Grid.lc) all of them in one pass (weightedLCells); each sum still in
// cell order, so the same to the bit.
func weightedL(g *Grid, lp []float64, scale *[4]float64, idx []int, el []float64) (sw float64) {
	if avx2 && g.lc != nil && len(idx) > 0 {
		// All readings in one pass over the cell-major table (AVX2).
		return weightedLCells(g, lp, nil, scale, idx, el)
	}
	n := g.Len()
	lp, side := lp[:n], g.side[:n]
	j0 := 0
	if len(idx) > 4 {
		// Five to eight readings in one pass (eight sums in registers).
		sw = weightedL8(g, lp, side, scale, idx[:min(8, len(idx))], el)
		j0 = min(8, len(idx))
	}
	for ; j0 < len(idx); j0 += 4 {
		nj := min(4, len(idx)-j0)
		var l [4][]float64
		for h := range 4 {
			i := idx[j0+min(h, nj-1)] // lanes beyond the readings repeat the last
			l[h] = g.l[i*n : i*n+n]
		}
		l0, l1, l2, l3 := l[0][:len(lp)], l[1][:len(lp)], l[2][:len(lp)], l[3][:len(lp)]
		e0, e1, e2, e3 := el[j0], el[j0+min(1, nj-1)], el[j0+min(2, nj-1)], el[j0+min(3, nj-1)]
		first := j0 == 0
		s := sw
		for c, w := range lp {
			if w == 0 {
				continue
			}
			w *= scale[side[c]&3]
			if first {
				s += w
			}
			e0 += w * l0[c]
			e1 += w * l1[c]
			e2 += w * l2[c]
			e3 += w * l3[c]
		}
		sw = s
		e := [4]float64{e0, e1, e2, e3}
		copy(el[j0:j0+nj], e[:nj])
	}
	if len(idx) == 0 {
		for c, w := range lp {
			if w != 0 {
				sw += w * scale[side[c]&3]
			}
		}
	}
	return sw
}

// weightedL8 is weightedL's pass over the first 5 to 8 readings (idx),
// each sum in cell order as in the pass of four; it returns Σw.
func weightedL8(g *Grid, lp []float64, side []uint8, scale *[4]float64, idx []int, el []float64) (sw float64) {
	n := len(lp)
	nj := len(idx)
	var l [8][]float64
	for h := range 8 {
		i := idx[min(h, nj-1)] // lanes beyond the readings repeat the last
		l[h] = g.l[i*n : i*n+n]
	}
	l0, l1, l2, l3 := l[0][:n], l[1][:n], l[2][:n], l[3][:n]
	l4, l5, l6, l7 := l[4][:n], l[5][:n], l[6][:n], l[7][:n]
	side = side[:n]
	var e [8]float64
	copy(e[:], el[:nj])
	e0, e1, e2, e3, e4, e5, e6, e7 := e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]
	for c, w := range lp {
		if w == 0 {
			continue
		}
		w *= scale[side[c]&3]
		sw += w
		e0 += w * l0[c]
		e1 += w * l1[c]
		e2 += w * l2[c]
		e3 += w * l3[c]
		e4 += w * l4[c]
		e5 += w * l5[c]
		e6 += w * l6[c]
		e7 += w * l7[c]
	}
	e = [8]float64{e0, e1, e2, e3, e4, e5, e6, e7}
	copy(el[:nj], e[:nj])
	return sw
}

// sumMoments adds the weights lp of the cells considered (p.i0..p.i1,
// p.j0..p.j1), times inv, to their sides' moments p.mom, passing over
// weights below thr and 0; xs holds x of each column about p.rx. The sums
// run along a run of cells of one side (rows are mostly one side), the run
// added to its side's moments at its end. Within a run, four cells of its
// side in a row (from any cell: wherever the next four are the run's side)
// add their terms to four partial sums, one per place in the four, and the
// other cells (a row's last 0–3, a four with a cell of another side) to
// the run's own sums; at the run's end each partial is added to the run's
// sums as s + ((p₀ + p₁) + (p₂ + p₃)). (Four independent sums: the
// additions of one cell need not wait for the previous cell's.) On AVX2
// moments4 takes the same sums in the same order.
func (p *posterior) sumMoments(g *Grid, xs []float64, thr, inv float64) {
	rs := g.side[p.j0*g.NX+p.i0]
	if avx2 {
		rs, s := p.momentsAsm(g, xs, thr, inv, rs)
		p.mom[rs].add(&moments{s[0], s[1], s[2], s[3], s[4], s[5]})
		return
	}
	var s [6]float64    // the run's own sums: w, wx, wy, wxx, wxy, wyy
	var q [6][4]float64 // its partial sums
	end := func() {
		for k := range s {
			s[k] += (q[k][0] + q[k][1]) + (q[k][2] + q[k][3])
		}
		q = [6][4]float64{}
	}
	for row := p.j0; row <= p.j1; row++ {
		y := g.Y0 + float64(row)*g.Cell - p.ry
		ca := row*g.NX + p.i0
		lp := p.lp[ca : ca+len(xs)]
		side := g.side[ca : ca+len(xs)]
		side = side[:len(lp)]
		for t := 0; t < len(lp); {
			if len(lp)-t >= 4 && side[t] == rs && side[t+1] == rs && side[t+2] == rs && side[t+3] == rs {
				for l := range 4 {
					e := lp[t+l]
					if e < thr || e == 0 {
						continue
					}
					e *= inv
					x := xs[t+l]
					ex, ey := e*x, e*y
					q[0][l] += e
					q[1][l] += ex
					q[2][l] += ey
					q[3][l] += ex * x
					q[4][l] += ex * y
					q[5][l] += ey * y
				}
				t += 4
				continue
			}
			e := lp[t]
			if e < thr || e == 0 {
				t++
				continue
			}
			if sd := side[t]; sd != rs {
				end()
				p.mom[rs].add(&moments{s[0], s[1], s[2], s[3], s[4], s[5]})
				s = [6]float64{}
				rs = sd
			}
			e *= inv
			x := xs[t]
			ex, ey := e*x, e*y
			s[0] += e
			s[1] += ex
			s[2] += ey
			s[3] += ex * x
			s[4] += ex * y
			s[5] += ey * y
			t++
		}
	}
	end()
	p.mom[rs].add(&moments{s[0], s[1], s[2], s[3], s[4], s[5]})
}
