package locate

import "math"

// shape is the part of a track's 2-D position covariance that its two axis
// filters do not carry. Both axes take one isotropic measurement variance
// r = tr(R)/2 from a fix of covariance R, so they have the same gains
// K = [kp kv]ᵀ; the covariance of the track's (x, y) errors under the fixes'
// true R (the Joseph form of that suboptimal filter) is then, per [pp pv vv]
// block,
//
//	Pxx = P + D,  Pyy = P − D,  Pxy = C
//
// where P is the axis filters' own covariance and D, C follow
//
//	predict: M ← F M Fᵀ                       (Q is the same on both axes)
//	update:  M ← (I−KH) M (I−KH)ᵀ + K Kᵀ ρ    (ρ = (Rxx−Ryy)/2 for D, Rxy for C)
//
// The positions do not depend on it: it only shapes the published err.
type shape struct {
	d, c [3]float64 // [pp pv vv] of D and C
}

// reset starts the shape at a fix of covariance cov, scaled by k (the
// gate's inflation of r).
func (s *shape) reset(cov [3]float64, k float64) {
	*s = shape{d: [3]float64{k * (cov[0] - cov[2]) / 2}, c: [3]float64{k * cov[1]}}
}

// predict moves the shape dt seconds ahead: M ← F M Fᵀ, F = [1 dt; 0 1].
func (s *shape) predict(dt float64) {
	for _, m := range [2]*[3]float64{&s.d, &s.c} {
		m[0] += 2*dt*m[1] + dt*dt*m[2]
		m[1] += dt * m[2]
	}
}

// update takes a fix of covariance cov, scaled by k, with the axis
// filters' gains kp, kv.
func (s *shape) update(cov [3]float64, k, kp, kv float64) {
	rho := [2]float64{k * (cov[0] - cov[2]) / 2, k * cov[1]}
	for i, m := range [2]*[3]float64{&s.d, &s.c} {
		a, b, c := m[0], m[1], m[2]
		m[0] = (1-kp)*(1-kp)*a + kp*kp*rho[i]
		m[1] = (1-kp)*(b-kv*a) + kp*kv*rho[i]
		m[2] = kv*kv*a - 2*kv*b + c + kv*kv*rho[i]
	}
}

// errRadius returns the radius about the position that holds 1 − e^(−1/2)
// (39.3%) of a 2-D Gaussian error of per-axis mean variance pp and
// deviatoric parts d, c (eigenvalues λ = pp ± √(d² + c²)): for an isotropic
// error it is the 1-sigma √pp; for an elongated one it is less than
// √((λ₁+λ₂)/2), which would hold up to 52% (the 1-D limit P(|z| < 1/√2)).
//
//	r = √λ₁ · g(λ₂/λ₁)
//
// with g tabulated at init from P(λ₁z₁² + λ₂z₂² ≤ r²) = 1 − e^(−1/2).
func errRadius(pp, d, c float64) float64 {
	pp = math.Max(pp, 0)
	h := math.Min(math.Hypot(d, c), pp)
	l1, l2 := pp+h, pp-h
	if l1 <= 0 {
		return 0
	}
	u := l2 / l1 * float64(len(radiusTab)-1)
	i := min(int(u), len(radiusTab)-2)
	f := u - float64(i)
	return math.Sqrt(l1) * (radiusTab[i]*(1-f) + radiusTab[i+1]*f)
}

// radiusTab is g(κ) at κ = i/64: the 39.3% radius of a Gaussian of axis
// variances 1 and κ, from massRadius (shape_test.go checks it):
//
//	P(z₁² + κz₂² ≤ g²) = 1/(2π√κ) ∫₀^{2π} (1 − e^(−g²q(θ)/2)) / q(θ) dθ = 1 − e^(−1/2)
//
// with q(θ) = cos²θ + sin²θ/κ (polar coordinates); g(0) = √2 erf⁻¹(1 − e^(−1/2)), the 1-D limit.
var radiusTab = [65]float64{
	0.515032, 0.530622, 0.547494, 0.565174, 0.582509, 0.598974, 0.614451, 0.628979,
	0.642642, 0.655532, 0.667733, 0.679323, 0.690365, 0.700916, 0.711025, 0.720733,
	0.730076, 0.739086, 0.747790, 0.756213, 0.764376, 0.772297, 0.779994, 0.787482,
	0.794774, 0.801883, 0.808820, 0.815595, 0.822217, 0.828694, 0.835035, 0.841246,
	0.847333, 0.853304, 0.859162, 0.864915, 0.870565, 0.876119, 0.881579, 0.886950,
	0.892236, 0.897440, 0.902565, 0.907613, 0.912589, 0.917494, 0.922332, 0.927104,
	0.931812, 0.936460, 0.941048, 0.945579, 0.950055, 0.954477, 0.958847, 0.963167,
	0.967438, 0.971661, 0.975838, 0.979970, 0.984059, 0.988105, 0.992110, 0.996075,
	1.000000,
}
