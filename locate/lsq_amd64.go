//go:build amd64

package locate

import "math"

// logAsm is whether math.Log is Go's amd64 assembly (archLog), whose
// operations log10s repeats.
const logAsm = true

// logConst holds log10x4's and costx4's constants, 4 lanes each
// (lsq_amd64.s addresses them by offset).
var logConst = func() (c [21][4]float64) {
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
		0.01,                                     // 608: cost's least d²
		math.Float64frombits(1<<63 - 1),          // 640: all but the sign
	}
	for i, x := range v {
		c[i] = [4]float64{x, x, x, x}
	}
	return c
}()

// log10x4 does log10s' operations for x[0:n], 4 at a time (n a multiple of
// 4), into y; it returns not 0 when some x[j] was not a positive normal
// finite number (whose y[j] is then wrong). Its logarithm is costx4's
// (the macro LOG10), which TestLog10sMatchesLog10 checks here on the
// reduction's edges.
//
//go:noescape
func log10x4(y, x *float64, n int) int

// costArgs is what costx4 reads and writes; lsq_amd64.s addresses its
// fields by offset (TestCostArgsLayout). costRows sets it for a burst.
type costArgs struct {
	in              *float64 // 0: the readings' rows (Solver.cin)
	n4              int      // 8: readings, rounded up to 4: a row's length
	t, jx, jy, w, r *float64 // 16-48: out: Huber's terms, Jacobian rows, weights, residuals
	k               int      // 56: readings
	x, y, b         float64  // 64, 72, 80: the point and transmit offset
	hk, hk2         float64  // 88, 96: Huber's k and ½k·k
}

// costx4 does costLoop for the readings of a.in, 4 at a time, and
// returns the sum of their terms in order; special is not 0 when some
// squared distance was not a positive normal finite number (NaN, +Inf),
// whose lanes' outputs are then wrong.
//
//go:noescape
func costx4(a *costArgs) (c float64, special int)

// costAsm is costLoop on costx4 (false: not done, as costx4 cannot
// take the logarithm of some squared distance; the caller takes the loop).
func (s *Solver) costAsm(x, y, b float64) (float64, bool) {
	a := &s.ca
	a.x, a.y, a.b = x, y, b
	c, special := costx4(a)
	return c, special == 0
}

// setCostArgs points s.ca at the burst's rows and outputs.
func (s *Solver) setCostArgs(n4 int) {
	k := s.huber
	s.ca = costArgs{in: &s.cin[0], n4: n4, t: &s.lg[0], jx: &s.jx[0], jy: &s.jy[0], w: &s.w[0], r: &s.r[0],
		k: s.k, hk: k, hk2: 0.5 * k * k}
}
