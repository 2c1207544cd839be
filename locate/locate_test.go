package locate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/wire"
)

// testSite is a 20×12 m shop ringed by 6 sensors, with 6 m of street in
// front (y < 0).
func testSite(t testing.TB) *Model {
	t.Helper()
	site := &wire.Site{Site: "t", Bounds: wire.Rect{{-3, -7}, {23, 14}},
		Radio: wire.Radio{RSSI1m: -45, Exponent: 2.5, Offset5GHz: -6, PhoneZ: 1.2},
		Sensors: []wire.Sensor{
			{ID: "a", X: 0, Y: 0, Z: 2.5}, {ID: "b", X: 10, Y: 0, Z: 2.5}, {ID: "c", X: 20, Y: 0, Z: 2.5},
			{ID: "d", X: 0, Y: 12, Z: 2.5}, {ID: "e", X: 10, Y: 12, Z: 2.5}, {ID: "f", X: 20, Y: 12, Z: 2.5},
		},
		Zones: []wire.Zone{
			{ID: "street", Kind: wire.ZoneOutside, Polygon: []wire.Point{{-3, -7}, {23, -7}, {23, 0}, {-3, 0}}},
			{ID: "store", Kind: wire.ZoneStore, Polygon: []wire.Point{{0, 0}, {20, 0}, {20, 12}, {0, 12}}},
		},
	}
	m, err := NewModel(site)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// burstAt returns the readings of a phone at (x, y) with Gaussian noise of
// sigma dB and transmit offset tx.
func burstAt(m *Model, x, y, sigma, tx float64, rng *rand.Rand) *Burst {
	b := &Burst{SeqFirst: -1, SeqLast: -1}
	for i := range m.Sensors {
		b.Readings = append(b.Readings, Reading{Sensor: i, RSSI: m.Expected(i, x, y) + tx + noise(sigma, rng), N: 4})
	}
	return b
}

func TestLocateNoiseless(t *testing.T) {
	m := testSite(t)
	m.PointFix = true // the least-squares point itself
	s := NewSolver(m)
	for _, p := range [][2]float64{{3, 4}, {10, 6}, {17.5, 9}, {1, 11}} {
		b := burstAt(m, p[0], p[1], 0, 0, nil)
		f, ok := s.Locate(b)
		if !ok {
			t.Fatal("no fix")
		}
		if d := math.Hypot(f.X-p[0], f.Y-p[1]); d > 0.05 {
			t.Errorf("at %v: fix (%.3f, %.3f), %.3f m off", p, f.X, f.Y, d)
		}
		if f.N != 6 || !(f.Err > 0) {
			t.Errorf("at %v: N=%d Err=%v", p, f.N, f.Err)
		}
	}
	// The default fix, the posterior mean around it, is pulled a little
	// towards where the prior has mass, within its error.
	m.PointFix = false
	s = NewSolver(m)
	for _, p := range [][2]float64{{3, 4}, {10, 6}, {17.5, 9}, {1, 11}} {
		f, _ := s.Locate(burstAt(m, p[0], p[1], 0, 0, nil))
		if d := math.Hypot(f.X-p[0], f.Y-p[1]); d > f.Err || d > 1.5 {
			t.Errorf("at %v: posterior mean (%.2f, %.2f) %.2f m off, err %.2f", p, f.X, f.Y, d, f.Err)
		}
	}
}

func TestLocateTransmitOffset(t *testing.T) {
	m := testSite(t)
	s := NewSolver(m)
	// A phone 6 dB louder than the model: with the offset estimated the fix
	// stays close, where a fit without it would pull to the nearest sensor.
	b := burstAt(m, 6, 5, 0, 6, nil)
	f, _ := s.Locate(b)
	if d := math.Hypot(f.X-6, f.Y-5); d > 1.0 {
		t.Errorf("fix (%.2f, %.2f) is %.2f m off", f.X, f.Y, d)
	}
}

func TestLocateOneBadLink(t *testing.T) {
	m := testSite(t)
	s := NewSolver(m)
	b := burstAt(m, 12, 5, 0, 0, nil)
	b.Readings[5].RSSI -= 20 // a body between phone and sensor f
	f, _ := s.LeastSquares(b)
	d := math.Hypot(f.X-12, f.Y-5)
	if d > 2.5 {
		t.Errorf("fix (%.2f, %.2f) is %.2f m off with one bad link", f.X, f.Y, d)
	}
	s.huber = math.Inf(1)
	p, _ := s.LeastSquares(b)
	if dp := math.Hypot(p.X-12, p.Y-5); dp < 1.3*d {
		t.Errorf("plain least squares %.2f m off, Huber %.2f m: no gain from robustness", dp, d)
	}
}

func TestLocateNoReading(t *testing.T) {
	m := testSite(t)
	s := NewSolver(m)
	if _, ok := s.Locate(&Burst{}); ok {
		t.Error("fix from no readings")
	}
	if _, ok := s.Locate(&Burst{Readings: []Reading{{Sensor: 99, RSSI: -60, N: 1}, {Sensor: 0, RSSI: math.NaN(), N: 1}}}); ok {
		t.Error("fix from unusable readings")
	}
}

func TestLocateOneSensorSide(t *testing.T) {
	m := testSite(t)
	s := NewSolver(m)
	// Only the door sensor b at (10, 0) hears: loud means near, which the
	// prior puts mostly... either side; far and faint must not be deep in
	// the store's back when the street is nearer.
	near := &Burst{Readings: []Reading{{Sensor: 1, RSSI: m.Expected(1, 10, -1), N: 3}}}
	f, ok := s.Locate(near)
	if !ok || math.Hypot(f.X-10, f.Y) > 6 {
		t.Errorf("near one sensor: fix (%.2f, %.2f)", f.X, f.Y)
	}
	if f.N != 1 || f.Err < 1 {
		t.Errorf("one sensor: N=%d Err=%.2f, want a large error", f.N, f.Err)
	}
}

func TestLocateInsideBounds(t *testing.T) {
	m := testSite(t)
	s := NewSolver(m)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		x, y := -3+26*rng.Float64(), -7+21*rng.Float64()
		b := burstAt(m, x, y, 8, 6*rng.NormFloat64(), rng)
		f, _ := s.Locate(b)
		if !m.Bounds.Contains(wire.Point{f.X, f.Y}) || math.IsNaN(f.Err) {
			t.Fatalf("fix (%v, %v) err %v outside bounds %v", f.X, f.Y, f.Err, m.Bounds)
		}
	}
}

func TestCRLB(t *testing.T) {
	m := testSite(t)
	c := CRLB(m, 10, 6, 4)
	if !(c > 0.3 && c < 5) {
		t.Errorf("CRLB in the middle = %v", c)
	}
	if far := CRLB(m, 10, -6, 4); !(far > c) {
		t.Errorf("CRLB on the street %v not above the middle's %v", far, c)
	}
	// Scales with sigma.
	if c2 := CRLB(m, 10, 6, 8); math.Abs(c2-2*c) > 1e-9 {
		t.Errorf("CRLB(8 dB) = %v, want %v", c2, 2*c)
	}
}

// site8 is the 8-sensor site of the benchmarks and kernel tests: sensors
// 10 m apart in two rows 20 m apart, 2.5 m up; with zones, a street below
// y = 0 and the store (30 × 20 m) above it.
func site8(zones bool) *wire.Site {
	site := &wire.Site{Site: "b", Bounds: wire.Rect{{-3, -7}, {33, 24}},
		Radio: wire.Radio{RSSI1m: -45, Exponent: 2.5, PhoneZ: 1.2}}
	if zones {
		site.Zones = []wire.Zone{{ID: "street", Kind: wire.ZoneOutside, Polygon: []wire.Point{{-3, -7}, {33, -7}, {33, 0}, {-3, 0}}},
			{ID: "store", Kind: wire.ZoneStore, Polygon: []wire.Point{{0, 0}, {30, 0}, {30, 20}, {0, 20}}}}
	}
	for i := 0; i < 8; i++ {
		site.Sensors = append(site.Sensors, wire.Sensor{ID: string(rune('a' + i)), X: float64(i%4) * 10, Y: float64(i/4) * 20, Z: 2.5})
	}
	return site
}

// bursts8 are the benchmarks' 64 bursts (seeded): phones at x uniform in
// [2, 28] and y in [y0, y0+dy], 4 frames each, transmit offsets of σ 3 dB.
func bursts8(m *Model, y0, dy float64) []*Burst {
	rng := rand.New(rand.NewPCG(3, 4))
	bursts := make([]*Burst, 64)
	for i := range bursts {
		bursts[i] = burstAt(m, 2+26*rng.Float64(), y0+dy*rng.Float64(), 4, 3*rng.NormFloat64(), rng)
	}
	return bursts
}

func BenchmarkLeastSquares8(b *testing.B) {
	site := site8(false)
	m, _ := NewModel(site)
	s := NewSolver(m)
	bursts := bursts8(m, 2, 16)
	i := 0
	for b.Loop() {
		s.LeastSquares(bursts[i%len(bursts)])
		i++
	}
}

func BenchmarkGridPosterior8(b *testing.B) {
	site := site8(true)
	m, _ := NewModel(site)
	s := NewSolver(m)
	s.noLS = true
	bursts := bursts8(m, -5, 20)
	i := 0
	for b.Loop() {
		s.Locate(bursts[i%len(bursts)])
		i++
	}
}

func noise(sigma float64, rng *rand.Rand) float64 {
	if sigma == 0 {
		return 0
	}
	return sigma * rng.NormFloat64()
}

func TestLocateSilenceOfOtherSensors(t *testing.T) {
	m := testSite(t)
	m.MissDBm = -75 // weak sensors: their silence is telling in this small site
	s := NewSolver(m)
	// A phone on the street far to the left: only the left sensors hear it.
	b := &Burst{SeqFirst: -1, SeqLast: -1}
	for _, i := range []int{0, 3} {
		b.Readings = append(b.Readings, Reading{Sensor: i, RSSI: m.Expected(i, -2, -5), N: 4})
	}
	f, _ := s.Locate(b)
	// The same readings with the other sensors known to be offline say
	// less: nothing holds the fix to the left.
	b.Deaf = 1<<1 | 1<<2 | 1<<4 | 1<<5
	g, _ := s.Locate(b)
	t.Logf("listening: (%.1f, %.1f) err %.1f; offline: (%.1f, %.1f) err %.1f", f.X, f.Y, f.Err, g.X, g.Y, g.Err)
	if f.X > 3 || f.X > g.X-1 {
		t.Errorf("the silence of the right sensors did not move the fix left: %.1f vs %.1f", f.X, g.X)
	}
}

// BenchmarkLocate8 is the default fix of a phone inside the 8 sensors'
// hull: least squares, then the posterior mean on its side in a window
// around it.
func BenchmarkLocate8(b *testing.B) {
	site := site8(true)
	m, _ := NewModel(site)
	s := NewSolver(m)
	bursts := bursts8(m, 2, 16)
	i := 0
	for b.Loop() {
		s.Locate(bursts[i%len(bursts)])
		i++
	}
}

func TestLocateUnsortedDuplicateReadings(t *testing.T) {
	m := testSite(t)
	s := NewSolver(m)
	b := burstAt(m, 7, 4, 0, 0, nil)
	want, _ := s.Locate(b)
	// reversed, with a duplicate of sensor 2 (the first one counts)
	var r []Reading
	for i := len(b.Readings) - 1; i >= 0; i-- {
		r = append(r, b.Readings[i])
		if b.Readings[i].Sensor == 2 {
			r = append(r, Reading{Sensor: 2, RSSI: -30, N: 9})
		}
	}
	got, _ := s.Locate(&Burst{Readings: r})
	if math.Abs(got.X-want.X) > 1e-9 || math.Abs(got.Y-want.Y) > 1e-9 {
		t.Errorf("unsorted readings: (%v, %v), sorted: (%v, %v)", got.X, got.Y, want.X, want.Y)
	}
}

// FuzzLocate feeds arbitrary readings: a fix is finite, inside the bounds,
// with a positive error, whatever comes in.
func FuzzLocate(f *testing.F) {
	f.Add(int8(0), -60.0, uint8(3), int8(1), -70.0, uint8(1), int8(4), -85.0, uint8(2))
	f.Add(int8(2), 0.0, uint8(1), int8(2), -120.0, uint8(1), int8(9), -1e9, uint8(0))
	m := testSite(f)
	s := NewSolver(m)
	f.Fuzz(func(t *testing.T, s1 int8, r1 float64, n1 uint8, s2 int8, r2 float64, n2 uint8, s3 int8, r3 float64, n3 uint8) {
		b := &Burst{Readings: []Reading{{int(s1), r1, int(n1)}, {int(s2), r2, int(n2)}, {int(s3), r3, int(n3)}}}
		fix, ok := s.Locate(b)
		if !ok {
			return
		}
		if math.IsNaN(fix.X) || math.IsNaN(fix.Y) || !m.Bounds.Contains(wire.Point{fix.X, fix.Y}) || !(fix.Err > 0) || math.IsInf(fix.Err, 0) {
			t.Fatalf("readings %+v: fix %+v", b.Readings, fix)
		}
	})
}
