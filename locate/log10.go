package locate

import "math"

// log10s sets y[j] = math.Log10(x[j]) for each j, for cost's squared
// distances. On amd64 math.Log is an assembly function (math.archLog),
// called through an ABI wrapper with the caller's values spilled around
// it, so one reading's logarithm could not overlap the next's; here the
// logarithms of a burst's readings are one loop without calls, 4 at a time
// on AVX2 (log10x4). For a positive normal finite x it does archLog's
// operations in archLog's order (FreeBSD's algorithm, as math.log, but
// with archLog's reduction: f1 ≤ √2/2, where math.log has f1 < √2/2),
// then math.Log10's multiplication by 1/ln 10, so the bits are the same
// (TestLog10sMatchesLog10); anything else (0, subnormal, negative, ±Inf,
// NaN) goes to math.Log10. Where math.Log is not archLog (logAsm false:
// other architectures, whose compilers may also fuse a multiply-add), it
// is math.Log10 throughout.
func log10s(y, x []float64) {
	y = y[:len(x)]
	j := 0
	if n4 := len(x) &^ 3; avx2 && logAsm && n4 > 0 && log10x4(&y[0], &x[0], n4) == 0 {
		j = n4 // else some x was not a positive normal number: all again
	}
	for ; j < len(x); j++ {
		v := x[j]
		bits := math.Float64bits(v)
		e := bits >> 52 // the sign bit too: a negative v is ≥ 0x800
		if !logAsm || e-1 >= 0x7fe {
			y[j] = math.Log10(v)
			continue
		}
		// f1, k = frexp(v); if f1 ≤ √2/2 { f1 *= 2; k-- }, without a
		// branch (which way it goes is as good as random).
		f1 := math.Float64frombits(bits&(1<<52-1) | 0x3fe<<52)
		lo := f1 <= logHSqrt2
		f := pick(lo, f1+f1, f1) - 1
		k := float64(int(e)-0x3fe) - pick(lo, 1, 0)
		s := f / (2 + f)
		s2 := s * s
		s4 := s2 * s2
		t1 := s2 * (logL1 + s4*(logL3+s4*(logL5+s4*logL7)))
		t2 := s4 * (logL2 + s4*(logL4+s4*logL6))
		r := t1 + t2
		hfsq := 0.5 * f * f
		y[j] = (k*logLn2Hi - ((hfsq - (s*(hfsq+r) + k*logLn2Lo)) - f)) * (1 / math.Ln10)
	}
}

// archLog's constants.
const (
	logHSqrt2 = 7.07106781186547524401e-01 // √2/2
	logLn2Hi  = 6.93147180369123816490e-01 // 0x3fe62e42fee00000
	logLn2Lo  = 1.90821492927058770002e-10 // 0x3dea39ef35793c76
	logL1     = 6.666666666666735130e-01   // 0x3FE5555555555593
	logL2     = 3.999999999940941908e-01   // 0x3FD999999997FA04
	logL3     = 2.857142874366239149e-01   // 0x3FD2492494229359
	logL4     = 2.222219843214978396e-01   // 0x3FCC71C51D8E78AF
	logL5     = 1.818357216161805012e-01   // 0x3FC7466496CB03DE
	logL6     = 1.531383769920937332e-01   // 0x3FC39A09D078C69F
	logL7     = 1.479819860511658591e-01   // 0x3FC2F112DF3E5244
)
