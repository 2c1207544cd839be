package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// TestSideOracle checks the Bayes oracle of the side on an hour of the
// large shop: it decides every matched burst, gets at least 90% right, and
// its own expectation (the mean of its posteriors of the side it chose)
// lies within 3 points of what it gets: its likelihood is the simulator's.
func TestSideOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a shop-hour")
	}
	r, err := RunAccuracyWith(context.Background(), "large", Config{Seed: 1}, 1, AccuracyOptions{Oracle: true})
	if err != nil {
		t.Fatal(err)
	}
	o := r.Oracle
	if o == nil || o.Sides != r.Matched {
		t.Fatalf("oracle decided %v bursts of %d", o, r.Matched)
	}
	got, exp := float64(o.Side)/float64(o.Sides), r.OracleExpected/float64(o.Sides)
	t.Logf("oracle: %.1f%% right, expects %.1f%%", 100*got, 100*exp)
	if got < 0.9 || math.Abs(got-exp) > 0.03 {
		t.Errorf("oracle %.1f%% right, expects %.1f%%", 100*got, 100*exp)
	}
}

// TestStreetMirror guards the whole grid's check of the window's side: in
// the large shop (3 h, seed 1), phones on the street whose least-squares point falls
// inside the sensors' hull were put in the store (street bursts 86% right
// at 3 h, seed 1, before the check).
func TestStreetMirror(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates three shop-hours")
	}
	r, err := RunAccuracy(context.Background(), "large", Config{Seed: 1}, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range r.Methods {
		if m.Name != "tracker" {
			continue
		}
		out, right := m.Sides-m.SidesIn, m.Side-m.SideIn
		t.Logf("street bursts on the street: %d of %d; in the store: %d of %d", right, out, m.SideIn, m.SidesIn)
		if float64(right) < 0.89*float64(out) || float64(m.SideIn) < 0.93*float64(m.SidesIn) {
			t.Errorf("street %d of %d right, store %d of %d", right, out, m.SideIn, m.SidesIn)
		}
	}
}

// TestTrackerLearnsGains checks the tracker's per-sensor gain errors on the
// large shop (3 h, seed 2, sensors off by -3.3 to +0.9 dB): about their
// mean, the learned gains are within 60% of the true ones' spread (RMS);
// learning nothing would leave 100%.
func TestTrackerLearnsGains(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates three shop-hours")
	}
	shop, err := NewShop("large", Config{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	var batches []*wire.Batch
	from := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	err = shop.Run(context.Background(), from, from.Add(3*time.Hour), func(_ string, b *wire.Batch) error {
		batches = append(batches, b)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := locate.NewModel(shop.Site())
	if err != nil {
		t.Fatal(err)
	}
	tr := locate.NewTracker(m, locate.TrackerOptions{})
	for _, b := range Bursts(m, shop.Site(), batches) {
		tr.Add(b)
		tr.Expire(b.T)
	}
	g := tr.Gains()
	if len(g) != len(shop.gain) {
		t.Fatalf("learned %d gains for %d sensors", len(g), len(shop.gain))
	}
	var mean float64
	for _, v := range shop.gain {
		mean += v / float64(len(shop.gain))
	}
	var dev, spread float64
	for i, v := range shop.gain {
		dev += (g[i] - (v - mean)) * (g[i] - (v - mean))
		spread += (v - mean) * (v - mean)
	}
	t.Logf("learned %.2f, true %.2f (mean %.2f): RMS error %.2f dB of %.2f", g, shop.gain, mean,
		math.Sqrt(dev/float64(len(g))), math.Sqrt(spread/float64(len(g))))
	if dev > 0.36*spread {
		t.Errorf("learned gains off by %.2f dB RMS, the true spread %.2f", math.Sqrt(dev/float64(len(g))), math.Sqrt(spread/float64(len(g))))
	}
}
