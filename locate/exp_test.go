package locate

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpNeg(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	for i := 0; i < 1_000_000; i++ {
		x := -30 * rng.Float64()
		if i%10 == 0 {
			x = -700 * rng.Float64()
		}
		want := math.Exp(x)
		rel := math.Abs(expNeg(x)-want) / want
		worst = math.Max(worst, rel)
	}
	for _, x := range []float64{0, -1e-300, -math.Ln2, -25, -700} {
		if rel := math.Abs(expNeg(x)-math.Exp(x)) / math.Exp(x); rel > worst {
			worst = rel
		}
	}
	if worst > 1e-15 {
		t.Fatalf("expNeg: worst relative error %.3g against math.Exp", worst)
	}
	t.Logf("worst relative error %.3g", worst)
}

func BenchmarkExpNeg(b *testing.B) {
	xs := make([]float64, 1024)
	for i := range xs {
		xs[i] = -25 * float64(i) / 1024
	}
	var s float64
	for b.Loop() {
		for _, x := range xs {
			s += expNeg(x)
		}
	}
	_ = s
}

func BenchmarkMathExp(b *testing.B) {
	xs := make([]float64, 1024)
	for i := range xs {
		xs[i] = -25 * float64(i) / 1024
	}
	var s float64
	for b.Loop() {
		for _, x := range xs {
			s += math.Exp(x)
		}
	}
	_ = s
}

// TestWeightsMatchExpNeg checks the grid's weight loop, which writes expNeg
// out, against expNeg itself bit for bit.
func TestWeightsMatchExpNeg(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	lp := make([]float64, 5000)
	idet := make([]float64, len(lp))
	want := make([]float64, len(lp))
	const best0 = 3.25
	for i := range lp {
		lp[i] = best0 - 40*rng.Float64()
		idet[i] = 1e-3 + rng.Float64()
		if d := lp[i] - best0; d >= -cutoff {
			want[i] = expNeg(d) * math.Sqrt(idet[i])
		}
	}
	weights(lp, idet, best0)
	for i := range lp {
		if math.Float64bits(lp[i]) != math.Float64bits(want[i]) {
			t.Fatalf("cell %d: weight %v, expNeg gives %v", i, lp[i], want[i])
		}
	}
}
