//go:build amd64

package locate

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/passant/passant/wire"
)

// TestCostArgsLayout checks the offsets lsq_amd64.s reads costArgs at.
func TestCostArgsLayout(t *testing.T) {
	var a costArgs
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"in", unsafe.Offsetof(a.in), 0}, {"n4", unsafe.Offsetof(a.n4), 8}, {"t", unsafe.Offsetof(a.t), 16},
		{"jx", unsafe.Offsetof(a.jx), 24}, {"jy", unsafe.Offsetof(a.jy), 32}, {"w", unsafe.Offsetof(a.w), 40},
		{"r", unsafe.Offsetof(a.r), 48}, {"k", unsafe.Offsetof(a.k), 56}, {"x", unsafe.Offsetof(a.x), 64},
		{"y", unsafe.Offsetof(a.y), 72}, {"b", unsafe.Offsetof(a.b), 80}, {"hk", unsafe.Offsetof(a.hk), 88},
		{"hk2", unsafe.Offsetof(a.hk2), 96},
	} {
		if c.got != c.want {
			t.Errorf("%s at %d, the assembly reads it at %d", c.name, c.got, c.want)
		}
	}
}

// TestCostAsmBitExact compares cost on costx4 with costLoop bit for
// bit (the cost, Jacobian rows, weights and residuals), on sites of 6 and
// 9 sensors (one to three fours of readings) with sensors of their own
// exponent, level and height: bursts of 1 to all readings, points inside
// and far outside the bounds, on a sensor (d² clamped to 0.01), NaN and
// beyond any distance (d² = +Inf, which costx4 leaves to the loop),
// Huber's threshold and +Inf (plain least squares). (At |u| = k both of
// Huber's branches give the same bits, ½k² and 1: k·k − ½k·k is exact.)
func TestCostAsmBitExact(t *testing.T) {
	if !avx2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	m6 := testSite(t)
	site9 := &wire.Site{Site: "t9", Bounds: wire.Rect{{-3, -7}, {33, 14}},
		Radio: wire.Radio{RSSI1m: -45, Exponent: 2.5, Offset5GHz: -6, PhoneZ: 1.2}}
	for i := range 9 {
		site9.Sensors = append(site9.Sensors, wire.Sensor{ID: string(rune('a' + i)), X: float64(4 * i), Y: float64(12 * (i % 2)), Z: 1.2 + float64(i%3)})
	}
	m9, err := NewModel(site9)
	if err != nil {
		t.Fatal(err)
	}
	asm := 0
	for _, m := range []*Model{m6, m9} {
		for i := range m.Sensors {
			m.Sensors[i].Exponent = 2 + rng.Float64()
			m.Sensors[i].RSSI1m = -50 + 10*rng.Float64()
		}
		s := NewSolver(m)
		n := len(m.Sensors)
		for range 20000 {
			b := burstAt(m, -2+30*rng.Float64(), -6+19*rng.Float64(), 4, 3*rng.NormFloat64(), rng)
			rng.Shuffle(len(b.Readings), func(i, j int) { b.Readings[i], b.Readings[j] = b.Readings[j], b.Readings[i] })
			b.Readings = b.Readings[:1+rng.IntN(n)]
			s.load(b)
			s.dn = 0.3 * rng.NormFloat64()
			s.huber = huberK
			if rng.IntN(5) == 0 {
				s.huber = math.Inf(1)
			}
			for j := range s.k {
				s.sd[j] = math.Sqrt(s.v[j])
			}
			s.costRows()
			x, y, tx := -3+36*rng.Float64(), -7+21*rng.Float64(), 5*rng.NormFloat64()
			switch rng.IntN(8) {
			case 0:
				se := m.Sensors[s.idx[rng.IntN(s.k)]]
				x, y = se.X, se.Y
			case 1:
				x, y = 1e4*rng.NormFloat64(), 1e4*rng.NormFloat64()
			case 2:
				x = math.NaN()
			case 3:
				y = 1e200
			}
			if _, ok := s.costAsm(x, y, tx); ok {
				asm++
			}
			got := s.cost(x, y, tx, true)
			gjx, gjy := append([]float64(nil), s.jx[:s.k]...), append([]float64(nil), s.jy[:s.k]...)
			gw, gr := append([]float64(nil), s.w[:s.k]...), append([]float64(nil), s.r[:s.k]...)
			s.cinOK = false
			want := s.cost(x, y, tx, true)
			ok := sameBits(got, want)
			for j := range s.k {
				ok = ok && sameBits(gjx[j], s.jx[j]) && sameBits(gjy[j], s.jy[j]) && sameBits(gw[j], s.w[j]) && sameBits(gr[j], s.r[j])
			}
			if !ok {
				t.Fatalf("%d sensors, %d readings at (%v, %v, %v), huber %v: costx4 %v jx %v jy %v w %v r %v; loop %v jx %v jy %v w %v r %v",
					n, s.k, x, y, tx, s.huber, got, gjx, gjy, gw, gr, want, s.jx[:s.k], s.jy[:s.k], s.w[:s.k], s.r[:s.k])
			}
		}
	}
	if asm < 20000 {
		t.Errorf("costx4 did only %d of 40,000 evaluations", asm)
	}
}
