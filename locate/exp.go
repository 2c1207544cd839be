package locate

import "math"

// expNeg returns e^x for x in [-700, 0], to within about 2 ulp of math.Exp:
// the grid posterior's weights, where the exponential is most of a cell's
// cost. x = (k/64) ln 2 + r with k = round(64 x / ln 2), |r| ≤ ln 2/128, so
// e^x = 2^(k>>6) · 2^((k&63)/64) · e^r, the middle factor from a table and
// e^r from its Taylor polynomial of degree 5 (truncation below 4e-17).
func expNeg(x float64) float64 {
	const (
		invLn2N = expTabN / math.Ln2
		// ln 2 / 64 in two parts: hi has zeros in its low bits, so kf*hi
		// is exact for the k that occur here.
		ln2HiN  = 0x1.62e42fefa0000p-7
		ln2LoN  = (math.Ln2 - 0x1.62e42fefa0000p-1) / expTabN
		shifter = 0x1.8p52 // adding it rounds to an integer
	)
	t := x*invLn2N + shifter
	k := int64(math.Float64bits(t) - math.Float64bits(shifter))
	kf := t - shifter
	r := (x - kf*ln2HiN) - kf*ln2LoN
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120)))))
	scale := math.Float64frombits(math.Float64bits(expTab[k&(expTabN-1)]) + uint64(k>>6)<<52)
	return scale * p
}

const expTabN = 64

// expTab[j] = 2^(j/64).
var expTab = func() (t [expTabN]float64) {
	for j := range t {
		t[j] = math.Exp2(float64(j) / expTabN)
	}
	return t
}()
