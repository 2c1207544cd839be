package locate

import (
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/wire"
)

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
