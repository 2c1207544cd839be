package calibration

import (
	"math"
	"testing"
)

// TestCalibrateSeeds repeats the proof's fit over 20 seeded walks and
// counts the sensors whose fitted values miss the truth by more than 1.5 dB
// or 0.2.
func TestCalibrateSeeds(t *testing.T) {
	w := newWorld()
	var worstA, worstN float64
	var bad int
	for seed := uint64(1); seed <= 20; seed++ {
		d, _ := w.data(seed, 10*60*1000, 2, true)
		priors := make([]Prior, len(d.Samples))
		for i := range priors {
			priors[i] = Prior{Params: Params{-45, 2.5}}
		}
		wf := d.Fit(priors) // the walk's joint fit, as Calibrate runs it
		for i := range d.Samples {
			g := wf.Sensors[i]
			da, dn := math.Abs(g.RSSI1m-w.true_[i].RSSI1m-2), math.Abs(g.Exponent-w.true_[i].Exponent)
			worstA, worstN = math.Max(worstA, da), math.Max(worstN, dn)
			if da > 1.5 || dn > 0.2 {
				bad++
			}
		}
	}
	t.Logf("20 walks × 6 sensors: worst %.2f dB / %.2f; %d of 120 outside 1.5 dB / 0.2", worstA, worstN, bad)
	// 6 of 120 outside measured (7 with the per-sensor Fit before the
	// walk's joint censored fit).
	if bad > 8 {
		t.Errorf("%d of 120 fits outside the tolerance, want at most 8", bad)
	}
}
