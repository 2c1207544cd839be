package locate

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sameBits reports whether a and b are the same float64 to the bit (NaNs
// alike).
func sameBits(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// checkFixesBitExact locates 300 bursts on the test site with a fast path
// off and on (set) and fails unless both give the same fixes, side
// posteriors and offset estimates to the bit: whole-grid and windowed
// fixes (least squares first, windows of any width), silent sensors, side
// priors. what names the fast path in the failure.
func checkFixesBitExact(t *testing.T, rng *rand.Rand, set func(fast bool), what string) {
	t.Helper()
	m := testSite(t)
	m.MissDBm = -80
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
		set(false)
		want := run(b, prior)
		set(true)
		got := run(b, prior)
		if s.winFix {
			windows++
		}
		w, g := want.f, got.f
		ok := sameBits(w.X, g.X) && sameBits(w.Y, g.Y) && sameBits(w.Err, g.Err) && w.N == g.N
		for i := range 3 {
			ok = ok && sameBits(w.Cov[i], g.Cov[i]) && sameBits(want.post[i], got.post[i]) && sameBits(want.off[i], got.off[i])
		}
		if !ok || want.okOff != got.okOff {
			t.Fatalf("burst %d: %s %+v, scalar %+v", n, what, got, want)
		}
	}
	if windows == 0 {
		t.Error("no windowed fix: the test misses that path")
	}
}
