package locate

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLog10sMatchesLog10 compares log10s with math.Log10 bit for bit, in
// slices of 1 to 9 values (the AVX2 kernel's fours and the scalar tail,
// with avx2 on and off): random doubles of every exponent, the mantissas
// around √2/2 (where the reduction chooses), powers of two and their
// neighbours, and the special values (alone and among normal ones).
func TestLog10sMatchesLog10(t *testing.T) {
	var xs []float64
	for _, x := range []float64{0, math.Copysign(0, -1), -1, 1, 2, 0.5, 0.01, 10, 100, 1e300,
		math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64, 0x1p-1022, 0x1p-1023,
		math.MaxFloat64, -math.MaxFloat64} {
		xs = append(xs, x)
	}
	h := math.Float64bits(logHSqrt2)
	for e := -1022; e <= 1023; e++ {
		p := math.Ldexp(1, e)
		xs = append(xs, p, math.Nextafter(p, 0), math.Nextafter(p, math.Inf(1)))
		for d := -4; d <= 4; d++ {
			xs = append(xs, math.Ldexp(math.Float64frombits(h+uint64(d)), e+1))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300_000 {
		xs = append(xs, math.Float64frombits(r.Uint64()&^(1<<63)), 0.01+r.Float64()*1e4,
			math.Float64frombits(r.Uint64()))
	}
	has := avx2
	defer func() { avx2 = has }()
	if !has {
		t.Log("no AVX2: the scalar loop only")
	}
	for _, vec := range []bool{false, true} {
		avx2 = vec && has
		y := make([]float64, 9)
		for i := 0; i < len(xs); {
			n := min(1+r.IntN(9), len(xs)-i)
			x := xs[i : i+n]
			log10s(y, x)
			for j, v := range x {
				got, want := y[j], math.Log10(v)
				if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
					t.Fatalf("avx2 %v: log10s of %v (%#x) = %v (%#x), math.Log10 %v (%#x)", avx2, v,
						math.Float64bits(v), got, math.Float64bits(got), want, math.Float64bits(want))
				}
			}
			i += n
		}
	}
}
