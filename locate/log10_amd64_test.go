//go:build amd64

package locate

import (
	"math"
	"testing"
)

// TestLog10x4Special checks that log10x4 flags exactly the fours with a
// value that is not a positive normal finite number (log10s then takes
// them to math.Log10), so that the normal ones stay on the kernel.
func TestLog10x4Special(t *testing.T) {
	if !avx2 {
		t.Skip("no AVX2")
	}
	var y [4]float64
	for _, v := range []float64{0.01, 1, 0x1p-1022, math.MaxFloat64, 3e5} {
		if log10x4(&y[0], &[]float64{1, v, 2, 3}[0], 4) != 0 {
			t.Errorf("%v flagged", v)
		}
	}
	for _, v := range []float64{0, math.Copysign(0, -1), -1, 0x1p-1023, math.Inf(1), math.Inf(-1), math.NaN()} {
		if log10x4(&y[0], &[]float64{1, 2, v, 3}[0], 4) == 0 {
			t.Errorf("%v not flagged", v)
		}
	}
}
