package locate

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// normalEq holds the normal equations of a Levenberg–Marquardt step in x,
// y and, with the transmit offset, b: the upper triangle of the symmetric
// matrix A and the right-hand side g (see Solver.normal).
type normalEq struct {
	a00, a01, a02, a11, a12, a22 float64
	g0, g1, g2                   float64
}

// solveDamped solves (A + λ diag A) δ = g, A of order dim (2 or 3), by
// Cholesky, A = UᵀU. It does the operations of LAPACK's unblocked
// algorithm as gonum runs it (lapack64.Potrf and Potrs on the upper
// triangle: dpotf2, dtrsm), in the same order, so the steps are the same to
// the bit, without the general routines' overhead; ok is false when the
// matrix is not positive definite (the diagonal element that failed is ≤ 0
// or NaN), as Potrf reports it.
//
//	u_jj = √(a_jj - Σ_{p<j} u_pj²),  u_jk = (a_jk - Σ_{p<j} u_pj u_pk) · (1/u_jj)
//
// then Uᵀz = g forwards and Uδ = z backwards, each division a
// multiplication by the reciprocal of the diagonal element.
func (e *normalEq) solveDamped(lambda float64, dim int) (d0, d1, d2 float64, ok bool) {
	f := 1 + lambda
	// j = 0
	ajj := e.a00 * f
	if ajj <= 0 || math.IsNaN(ajj) {
		return 0, 0, 0, false
	}
	u00 := math.Sqrt(ajj)
	r := 1 / u00
	u01 := e.a01 * r
	// j = 1
	ajj = e.a11*f - u01*u01
	if ajj <= 0 || math.IsNaN(ajj) {
		return 0, 0, 0, false
	}
	u11 := math.Sqrt(ajj)
	b0, b1 := e.g0, e.g1
	if dim == 2 {
		// Uᵀz = g
		b0 *= 1 / u00
		if u01 != 0 {
			b1 += -u01 * b0
		}
		b1 *= 1 / u11
		// Uδ = z
		b1 *= 1 / u11
		if u01 != 0 {
			b0 += -u01 * b1
		}
		b0 *= 1 / u00
		return b0, b1, 0, true
	}
	u02 := e.a02 * r
	u12 := (e.a12 + (-1*u01)*u02) * (1 / u11)
	// j = 2: the dot product of column 2 above the diagonal, as gonum's
	// DotInc sums two terms
	ajj = e.a22*f - (u02*u02 + u12*u12)
	if ajj <= 0 || math.IsNaN(ajj) {
		return 0, 0, 0, false
	}
	u22 := math.Sqrt(ajj)
	b2 := e.g2
	// Uᵀz = g
	b0 *= 1 / u00
	if u01 != 0 {
		b1 += -u01 * b0
	}
	if u02 != 0 {
		b2 += -u02 * b0
	}
	b1 *= 1 / u11
	if u12 != 0 {
		b2 += -u12 * b1
	}
	b2 *= 1 / u22
	// Uδ = z
	b2 *= 1 / u22
	if u12 != 0 {
		b1 += -u12 * b2
	}
	b1 *= 1 / u11
	if u01 != 0 {
		b0 += -u01 * b1
	}
	if u02 != 0 {
		b0 += -u02 * b2
	}
	b0 *= 1 / u00
	return b0, b1, b2, true
}

// sym writes A into a (of order 2 or 3).
func (e *normalEq) sym(a *mat.SymDense) {
	a.SetSym(0, 0, e.a00)
	a.SetSym(0, 1, e.a01)
	a.SetSym(1, 1, e.a11)
	if a.SymmetricDim() == 3 {
		a.SetSym(0, 2, e.a02)
		a.SetSym(1, 2, e.a12)
		a.SetSym(2, 2, e.a22)
	}
}
