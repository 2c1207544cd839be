package calibration

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/wire"
)

// TestSelfFitterAntennaLoss knocks s2's antenna: it hears and sends 4 dB
// less. Every link to s2 loses 4 dB too, yet only s2 drifts: txChanges puts
// the loss of those links on s2's transmissions, not on its hearers.
func TestSelfFitterAntennaLoss(t *testing.T) {
	w := newWorld()
	rng := rand.New(rand.NewPCG(31, 32))
	anchors := sensorAnchors(w.site, 0xb0)
	shadow := linkShadows(rng, len(anchors), 2)
	f := NewSelfFitter(w.site, anchors, 0)
	const day0, day = 1764806400000, 86400_000
	heard := func(t0 int64, loss float64) {
		for tm := t0; tm < t0+day; tm += 60_000 {
			for j, a := range anchors {
				for i, s := range w.site.Sensors {
					d := math.Sqrt((a.X-s.X)*(a.X-s.X) + (a.Y-s.Y)*(a.Y-s.Y) + (a.Z-s.Z)*(a.Z-s.Z))
					if d < 1 {
						continue
					}
					r := w.true_[i].RSSI1m - 10*w.true_[i].Exponent*math.Log10(d) + shadow[i][j] + w.fading*rng.NormFloat64()
					if i == 1 || j == 1 {
						r -= loss
					}
					if r >= w.floor {
						f.Add(&wire.Batch{V: 1, Sensor: s.ID, Obs: []wire.Observation{{T: tm + int64(j*37), Dev: a.Dev, RSSI: math.Round(r), Ch: 6, Seq: -1}}})
					}
				}
			}
		}
	}
	heard(day0, 0)
	f.Refit(day0 + day)
	heard(day0+day, 4)
	f.Refit(day0 + 2*day)
	drift := f.Drift()
	t.Logf("drift after s2's antenna lost 4 dB: %v", drift)
	if len(drift) != len(w.site.Sensors) {
		t.Fatalf("drift of %d sensors", len(drift))
	}
	for id, d := range drift {
		want := 0.0
		if id == "s2" {
			want = -4
		}
		if math.Abs(d-want) > 0.5 {
			t.Errorf("%s drifted %.2f dB, want %.0f", id, d, want)
		}
	}
}

// sensorAnchors makes every sensor of site an anchor at its position, with
// pseudonyms dev0, dev0+1, ...
func sensorAnchors(site *wire.Site, dev0 wire.Dev) []Anchor {
	var as []Anchor
	for i, s := range site.Sensors {
		as = append(as, Anchor{Dev: dev0 + wire.Dev(i), ID: s.ID, X: s.X, Y: s.Y, Z: s.Z})
	}
	return as
}

// linkShadows draws a static shadowing (dB, Gaussian with sigma) for every
// (receiver, anchor) link of n sensors.
func linkShadows(rng *rand.Rand, n int, sigma float64) [][]float64 {
	ls := make([][]float64, n)
	for i := range ls {
		ls[i] = make([]float64, n)
		for j := range ls[i] {
			ls[i][j] = sigma * rng.NormFloat64()
		}
	}
	return ls
}
