package sim

import (
	"context"
	"math"
	"testing"

	"github.com/passant/passant/locate"
)

// TestOracle checks the Bayes oracle on an hour of the large shop. Side: it
// decides every matched burst, gets at least 90% right, and its own
// expectation (the mean of its posteriors of the side it chose) lies within
// 3 points of what it gets. Position: each row's mean error over all bursts
// lies within 10% of the mean of its posterior expected errors, and its
// share of the bursts in bounds with the error within R (half the
// centroid's p90) within 3 points of what its posterior expects of it (its
// mass in bounds within R of its points, over its mass in bounds); the
// spatial median expects no
// more error than the mean (it minimises it), and knowing the transmit
// offset expects less error than integrating it. The expectations match
// only if its likelihood and prior are the simulator's.
func TestOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a shop-hour")
	}
	r, err := RunAccuracyWith(context.Background(), "large", Config{Seed: 1}, 1, AccuracyOptions{Oracle: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Oracle) != 6 || r.OracleR <= 0 {
		t.Fatalf("%d oracle rows, want 6; R %.2f m", len(r.Oracle), r.OracleR)
	}
	for _, o := range r.Oracle {
		if o.Sides != r.Matched || o.N != r.Matched {
			t.Fatalf("%s: decided %d sides and %d positions of %d bursts", o.Name, o.Sides, o.N, r.Matched)
		}
		got, exp := float64(o.Side)/float64(o.Sides), o.ExpSide/float64(o.Sides)
		me, mexp := o.SumErr/float64(o.N), o.ExpErr/float64(o.N)
		in, inExp := float64(o.InR)/float64(o.InB), o.ExpInR/o.ExpInB
		t.Logf("%s: side %.1f%% right, expects %.1f%%; mean error %.2f m, expects %.2f m; within %.2f m %.1f%%, expects %.1f%%; p90 %.2f m",
			o.Name, 100*got, 100*exp, me, mexp, r.OracleR, 100*in, 100*inExp, o.Quantile(0.9))
		if math.Abs(in-inExp) > 0.03 {
			t.Errorf("%s: %.1f%% within %.2f m, expects %.1f%%", o.Name, 100*in, r.OracleR, 100*inExp)
		}
		if got < 0.9 || math.Abs(got-exp) > 0.03 {
			t.Errorf("%s: %.1f%% right, expects %.1f%%", o.Name, 100*got, 100*exp)
		}
		if math.Abs(me/mexp-1) > 0.1 {
			t.Errorf("%s: mean error %.2f m, expects %.2f m", o.Name, me, mexp)
		}
	}
	mean, med, meanTx, medTx := r.Oracle[0], r.Oracle[1], r.Oracle[3], r.Oracle[4]
	if med.ExpErr > mean.ExpErr || medTx.ExpErr > meanTx.ExpErr {
		t.Errorf("the spatial median expects %.0f / %.0f m in all, the mean %.0f / %.0f", med.ExpErr, medTx.ExpErr, mean.ExpErr, meanTx.ExpErr)
	}
	if medTx.ExpErr >= med.ExpErr {
		t.Errorf("knowing the offset expects %.0f m in all, integrating it %.0f", medTx.ExpErr, med.ExpErr)
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
// large shop (3 h, seeds 1-4, sensors off by up to ±4 dB): about their
// mean, the learned gains are off by at most 50% of the true ones' spread
// (RMS) on average over the seeds and by at most 75% on any one; learning
// nothing would leave 100%. They leave 44, 70, 34 and 31%. Before the
// simulator's per-channel fading (Config.ChannelDB) they left 24, 37, 20
// and 28% and the bounds were 35% and 50%: over seeds 1-16 the per-channel
// fading takes the mean from 35% to 46% and the seeds above 50% from 1 to 7
// (a harsher world, not a change in the tracker). The learning from
// least-squares fixes inside the sensors' hull that came before left 14,
// 76, 23 and 60% (seeds 5-16: up to 83%; docs/locate.md, "The sensors'
// gains").
func TestTrackerLearnsGains(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates three shop-hours for each of four seeds")
	}
	var sum float64
	seeds := []uint64{1, 2, 3, 4}
	for _, seed := range seeds {
		shop, batches, _, err := diagShop("large", seed, 3)
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
			t.Fatalf("seed %d: learned %d gains for %d sensors", seed, len(g), len(shop.gain))
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
		ratio := math.Sqrt(dev / spread)
		sum += ratio
		t.Logf("seed %d: learned %.2f, true %.2f (mean %.2f): RMS error %.2f dB of %.2f (%.0f%%)", seed, g, shop.gain, mean,
			math.Sqrt(dev/float64(len(g))), math.Sqrt(spread/float64(len(g))), 100*ratio)
		if ratio > 0.75 {
			t.Errorf("seed %d: learned gains off by %.0f%% of the true spread", seed, 100*ratio)
		}
	}
	if avg := sum / float64(len(seeds)); avg > 0.5 {
		t.Errorf("learned gains off by %.0f%% of the true spread on average", 100*avg)
	}
}
