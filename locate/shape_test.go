package locate

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRadiusTab recomputes radiusTab.
func TestRadiusTab(t *testing.T) {
	for i, g := range radiusTab {
		if w := massRadius(float64(i) / float64(len(radiusTab)-1)); math.Abs(g-w) > 1e-6 {
			t.Errorf("radiusTab[%d] = %.6f, want %.6f", i, g, w)
		}
	}
}

// massRadius solves P(z₁² + κz₂² ≤ r²) = 1 − e^(−1/2) for r by bisection,
// with, in polar coordinates (q(θ) = cos²θ + sin²θ/κ),
//
//	P = 1/(2π√κ) ∫₀^{2π} (1 − e^(−r²q(θ)/2)) / q(θ) dθ
//
// (the trapezoid rule on a periodic integrand; κ = 0 is the 1-D limit).
func massRadius(kappa float64) float64 {
	const target = 0.39346934028736658 // 1 - exp(-1/2)
	if kappa <= 0 {
		// P(|z| ≤ r) = erf(r/√2)
		return math.Sqrt2 * math.Erfinv(target)
	}
	const n = 512
	mass := func(r float64) float64 {
		var s float64
		for j := range n {
			th := 2 * math.Pi * (float64(j) + 0.5) / n
			cs, sn := math.Cos(th), math.Sin(th)
			q := cs*cs + sn*sn/kappa
			s += -math.Expm1(-r*r*q/2) / q
		}
		return s / n / math.Sqrt(kappa)
	}
	lo, hi := 0.0, 2.0
	for range 60 {
		mid := (lo + hi) / 2
		if mass(mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// TestErrRadius checks the 39.3% radius against its limits and against
// samples of an elongated Gaussian.
func TestErrRadius(t *testing.T) {
	if r := errRadius(4, 0, 0); math.Abs(r-2) > 1e-6 {
		t.Errorf("isotropic: %v, want 2", r)
	}
	// 1-D limit: P(|z| < r) = 0.393 at r ≈ 0.5147
	if r := errRadius(0.5, 0.5, 0); math.Abs(r-0.5147) > 1e-3 {
		t.Errorf("1-D: %v, want 0.5147", r)
	}
	// Axis variances 9 and 1, rotated 30°: the sampled coverage is 39.3%.
	l1, l2, th := 9.0, 1.0, math.Pi/6
	cs, sn := math.Cos(th), math.Sin(th)
	xx, yy, xy := l1*cs*cs+l2*sn*sn, l1*sn*sn+l2*cs*cs, (l1-l2)*cs*sn
	r := errRadius((xx+yy)/2, (xx-yy)/2, xy)
	rng := rand.New(rand.NewPCG(1, 2))
	in, n := 0, 200000
	for range n {
		a, b := math.Sqrt(l1)*rng.NormFloat64(), math.Sqrt(l2)*rng.NormFloat64()
		if math.Hypot(a*cs-b*sn, a*sn+b*cs) <= r {
			in++
		}
	}
	if p := float64(in) / float64(n); math.Abs(p-0.3935) > 0.005 {
		t.Errorf("coverage %.4f at r = %.3f, want 0.3935", p, r)
	}
	// the old sqrt(trace/2) covers far more
	if p := math.Sqrt((l1 + l2) / 2); p <= r {
		t.Errorf("radius %v not below sqrt(trace/2) = %v", r, p)
	}
}
