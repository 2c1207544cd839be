package locate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/wire"
)

// TestTrackerLearnsGainsRing: phones all over a ringed shop (4 dB of noise,
// 3 dB transmit offsets), heard by one sensor 3 dB low. The tracker learns
// the gain errors about their mean: the low sensor's about -2.5 dB, the
// others' about +0.5. Bursts of two readings teach nothing.
func TestTrackerLearnsGainsRing(t *testing.T) {
	m := testSite(t)
	rng := rand.New(rand.NewPCG(5, 1))
	tr := NewTracker(m, TrackerOptions{})
	for k := 0; k < 4000; k++ {
		b := burstAt(m, 1+18*rng.Float64(), 1+10*rng.Float64(), 4, 3*rng.NormFloat64(), rng)
		b.Readings[2].RSSI -= 3
		b.T, b.Dev = int64(k)*1000+1, wire.Dev(k+1)
		tr.Add(b)
	}
	g := tr.Gains()
	t.Logf("learned gains %.2f", g)
	for i, v := range g {
		want := 0.5
		if i == 2 {
			want = -2.5
		}
		if math.Abs(v-want) > 0.6 {
			t.Errorf("sensor %d: learned %.2f dB, want %.1f", i, v, want)
		}
	}
	s := NewSolver(m)
	b := burstAt(m, 9, 5, 0, 0, nil)
	b.Readings = b.Readings[:2]
	s.Locate(b)
	areas := s.SideAreas()
	if _, _, ok := s.gainResiduals(&areas); ok {
		t.Error("residuals from two readings")
	}
}

// TestSideMemory: a track's belief in "elsewhere" is not carried over to
// its next burst's prior but shared between the store and the street as
// the prior of all bursts shares them.
func TestSideMemory(t *testing.T) {
	tr := &Tracker{global: Sides{sideOther: 0.02, sideStore: 0.6, sideOutside: 0.38}}
	got := tr.sideMemory(Sides{sideOther: 0.49, sideStore: 0.3, sideOutside: 0.21})
	want := Sides{sideOther: 0, sideStore: 0.3 + 0.49*0.6/0.98, sideOutside: 0.21 + 0.49*0.38/0.98}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("sideMemory: %v, want %v", got, want)
		}
	}
}
