//go:build amd64

package locate

import "math"

// logAsm is whether math.Log is Go's amd64 assembly (archLog), whose
// operations log10s repeats.
const logAsm = true

// logConst holds log10x4's constants, 4 lanes each (log10_amd64.s
// addresses them by offset).
var logConst = func() (c [19][4]float64) {
	v := []float64{
		math.Float64frombits(1<<52 - 1),          // 0: the mantissa's bits
		0.5,                                      // 32
		math.Float64frombits(0x433 << 52),        // 64: 2⁵², whose low bits take the exponent
		0x1p52 + 0x3fe,                           // 96: 2⁵² + 1022
		logHSqrt2,                                // 128
		1,                                        // 160
		2,                                        // 192
		logL7,                                    // 224
		logL5,                                    // 256
		logL3,                                    // 288
		logL1,                                    // 320
		logL6,                                    // 352
		logL4,                                    // 384
		logL2,                                    // 416
		logLn2Lo,                                 // 448
		logLn2Hi,                                 // 480
		1 / math.Ln10,                            // 512
		math.Float64frombits(0x0010000000000000), // 544: the least normal's bits
		math.MaxFloat64,                          // 576: the greatest finite
	}
	for i, x := range v {
		c[i] = [4]float64{x, x, x, x}
	}
	return c
}()

// log10x4 does log10s' operations for x[0:n], 4 at a time (n a multiple of
// 4), into y; it returns not 0 when some x[j] was not a positive normal
// finite number (whose y[j] is then wrong).
//
//go:noescape
func log10x4(y, x *float64, n int) int
