//go:build goexperiment.simd && amd64

package locate

import (
	"math"
	"simd/archsimd"
)

// simd8 is whether the grid posterior runs 8 cells at a time, on AVX-512.
// Each lane does the scalar code's operations in the same order (no fused
// multiply-add), so the fixes are the same to the bit.
var simd8 = archsimd.X86.AVX512()

// vecInit allocates what the vector code reads besides the scalar tables.
func (g *Grid) vecInit() {
	if simd8 {
		g.side64 = make([]uint64, g.Len())
	}
}

// uniform8 is the uniform-exponent loop of posterior.fix over the first
// multiple of 8 cells of [ca, cb): it fills lp (the log posterior without
// the silent sensors' terms) and idet, and returns how many cells it did.
func (p *posterior) uniform8(g *Grid, k, ca, cb int) int {
	m := (cb - ca) &^ 7
	if m == 0 {
		return 0
	}
	bc := &p.bc
	n := g.Len()
	var mu8, swr8, swrr8 [8]float64
	copy(mu8[:], bc.mu[:])
	copy(swr8[:], bc.swr[:])
	copy(swrr8[:], bc.swrr[:])
	bf := archsimd.BroadcastFloat64x8
	gi, gw, gwu := p.gi[:k], p.gw[:k], p.gwu[:k]
	lp, idet, side, pri := p.lp[ca:ca+m], p.idet[ca:ca+m], g.side64[ca:ca+m], g.prior[ca:ca+m]
	// The offset's posterior mean and variance per cell, for the silent
	// sensors' terms (missRows): only when a sensor was silent.
	bh, vb := p.bh[ca:ca+m], p.vb[ca:ca+m]
	miss := len(p.mi) > 0
	for t := 0; t+8 <= m; t += 8 {
		c := ca + t
		var swl, swll, sul archsimd.Float64x8
		for j, i := range gi {
			l := archsimd.LoadFloat64x8Slice(g.l[i*n+c:])
			wl := bf(gw[j]).Mul(l)
			swl = swl.Add(wl)
			swll = swll.Add(wl.Mul(l))
			sul = sul.Add(bf(gwu[j]).Mul(l))
		}
		sd := archsimd.LoadUint64x8Slice(side[t:])
		c1 := bf(bc.c1)
		swr := archsimd.LoadFloat64x8(&swr8).Permute(sd).Add(c1.Mul(swl))
		ul := sul.Sub(archsimd.LoadFloat64x8(&mu8).Permute(sd).Mul(swl))
		swlr := ul.Add(c1.Mul(swll))
		swrr := archsimd.LoadFloat64x8(&swrr8).Permute(sd).Add(bf(bc.c2).Mul(ul)).Add(bf(bc.c11).Mul(swll))
		a11 := swll.Add(bf(bc.in))
		a00 := bf(bc.a00)
		id := bf(1).Div(a00.Mul(a11).Sub(swl.Mul(swl)))
		if miss {
			// (a11*swr - swl*swlr) * id and a11 * id, as uniformRow
			a11.Mul(swr).Sub(swl.Mul(swlr)).Mul(id).StoreSlice(bh[t:])
			a11.Mul(id).StoreSlice(vb[t:])
		}
		// (a11*swr*swr - 2*swl*swr*swlr + a00*swlr*swlr) * id
		v := a11.Mul(swr).Mul(swr).Sub(swl.Add(swl).Mul(swr).Mul(swlr)).Add(a00.Mul(swlr).Mul(swlr))
		q := swrr.Sub(v.Mul(id))
		archsimd.LoadFloat64x8Slice(pri[t:]).Sub(bf(0.5).Mul(q)).StoreSlice(lp[t:])
		id.StoreSlice(idet[t:])
	}
	archsimd.ClearAVXUpperBits()
	return m
}

// weights8 is the weight loop of posterior.fix over the first multiple of
// 8 cells of [ca, cb): lp becomes exp(lp - best0)/√det A, 0 below the
// cutoff. It returns how many cells it did.
func (p *posterior) weights8(g *Grid, ca, cb int, best0 float64) int {
	m := (cb - ca) &^ 7
	if m == 0 {
		return 0
	}
	const (
		invLn2N = expTabN / math.Ln2
		ln2HiN  = 0x1.62e42fefa0000p-7
		ln2LoN  = (math.Ln2 - 0x1.62e42fefa0000p-1) / expTabN
		shifter = 0x1.8p52
	)
	bf := archsimd.BroadcastFloat64x8
	bu := archsimd.BroadcastUint64x8
	lp, idet := p.lp[ca:ca+m], p.idet[ca:ca+m]
	for t := 0; t+8 <= m; t += 8 {
		d := archsimd.LoadFloat64x8Slice(lp[t:]).Sub(bf(best0))
		cut := d.Less(bf(-cutoff))
		// expNeg, the same operations in the same order; the table of
		// 2^(j/64) is read by permutations of 16 entries. The lanes below
		// the cutoff (which the scalar loop skips) are set to -cutoff
		// first: far below it they would make subnormal numbers, which
		// cost the processor a microcode assist each.
		x := bf(-cutoff).Merge(d, cut)
		sh := bf(shifter)
		tt := x.Mul(bf(invLn2N)).Add(sh)
		k := tt.AsUint64x8().Sub(sh.AsUint64x8())
		kf := tt.Sub(sh)
		r := x.Sub(kf.Mul(bf(ln2HiN))).Sub(kf.Mul(bf(ln2LoN)))
		// 1 + r*(1 + r*(1/2 + r*(1/6 + r*(1/24 + r*(1/120)))))
		q := bf(1.0 / 24).Add(r.Mul(bf(1.0 / 120)))
		q = bf(1.0 / 6).Add(r.Mul(q))
		q = bf(1.0 / 2).Add(r.Mul(q))
		q = bf(1).Add(r.Mul(q))
		q = bf(1).Add(r.Mul(q))
		j := k.And(bu(expTabN - 1))
		lo := archsimd.LoadFloat64x8(&expTab8[0]).ConcatPermute(archsimd.LoadFloat64x8(&expTab8[1]), j)
		hi := archsimd.LoadFloat64x8(&expTab8[2]).ConcatPermute(archsimd.LoadFloat64x8(&expTab8[3]), j)
		lo2 := archsimd.LoadFloat64x8(&expTab8[4]).ConcatPermute(archsimd.LoadFloat64x8(&expTab8[5]), j)
		hi2 := archsimd.LoadFloat64x8(&expTab8[6]).ConcatPermute(archsimd.LoadFloat64x8(&expTab8[7]), j)
		z := archsimd.Uint64x8{}
		b4 := j.And(bu(16)).NotEqual(z)
		tab := hi.Merge(lo, b4)
		tab = hi2.Merge(lo2, b4).Merge(tab, j.And(bu(32)).NotEqual(z))
		// uint64(k>>6)<<52: bits 6..17 of k at 52..63 (a shift by a variable
		// count would load it with a legacy SSE instruction, see below).
		scale := tab.AsUint64x8().Add(k.ShiftAllLeft(46).And(bu(0xfff << 52))).AsFloat64x8()
		e := scale.Mul(q).Mul(archsimd.LoadFloat64x8Slice(idet[t:]).Sqrt())
		archsimd.Float64x8{}.Merge(e, cut).StoreSlice(lp[t:]) // below the cutoff: 0
	}
	archsimd.ClearAVXUpperBits()
	return m
}

// expTab8 is expTab in arrays of 8.
var expTab8 = func() (v [expTabN / 8][8]float64) {
	for i := range v {
		copy(v[i][:], expTab[8*i:])
	}
	return v
}()
