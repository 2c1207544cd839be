package locate

import (
	"math"

	"github.com/passant/passant/wire"
	"gonum.org/v1/gonum/lapack/gonum"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// The Solver's core: robust weighted least squares in the RSSI domain by
// Levenberg–Marquardt on gonum/mat (see Solver).

// lapackImpl is Gonum's LAPACK, called directly (lapack64 dispatches
// through an interface).
var lapackImpl gonum.Implementation

// Huber's threshold, in standard deviations of a reading.
const huberK = 1.0

// maxIter bounds the Levenberg–Marquardt iterations of one fix.
const maxIter = 20

// costStop ends a run once an accepted step lowers the robust cost by less
// than this (about nats): far inside the fix's error, and the point only
// centres the posterior's window.
const costStop = 1e-3

// LeastSquares returns the least-squares fix of b alone (no grid), for
// comparison and tests; false when b has no usable reading.
func (s *Solver) LeastSquares(b *Burst) (Fix, bool) {
	s.load(b)
	if s.k == 0 {
		return Fix{}, false
	}
	if s.k < 3 {
		return s.fallback(), true
	}
	return s.leastSquares(s.k >= 4), true
}

// cost evaluates the robust cost at (x, y, b) and fills the residuals'
// Jacobian rows and robust weights.
func (s *Solver) cost(x, y, b float64, jac bool) float64 {
	var c float64
	ok := false
	if jac && s.cinOK {
		// 4 readings at a time (costx4: costLoop's operations in each
		// lane); not for a point whose squared distances are NaN or
		// +Inf.
		c, ok = s.costAsm(x, y, b)
	}
	if !ok {
		c = s.costLoop(x, y, b, jac)
	}
	if tau := s.m.TxSigmaDB; tau > 0 {
		c += 0.5 * b * b / (tau * tau)
	}
	return c
}

// costLoop is cost's sum over the readings, one at a time.
func (s *Solver) costLoop(x, y, b float64, jac bool) float64 {
	m := s.m
	// The squared distances first, then their logarithms in one loop
	// (log10s; padded with 1s to a multiple of 4 for its AVX2 kernel),
	// then the readings' terms.
	k4 := (s.k + 3) &^ 3
	d2s, lg := s.d2[:k4], s.lg[:k4]
	for j := s.k; j < k4; j++ {
		d2s[j] = 1
	}
	for j := range s.k {
		se := &m.Sensors[s.idx[j]]
		dx, dy, dz := x-se.X, y-se.Y, m.PhoneZ-se.Z
		d2 := dx*dx + dy*dy + dz*dz
		if !(d2 >= 0.01) { // as max(d2, 0.01), NaN included
			d2 = max(d2, 0.01)
		}
		d2s[j] = d2
	}
	log10s(lg, d2s)
	var c float64
	for j := 0; j < s.k; j++ {
		se := &m.Sensors[s.idx[j]]
		dx, dy := x-se.X, y-se.Y
		d2 := d2s[j]
		f := se.RSSI1m - 5*(se.Exponent+s.dn)*lg[j] + b
		u := (s.y[j] - f) / s.sd[j]
		au := math.Abs(u)
		// Huber's term and weight, ½u² and 1 within k, k|u| - ½k² and
		// k/|u| beyond, chosen without a branch: which side a reading
		// falls is about as good as random, and the branch was
		// mispredicted often enough to be a fifth of cost's time.
		k := s.huber
		in := au <= k // false on NaN, as the branch's test
		c += pick(in, 0.5*u*u, k*au-0.5*k*k)
		if jac {
			hw := pick(in, 1, k/au)
			// ∂f/∂x = -10 n/ln10 · dx/d²
			kd := -dbPerNeper * (se.Exponent + s.dn) / d2
			s.jx[j] = kd * dx
			s.jy[j] = kd * dy
			s.w[j] = hw / s.v[j]
			s.r[j] = s.y[j] - f
		}
	}
	return c
}

// costRows fills s.cin, the readings' rows of costx4, n4 = k rounded up
// to 4 apart: sx, sy, dz², P, 5 c, -10/ln10 c, y, σ, σ² (c the exponent in
// force: the operands of costLoop); the lanes beyond k with numbers
// that keep each lane finite. Only on AVX2 (cinOK).
func (s *Solver) costRows() {
	s.cinOK = avx2 && logAsm
	if !s.cinOK {
		return
	}
	m := s.m
	n4 := (s.k + 3) &^ 3
	in := s.cin[:9*n4]
	for j := range n4 {
		if j >= s.k {
			for r := range 9 {
				in[r*n4+j] = 1
			}
			continue
		}
		se := &m.Sensors[s.idx[j]]
		dz := m.PhoneZ - se.Z
		c := se.Exponent + s.dn
		in[j], in[n4+j], in[2*n4+j] = se.X, se.Y, dz*dz
		in[3*n4+j], in[4*n4+j], in[5*n4+j] = se.RSSI1m, 5*c, -dbPerNeper*c
		in[6*n4+j], in[7*n4+j], in[8*n4+j] = s.y[j], s.sd[j], s.v[j]
	}
	s.setCostArgs(n4)
}

// pick returns a if c, else b, without a branch (a mask on the bits).
func pick(c bool, a, b float64) float64 {
	m := uint64(0)
	if c {
		m = ^uint64(0)
	}
	return math.Float64frombits(math.Float64bits(a)&m | math.Float64bits(b)&^m)
}

// leastSquares runs Levenberg–Marquardt from the weighted centroid.
// withB estimates the transmit offset b.
// lm runs Levenberg–Marquardt from (x, y) and returns the solution, its
// transmit offset and its cost; fresh is whether the Jacobian rows, weights
// and residuals cost left are the solution's (its last evaluation was the
// accepted step, or the start).
func (s *Solver) lm(x, y float64, withB bool) (_, _, _, _ float64, fresh bool) {
	b := 0.0
	dim, slot := 2, 0
	if withB {
		dim, slot = 3, 1
	}
	a, g, d, fw := s.a[slot], s.g[slot], s.d[slot], s.f[slot]
	// The workspaces' storage, copied as slices: mat's CopySym and
	// CopyVec cost more than the factorisation of a 3×3 matrix.
	ar, fr := a.RawSymmetric(), fw.RawSymmetric()
	gv, dv := g.RawVector().Data[:dim], d.RawVector().Data[:dim]
	tau2 := s.m.TxSigmaDB * s.m.TxSigmaDB
	lambda := 1e-3
	c := s.cost(x, y, b, true)
	fresh = true
	bounds := s.m.Bounds
	for it := 0; it < maxIter; it++ {
		s.normal(a, g, withB, b, tau2)
		improved := false
		for try := 0; try < 8; try++ {
			// Solve (A + λ diag A) δ = g by Cholesky (Gonum's LAPACK,
			// potf2/potrs, on the preallocated workspace).
			copy(fr.Data, ar.Data)
			for i := 0; i < dim; i++ {
				fr.Data[i*fr.Stride+i] = ar.Data[i*ar.Stride+i] * (1 + lambda)
			}
			copy(dv, gv)
			// Dpotrf itself for a matrix this small (up to its block
			// size, 64): Dpotf2, without the block size's look-up.
			if !lapackImpl.Dpotf2(fr.Uplo, dim, fr.Data, fr.Stride) {
				lambda *= 10
				continue
			}
			lapackImpl.Dpotrs(fr.Uplo, dim, 1, fr.Data, fr.Stride, dv, 1)
			nx, ny, nb := x+dv[0], y+dv[1], b
			if withB {
				nb += dv[2]
			}
			p := bounds.Clamp(wire.Point{nx, ny})
			nx, ny = p[0], p[1]
			if nx == x && ny == y && nb == b {
				// The clamp took the trial back to the current point (a
				// corner of the bounds): its cost would be c again, and
				// refused; the rows it would fill are never read after a
				// refusal (the next success fills them, finish redoes
				// them otherwise).
				fresh = false
				lambda *= 10
				continue
			}
			// The trial fills the Jacobian rows: the normal matrix of
			// this iteration is built already, and the next one needs
			// them at the accepted point.
			nc := s.cost(nx, ny, nb, true)
			fresh = nc < c
			if nc < c {
				step := math.Abs(nx-x) + math.Abs(ny-y)
				drop := c - nc
				x, y, b, c = nx, ny, nb, nc
				// λ comes down only after a first trial's success:
				// against a bound or in a flat valley, dividing it
				// after every success refused every other trial.
				if try == 0 {
					lambda = max(lambda/10, 1e-7)
				}
				improved = true
				if step < 0.02 || drop < costStop {
					it = maxIter
				}
				break
			}
			lambda *= 10
		}
		if !improved {
			break
		}
	}
	return x, y, b, c, fresh
}

// leastSquares fits the burst's readings; withB estimates the transmit
// offset too.
func (s *Solver) leastSquares(withB bool) Fix {
	x, y, b, fresh := s.lsPoint(withB)
	return s.finish(x, y, b, withB, fresh)
}

// lsPoint is leastSquares' solution without its covariance (finish): its
// point, transmit offset and whether lm's last evaluation was there.
func (s *Solver) lsPoint(withB bool) (x, y, b float64, fresh bool) {
	// Two starts: the weighted centroid, and beyond the loudest sensor as
	// seen from the centroid (a phone outside the sensors' hull is
	// otherwise caught in the mirror minimum inside it: the loud sensor's
	// rising model makes a ridge between). The lower cost wins.
	for j := 0; j < s.k; j++ {
		s.sd[j] = math.Sqrt(s.v[j])
	}
	s.costRows()
	x, y = s.centroid()
	x, y, b, c, fresh := s.lm(x, y, withB)
	if c <= goodFit*float64(s.k) {
		return x, y, b, fresh
	}
	loud := 0
	for j := 1; j < s.k; j++ {
		if s.y[j] > s.y[loud] {
			loud = j
		}
	}
	se := &s.m.Sensors[s.idx[loud]]
	x0, y0 := se.X-0.5*(x-se.X), se.Y-0.5*(y-se.Y)
	x2, y2, b2, c2, fresh2 := s.lm(x0, y0, withB)
	fresh = false // the second start's evaluations came after the first's
	if c2 < c-startMargin {
		x, y, b, fresh = x2, y2, b2, fresh2
	}
	return x, y, b, fresh
}

// finish returns the fix at a least-squares solution, with its covariance.
// fresh: the last cost evaluation was at (x, y, b) (lm), so its Jacobian
// rows, weights and residuals stand (the same numbers again otherwise).
func (s *Solver) finish(x, y, b float64, withB bool, fresh bool) Fix {
	slot := 0
	if withB {
		slot = 1
	}
	a, g, fw := s.a[slot], s.g[slot], s.f[slot]
	tau2 := s.m.TxSigmaDB * s.m.TxSigmaDB
	bounds := s.m.Bounds
	// Covariance: the inverse of the (robustly weighted) information
	// matrix at the solution; its xy block is the marginal covariance.
	if !fresh {
		s.cost(x, y, b, true)
	}
	s.normal(a, g, withB, b, tau2)
	f := Fix{X: x, Y: y, N: s.k}
	fr := fw.RawSymmetric()
	copy(fr.Data, a.RawSymmetric().Data)
	if t, ok := lapack64.Potrf(fr); ok {
		if inv, ok := lapack64.Potri(t); ok {
			f.Cov = [3]float64{inv.Data[0], inv.Data[1], inv.Data[inv.Stride+1]}
		}
	}
	if !(f.Cov[0] > 0 && f.Cov[2] > 0) {
		big := diag2(bounds)
		f.Cov = [3]float64{big, 0, big}
	}
	f.Err = errOf(f.Cov, bounds)
	return f
}

// normal fills a = JᵀWJ (+ the prior on b) and g = JᵀW r (- b/τ²) at the
// current point, from the Jacobian rows and weights cost left.
func (s *Solver) normal(a *mat.SymDense, g *mat.VecDense, withB bool, b, tau2 float64) {
	var axx, axy, ayy, axb, ayb, abb, gx, gy, gb float64
	for j := 0; j < s.k; j++ {
		w := s.w[j]
		r := s.r[j]
		jx, jy := s.jx[j], s.jy[j]
		axx += w * jx * jx
		axy += w * jx * jy
		ayy += w * jy * jy
		gx += w * jx * r
		gy += w * jy * r
		if withB {
			axb += w * jx
			ayb += w * jy
			abb += w
			gb += w * r
		}
	}
	a.SetSym(0, 0, axx+1e-9)
	a.SetSym(0, 1, axy)
	a.SetSym(1, 1, ayy+1e-9)
	g.SetVec(0, gx)
	g.SetVec(1, gy)
	if withB {
		if tau2 > 0 {
			abb += 1 / tau2
			gb -= b / tau2
		}
		a.SetSym(0, 2, axb)
		a.SetSym(1, 2, ayb)
		a.SetSym(2, 2, abb)
		g.SetVec(2, gb)
	}
}

// startMargin is how much lower (in units of the robust cost, about nats)
// the second start's minimum must be to beat the centroid's: inside the
// sensors' hull is where the prior puts most people.
const startMargin = 1.0

// goodFit is the cost per reading below which the first start's fit is
// taken without trying the second: the residuals are as small as the noise.
const goodFit = 0.5
