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

// TestTrackerLearnsTxOffset: a quiet phone (6 dB under the model) in the
// store teaches its track its offset, which its pseudonym's next bursts
// take as their prior (shrunk towards 0 by the model's prior, the learned
// precision capped); another pseudonym gets the model's prior.
func TestTrackerLearnsTxOffset(t *testing.T) {
	m := testSite(t)
	rng := rand.New(rand.NewPCG(3, 1))
	// the store's level not learned: with one phone it would take up
	// the phone's offset
	tr := NewTracker(m, TrackerOptions{NoSelfCalibration: true})
	dev := wire.Dev(7)
	for k := 0; k < 40; k++ {
		b := burstAt(m, 6+8*rng.Float64(), 4+4*rng.Float64(), 4, -6, rng)
		b.T, b.Dev = int64(k)*20000+1, dev
		tr.Add(b)
	}
	if len(tr.live) != 1 {
		t.Fatalf("%d tracks, want 1", len(tr.live))
	}
	k := tr.live[0]
	if k.txDev != dev || !(k.txPd > 0 && k.txPd <= txMaxPrec) {
		t.Fatalf("learned precision %.3f of %v, want (0, %v] of %v", k.txPd, k.txDev, txMaxPrec, dev)
	}
	b := burstAt(m, 10, 6, 4, -6, rng)
	b.Dev = dev
	tr.txPrior(b)
	shift, prec := tr.solver.txShift, tr.solver.txPrec
	// the posterior mean under the model's prior 1/9: at the cap about
	// -6·0.3/0.41 = -4.4 dB
	if !(shift < -2.5 && shift > -7) || prec != k.txPd {
		t.Errorf("prior of the pseudonym's next burst: mean %.2f dB, precision %.3f; want about -4.4 dB, %.3f", shift, prec, k.txPd)
	}
	b.Dev = wire.Dev(8)
	tr.txPrior(b)
	if tr.solver.txShift != 0 || tr.solver.txPrec != 0 {
		t.Errorf("another pseudonym's prior: %.2f dB, %.3f; want the model's", tr.solver.txShift, tr.solver.txPrec)
	}
	t.Logf("learned precision %.3f, the next burst's prior mean %.2f dB", k.txPd, shift)
}
