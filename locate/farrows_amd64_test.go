//go:build amd64

package locate

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFarRowsBitExact compares farRows (four far points at a time) with
// postSums point by point, bit for bit: 1 to all the sensors' readings,
// random weights, offsets and constants.
func TestFarRowsBitExact(t *testing.T) {
	if !avx2 {
		t.Skip("no AVX2 here: the assembly does not run")
	}
	m := testSite(t)
	s := NewSolver(m)
	for _, g := range []*Grid{s.grid, s.mid, s.coarse} {
		if g == nil || len(g.far) == 0 {
			continue
		}
		if len(g.farPri) != (len(g.far)+3)&^3 {
			t.Fatalf("%d far points, a table of %d", len(g.far), len(g.farPri))
		}
		var p posterior
		p.init(g)
		p.farLP, p.farID = make([]float64, len(g.farPri)), make([]float64, len(g.farPri))
		p.farBH, p.farVB = make([]float64, len(g.farPri)), make([]float64, len(g.farPri))
		rng := rand.New(rand.NewPCG(7, 8))
		ns := len(m.Sensors)
		for trial := range 500 {
			k := 1 + trial%ns
			for j, i := range rng.Perm(ns)[:k] {
				p.gi[j], p.gw[j], p.gu[j], p.gc[j] = i, 1/(20+10*rng.Float64()), -40*rng.Float64(), 2+rng.Float64()
			}
			mu, a00, in := 3*rng.NormFloat64(), 0.2+rng.Float64(), 1/(0.3*0.3)
			p.farRows(g, k, mu, a00, in)
			for f := range g.far {
				fp := &g.far[f]
				l, id, bh, vb := postSums(fp.l, 1, 0, p.gi[:k], p.gw[:k], p.gu[:k], p.gc[:k], mu, a00, in, fp.prior)
				if !sameBits(p.farLP[f], l) || !sameBits(p.farID[f], id) || !sameBits(p.farBH[f], bh) || !sameBits(p.farVB[f], vb) {
					t.Fatalf("trial %d (%d readings), far point %d: %v, %v, %v, %v; postSums %v, %v, %v, %v", trial, k, f,
						p.farLP[f], p.farID[f], p.farBH[f], p.farVB[f], l, id, bh, vb)
				}
			}
		}
		return
	}
	t.Fatal("no grid with far points: the test misses farRows")
}

// TestWeightedLFarMatchesLoop compares weightedLCells with far points (the
// cells' pass, then the far points') with the plain loops gainResiduals
// ran, bit for bit: 1 to all the sensors' readings, weights of 0 and a NaN
// among the cells and the far points.
func TestWeightedLFarMatchesLoop(t *testing.T) {
	if !avx2 {
		t.Skip("no AVX2 here: the assembly does not run")
	}
	m := testSite(t)
	s := NewSolver(m)
	g := s.coarse
	nf := len(g.far)
	if nf == 0 || g.lc == nil || len(g.farLc) != lcLanes*nf {
		t.Fatalf("coarse grid: %d far points, tables %d and %d: the test misses the far points", nf, len(g.lc), len(g.farLc))
	}
	rng := rand.New(rand.NewPCG(9, 10))
	lp, far := make([]float64, g.Len()), make([]float64, nf)
	ns := len(m.Sensors)
	for trial := range 200 {
		for _, v := range [][]float64{lp, far} {
			for c := range v {
				v[c] = rng.Float64() * math.Exp(-20*rng.Float64())
				if rng.IntN(5) == 0 {
					v[c] = 0
				}
			}
		}
		if trial%7 == 0 {
			far[rng.IntN(nf)] = math.NaN()
		}
		scale := [4]float64{rng.Float64(), 1 + rng.Float64(), 0.3 * rng.Float64(), 0}
		k := 1 + trial%ns
		idx := rng.Perm(ns)[:k]
		want := make([]float64, k)
		wantSW := weightedLLoop(g, lp, &scale, idx, want)
		for f, w := range far {
			if w == 0 {
				continue
			}
			w *= scale[sideOutside]
			wantSW += w
			for j, i := range idx {
				want[j] += w * g.far[f].l[i]
			}
		}
		got := make([]float64, k)
		gotSW := weightedLCells(g, lp, far, &scale, idx, got)
		if !sameBits(gotSW, wantSW) {
			t.Fatalf("trial %d (%d readings): Σw %v, loop %v", trial, k, gotSW, wantSW)
		}
		for j := range want {
			if !sameBits(got[j], want[j]) {
				t.Fatalf("trial %d (%d readings), reading %d: %v, loop %v", trial, k, j, got[j], want[j])
			}
		}
	}
}
