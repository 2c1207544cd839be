//go:build goexperiment.simd && amd64

package locate

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGridVectorBitExact checks that the vector posterior gives the scalar
// one's fixes to the bit: whole-grid and windowed fixes (least squares
// first, windows of any width), silent sensors, side priors, offsets.
func TestGridVectorBitExact(t *testing.T) {
	if !simd8 {
		t.Skip("no AVX-512 here: the vector path does not run")
	}
	defer func() { simd8 = true }()
	m := testSite(t)
	m.MissDBm = -80
	rng := rand.New(rand.NewPCG(10, 11))
	s := NewSolver(m)
	s.SetExponentShift(0.2)
	s.SetSideOffset(SideOutside, -3)
	type result struct {
		f     Fix
		post  Sides
		off   Sides
		okOff bool
	}
	run := func(b *Burst, prior *Sides) result {
		var r result
		r.f, _ = s.LocateSides(b, prior, &r.post)
		r.off, r.okOff = s.OffsetEstimates()
		return r
	}
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
	}
	windows := 0
	for n := 0; n < 300; n++ {
		b := burstAt(m, -2+24*rng.Float64(), -6+19*rng.Float64(), 4, 3*rng.NormFloat64(), rng)
		if n%3 != 0 {
			rng.Shuffle(len(b.Readings), func(i, j int) { b.Readings[i], b.Readings[j] = b.Readings[j], b.Readings[i] })
			b.Readings = b.Readings[:1+rng.IntN(len(b.Readings))]
		}
		var prior *Sides
		if n%2 == 0 {
			prior = &Sides{0.2, 0.5, 0.3}
		}
		simd8 = false
		want := run(b, prior)
		simd8 = true
		got := run(b, prior)
		if s.winFix {
			windows++
		}
		w, g := want.f, got.f
		ok := same(w.X, g.X) && same(w.Y, g.Y) && same(w.Err, g.Err) && w.N == g.N
		for i := range 3 {
			ok = ok && same(w.Cov[i], g.Cov[i]) && same(want.post[i], got.post[i]) && same(want.off[i], got.off[i])
		}
		if !ok || want.okOff != got.okOff {
			t.Fatalf("burst %d: vector %+v, scalar %+v", n, got, want)
		}
	}
	if windows == 0 {
		t.Error("no windowed fix: the test misses that path")
	}
}
