package wire

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// appendRoundedStrconv is AppendRounded without the integer digits: the
// shortest form by strconv.
func appendRoundedStrconv(dst []byte, f float64, decimals int) []byte {
	p := math.Pow10(decimals)
	r := math.Round(f*p) / p
	if r == 0 {
		r = 0
	}
	return AppendNumber(dst, r)
}

func checkRounded(t *testing.T, f float64, d int) {
	t.Helper()
	got, want := string(AppendRounded(nil, f, d)), string(appendRoundedStrconv(nil, f, d))
	if got != want {
		t.Fatalf("AppendRounded(%v (%#x), %d) = %s, strconv %s", f, math.Float64bits(f), d, got, want)
	}
}

func TestAppendRoundedMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	special := []float64{0, math.Copysign(0, -1), 0.0005, -0.0005, 0.0004999, -0.0004999, 0.0015, 1, -1, 0.1, 0.125,
		-0.125, 999.9995, 1e9 - 0.0005, -1e9 + 0.0005, 1e9, 1e12, -1e12, 999_999_999.9994, 4503599627370496.5,
		math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64, 123.456, -7.07}
	for d := -1; d <= 8; d++ {
		for _, f := range special {
			checkRounded(t, f, d)
		}
		// every m·10^-d near 0 and near the bound of the fast path, and
		// half-way points between them
		p := math.Pow10(d)
		for _, base := range []float64{0, 1e12 - 5000, -1e12 + 5000, 1e7, 123456789} {
			for k := -3000.0; k <= 3000; k++ {
				m := base + k
				checkRounded(t, m/p, d)
				checkRounded(t, (m+0.5)/p, d)
				checkRounded(t, math.Nextafter((m+0.5)/p, math.Inf(1)), d)
				checkRounded(t, math.Nextafter((m+0.5)/p, math.Inf(-1)), d)
			}
		}
		for range 200_000 {
			var f float64
			switch rng.IntN(4) {
			case 0: // metres on a site
				f = (rng.Float64() - 0.5) * 200
			case 1:
				f = (rng.Float64() - 0.5) * 2e9
			case 2: // any magnitude
				f = math.Float64frombits(rng.Uint64())
			default: // grid of millimetres and neighbours
				f = float64(rng.IntN(2_000_000)-1_000_000) / 1000
				f = math.Nextafter(f, f+float64(rng.IntN(3)-1))
			}
			checkRounded(t, f, d)
		}
	}
}

func FuzzAppendRounded(f *testing.F) {
	f.Add(1.2345, 3)
	f.Add(-0.0005, 3)
	f.Add(999999999.9995, 3)
	f.Fuzz(func(t *testing.T, v float64, d int) {
		checkRounded(t, v, d%10)
	})
}

// TestAppendQuoteIsJSON: every string is written as JSON that reads back
// as it (valid UTF-8) or as encoding/json's reading of its bytes.
func TestAppendQuoteIsJSON(t *testing.T) {
	var all []string
	for c := range 256 {
		all = append(all, string(rune(c)), "k"+string([]byte{byte(c)})+"x", string([]byte{byte(c)}))
	}
	all = append(all, "", "k0123456789ab", "store", "street west", "日本", "a\"b", `a\b`, "\x7f", "\u2028", "\U0001f600", "\u00ad")
	for _, s := range all {
		got := appendQuote([]byte("x"), s)
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil {
			t.Fatalf("appendQuote(%q) = %s: not JSON: %v", s, got, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("appendQuote(%q) = %s reads back as %q", s, got, back)
		}
	}
}
