package locate

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// TestSolveDampedMatchesLapack checks solveDamped against gonum's Potrf and
// Potrs bit for bit, on random normal matrices (some not positive definite)
// of order 2 and 3.
func TestSolveDampedMatchesLapack(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	fails := 0
	for n := 0; n < 20000; n++ {
		dim := 2 + n%2
		// JᵀJ of a random Jacobian, sometimes made indefinite, sometimes
		// with a zero off-diagonal element.
		var e normalEq
		rows := 1 + rng.IntN(5)
		for r := 0; r < rows; r++ {
			j := [3]float64{rng.NormFloat64(), rng.NormFloat64(), 1}
			e.a00 += j[0] * j[0]
			e.a01 += j[0] * j[1]
			e.a11 += j[1] * j[1]
			e.a02 += j[0] * j[2]
			e.a12 += j[1] * j[2]
			e.a22 += j[2] * j[2]
		}
		switch rng.IntN(6) {
		case 0:
			e.a11 -= 3 * rng.Float64()
		case 1:
			e.a01 = 0
		case 2:
			e.a12 = 0
		}
		e.g0, e.g1, e.g2 = rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
		lambda := math.Pow(10, -7+7*rng.Float64())

		a := mat.NewSymDense(dim, nil)
		e.sym(a)
		for i := 0; i < dim; i++ {
			a.SetSym(i, i, a.At(i, i)*(1+lambda))
		}
		g := []float64{e.g0, e.g1, e.g2}[:dim]
		tri, ok := lapack64.Potrf(a.RawSymmetric())
		d0, d1, d2, ok2 := e.solveDamped(lambda, dim)
		if ok != ok2 {
			t.Fatalf("case %d: positive definite %v, lapack %v", n, ok2, ok)
		}
		if !ok {
			fails++
			continue
		}
		lapack64.Potrs(tri, blas64.General{Rows: dim, Cols: 1, Stride: 1, Data: g})
		got := []float64{d0, d1, d2}[:dim]
		for i := range g {
			if math.Float64bits(got[i]) != math.Float64bits(g[i]) {
				t.Fatalf("case %d (order %d): δ%d = %v, lapack %v", n, dim, i, got[i], g[i])
			}
		}
	}
	if fails == 0 {
		t.Error("no case was not positive definite: the test misses that path")
	}
}
