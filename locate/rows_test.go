package locate

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestWeightedLMatchesLoop checks weightedL against the plain loop it
// replaces in gainResiduals, bit for bit: 0 to 6 readings (the pass of
// four and that of five to eight), weights of 0 (passed over) among them,
// a NaN, every side.
func TestWeightedLMatchesLoop(t *testing.T) {
	m := testSite(t)
	s := NewSolver(m)
	g := s.coarse
	if avx2 && g.lc == nil {
		t.Fatal("the coarse grid has no cell-major table: the AVX2 pass is not tested")
	}
	n := g.Len()
	rng := rand.New(rand.NewPCG(5, 6))
	lp := make([]float64, n)
	for trial := range 200 {
		for c := range lp {
			lp[c] = rng.Float64() * math.Exp(-20*rng.Float64())
			if rng.IntN(5) == 0 {
				lp[c] = 0
			}
		}
		if trial%7 == 0 {
			lp[rng.IntN(n)] = math.NaN()
		}
		scale := [4]float64{rng.Float64(), 1 + rng.Float64(), 0.3 * rng.Float64(), 0}
		k := trial % (len(m.Sensors) + 1)
		idx := rng.Perm(len(m.Sensors))[:k]
		want := make([]float64, k)
		wantSW := weightedLLoop(g, lp, &scale, idx, want)
		got := make([]float64, k)
		gotSW := weightedL(g, lp, &scale, idx, got)
		same := sameBits
		if !same(gotSW, wantSW) {
			t.Fatalf("trial %d (%d readings): Σw %v, loop %v", trial, k, gotSW, wantSW)
		}
		for j := range want {
			if !same(got[j], want[j]) {
				t.Fatalf("trial %d (%d readings), reading %d: %v, loop %v", trial, k, j, got[j], want[j])
			}
		}
	}
}

// weightedLLoop is the loop weightedL replaces.
func weightedLLoop(g *Grid, lp []float64, scale *[4]float64, idx []int, el []float64) (sw float64) {
	n := g.Len()
	for c, w := range lp[:n] {
		if w == 0 {
			continue
		}
		w *= scale[g.side[c]]
		sw += w
		for j, i := range idx {
			el[j] += w * g.l[i*n+c]
		}
	}
	return sw
}

// BenchmarkWeightedL: gainResiduals' sums over the coarse grid, 4 readings
// (per op: one pass), against the plain loop.
func BenchmarkWeightedL(b *testing.B) {
	m := testSite(b)
	s := NewSolver(m)
	g := s.coarse
	lp := make([]float64, g.Len())
	for c := range lp {
		lp[c] = 1 / float64(1+c%17)
	}
	scale := [4]float64{0.1, 1, 0.5, 0}
	idx, el := []int{0, 2, 3, 5}, make([]float64, 4)
	for _, f := range []struct {
		name string
		f    func(*Grid, []float64, *[4]float64, []int, []float64) float64
	}{{"registers", weightedL}, {"loop", weightedLLoop}} {
		b.Run(f.name, func(b *testing.B) {
			for b.Loop() {
				clear(el)
				f.f(g, lp, &scale, idx, el)
			}
		})
	}
}
