package calibration

import (
	"math"
	"math/rand/v2"
	"testing"
)

// censoredWorld draws a walk's frames for ns sensors directly as samples:
// true rssi_1m a and exponent n per sensor, 5 GHz frames off the site's
// offset by delta, Gaussian noise sigma per frame, a hard sensitivity floor
// and a loss rate per channel (channel 11 lost more: a sensor hopping part
// of the time elsewhere). Frames below the floor or lost are Missed.
func censoredWorld(seed uint64, ns, frames int, a, n []float64, delta, sigma, floor float64) (*Data, [][]Sample) {
	rng := rand.New(rand.NewPCG(seed, 99))
	d := &Data{Samples: make([][]Sample, ns), Missed: make([][]Sample, ns), Walkers: 1}
	naive := make([][]Sample, ns)
	loss := map[int]float64{1: 0.05, 6: 0.1, 11: 0.4, 36: 0.1, 40: 0.1}
	cens := floor + CensorMargin
	for i := 0; i < ns; i++ {
		for k := 0; k < frames; k++ {
			dist := 1.5 + 38*rng.Float64()
			ch := []int{1, 6, 11, 36, 40}[rng.IntN(5)]
			b5 := ch > 14
			mu := a[i] - 10*n[i]*math.Log10(dist)
			if b5 {
				mu += delta
			}
			r := math.Round(mu + sigma*rng.NormFloat64())
			s := Sample{D: dist, Seg: k % 6, Band5: b5, Ch: ch, Censor: cens, Floor: floor}
			if r < floor || rng.Float64() < loss[ch] {
				d.Missed[i] = append(d.Missed[i], s)
				continue
			}
			s.RSSI = r
			d.Samples[i] = append(d.Samples[i], s)
			if !b5 {
				naive[i] = append(naive[i], Sample{RSSI: r, D: dist})
			}
		}
	}
	return d, naive
}

// TestFitCensored checks the walk's joint fit on frames whose truth is
// known: a sensitivity floor that hides most frames beyond 20 m, losses
// per channel, and 5 GHz frames 1.5 dB off the site's offset. The plain
// regression of the heard 2.4 GHz frames flattens the exponent; the
// censored fit recovers every sensor, the offset and the loss rates.
func TestFitCensored(t *testing.T) {
	a := []float64{-40, -48, -44}
	n := []float64{3.0, 2.6, 3.3}
	const delta, sigma, floor = -1.5, 4.5, -88.0
	d, naive := censoredWorld(1, len(a), 4000, a, n, delta, sigma, floor)
	priors := make([]Prior, len(a))
	for i := range priors {
		priors[i] = Prior{Params: Params{-45, 2.5}}
	}
	wf := d.Fit(priors)
	if math.Abs(wf.Offset5-delta) > 0.3 {
		t.Errorf("5 GHz offset correction %.2f dB, truth %.2f", wf.Offset5, delta)
	}
	for i := range a {
		r := wf.Sensors[i]
		plain := Fit(naive[i], priors[i])
		t.Logf("sensor %d: censored fit %.2f dB / %.3f (σ %.2f, loss %.3f, %d heard, %d missed, %d below C); plain fit %.2f dB / %.3f; truth %.1f / %.2f",
			i, r.RSSI1m, r.Exponent, r.Noise, r.Loss, r.N, r.Missed, r.Censored, plain.RSSI1m, plain.Exponent, a[i], n[i])
		if math.Abs(r.RSSI1m-a[i]) > 0.8 || math.Abs(r.Exponent-n[i]) > 0.08 {
			t.Errorf("sensor %d: fitted %.2f dB / %.3f, truth %.1f / %.2f", i, r.RSSI1m, r.Exponent, a[i], n[i])
		}
		if math.Abs(r.Noise-sigma) > 0.4 {
			t.Errorf("sensor %d: noise %.2f dB, truth %.1f", i, r.Noise, sigma)
		}
		// The plain fit of the heard frames is flattened by the floor: the
		// test's world must be one where censoring matters.
		if plain.Exponent > n[i]-0.15 {
			t.Errorf("sensor %d: plain fit's exponent %.3f is not flattened (truth %.2f): the test's floor does not bite", i, plain.Exponent, n[i])
		}
	}
	// Without the 5 GHz correction, the 5 GHz frames pull rssi_1m down.
	no := fitWalk(d, priors, nil, false, nil)
	if no.Offset5 != 0 || no.Sensors[0].RSSI1m >= wf.Sensors[0].RSSI1m {
		t.Errorf("without the 5 GHz correction: %+v", no.Sensors[0].Params)
	}
}

// TestFitCensoredLoss checks that frames missed at random, whatever their
// strength (a sensor listening on another channel), do not read as a
// floor: a channel that one sensor never hears leaves its fit unmoved.
func TestFitCensoredLoss(t *testing.T) {
	a, n := []float64{-42}, []float64{2.9}
	d, _ := censoredWorld(2, 1, 4000, a, n, 0, 4, -90)
	priors := []Prior{{Params: Params{-45, 2.5}}}
	base := d.Fit(priors).Sensors[0]
	// The sensor never hears channel 6: its frames there all count as missed.
	var heard []Sample
	for _, s := range d.Samples[0] {
		if s.Ch == 6 {
			s.RSSI = 0
			d.Missed[0] = append(d.Missed[0], s)
			continue
		}
		heard = append(heard, s)
	}
	d.Samples[0] = heard
	deaf := d.Fit(priors).Sensors[0]
	t.Logf("all channels %.2f / %.3f; deaf on channel 6 %.2f / %.3f", base.RSSI1m, base.Exponent, deaf.RSSI1m, deaf.Exponent)
	if math.Abs(deaf.RSSI1m-base.RSSI1m) > 0.5 || math.Abs(deaf.Exponent-base.Exponent) > 0.05 {
		t.Errorf("a channel never heard moved the fit: %.2f / %.3f -> %.2f / %.3f", base.RSSI1m, base.Exponent, deaf.RSSI1m, deaf.Exponent)
	}
	if math.Abs(base.RSSI1m-a[0]) > 0.8 || math.Abs(base.Exponent-n[0]) > 0.08 {
		t.Errorf("fitted %.2f / %.3f, truth %.1f / %.2f", base.RSSI1m, base.Exponent, a[0], n[0])
	}
}

func BenchmarkFitWalk(b *testing.B) {
	a := []float64{-40, -48, -44, -46, -41, -50}
	n := []float64{3.0, 2.6, 3.3, 2.8, 2.7, 3.1}
	d, _ := censoredWorld(3, len(a), 1500, a, n, -1, 4.5, -90)
	priors := make([]Prior, len(a))
	for i := range priors {
		priors[i] = Prior{Params: Params{-45, 2.5}}
	}
	for b.Loop() {
		d.Fit(priors)
	}
}
