//go:build goexperiment.simd && amd64

package locate

import (
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
	checkFixesBitExact(t, rand.New(rand.NewPCG(10, 11)), func(fast bool) { simd8 = fast }, "vector")
}
