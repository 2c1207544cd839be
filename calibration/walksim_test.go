package calibration

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// The proof on package sim's world: its supermarket ("large", 40 × 25 m,
// six sensors) with the simulator's adversaries (shadowing σ 3.5 dB
// correlated over 5 m walked and 10 min, 2.5 dB fading per frame, clocks
// off by up to ±300 ms, 5 GHz frames 1 dB off the site's offset, a
// −90 dBm sensitivity, 10 % of frames lost, the walker's phone's transmit
// offset) and sensors whose true radio differs from the site's defaults.

// simFrom is when the simulated walks begin.
var simFrom = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// simTrue are the proof shop's sensors, for a phone of transmit offset 0:
// as far from the site's defaults (-45 dBm, 2.5) as the calibration
// package's own world, and with the simulator's exponent 0.4 above the
// site's on average.
var simTrue = []sim.SensorRadio{{RSSI1m: -41, Exponent: 2.6}, {RSSI1m: -50, Exponent: 3.25}, {RSSI1m: -43, Exponent: 2.75},
	{RSSI1m: -51, Exponent: 3.3}, {RSSI1m: -47.5, Exponent: 3.0}, {RSSI1m: -39, Exponent: 2.55}}

// simWorld is the proof shop; with crowd, shoppers (120 an hour) walk it
// for the test run.
func simWorld(seed uint64, crowd bool) sim.Config {
	cfg := sim.Config{Seed: seed, Sensors: simTrue, PassersPerHour: -1, ShoppersPerHour: -1, Staff: -1}
	if crowd {
		cfg.PassersPerHour, cfg.ShoppersPerHour = 30, 120
	}
	return cfg
}

// simWalk is one simulated walk: the installer follows Waypoints for ten
// minutes (sim.Walker's defaults: 1 m/s, a burst every 3–6 s), then the
// shop runs on for test (the test run).
type simWalk struct {
	site        *wire.Site
	radio       []sim.SensorTruth
	walker      *sim.WalkerTruth
	walkBatches []*wire.Batch
	testBatches []*wire.Batch
	truth       *sim.Truth
	mid         int64
}

func runSimWalk(t testing.TB, cfg sim.Config, test time.Duration) *simWalk {
	t.Helper()
	return runSimWalkOf(t, cfg, sim.Walker{Duration: 10 * time.Minute}, test)
}

// runSimWalkOf is runSimWalk with the walker w (its route and start are
// the protocol's).
func runSimWalkOf(t testing.TB, cfg sim.Config, w sim.Walker, test time.Duration) *simWalk {
	t.Helper()
	shop := simtest.Shop(t, "large", cfg)
	sw := &simWalk{site: shop.Site(), radio: shop.Radio(), truth: &sim.Truth{}}
	w.Route, w.Start = Waypoints(sw.site), simFrom
	var err error
	if sw.walker, err = shop.AddWalker(w); err != nil {
		t.Fatal(err)
	}
	sw.mid = sw.walker.End.UnixMilli()
	bs := simtest.Batches(t, shop, simFrom, sw.walker.End.Add(test), sw.truth)
	// The walk's batches run 2 s into the test run's (frames sent late).
	sw.walkBatches, sw.testBatches = simtest.Sent(bs, math.MinInt64, sw.mid+2000), simtest.Sent(bs, sw.mid, math.MaxInt64)
	return sw
}

// data gathers the walk's frames as `passant calibrate` does.
func (sw *simWalk) data(t testing.TB) *Data {
	t.Helper()
	walk, err := NewWalk(sw.walker.Marks, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCollector(sw.site, walk, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range sw.walkBatches {
		c.Add(b)
	}
	return c.Data()
}

// miss is a fit's error against the truth: dB (relative to the walking
// phone's transmit power), exponent, and the error of the fitted model's
// prediction at 10 m, dB.
func (sw *simWalk) miss(i int, f Params) (dA, dN, d10 float64) {
	dA = f.RSSI1m - (sw.radio[i].RSSI1m + sw.walker.TxDB)
	dN = f.Exponent - sw.radio[i].Exponent
	return dA, dN, dA - 10*dN
}

func within(dA, dN float64) bool { return math.Abs(dA) <= 1.5 && math.Abs(dN) <= 0.2 }

// testErrors locates the test run's shoppers' bursts in the store under
// site and returns their position errors, sorted.
func (sw *simWalk) testErrors(t testing.TB, site *wire.Site) []float64 {
	t.Helper()
	return shopperErrors(t, site, sw.truth, sw.testBatches, sw.mid, func(b sim.BurstTruth) bool { return b.Y >= 0 })
}

// shopperErrors locates batches' bursts on site and returns the position
// errors of those of shoppers (the truth's bursts from ms from on within a
// second, where keep says so), sorted.
func shopperErrors(t testing.TB, site *wire.Site, truth *sim.Truth, batches []*wire.Batch, from int64, keep func(sim.BurstTruth) bool) []float64 {
	t.Helper()
	m, err := locate.NewModel(site)
	if err != nil {
		t.Fatal(err)
	}
	byDev := map[wire.Dev][]sim.BurstTruth{}
	for _, b := range truth.Bursts {
		if b.T >= from && b.Class == sim.Shopper && keep(b) {
			byDev[b.Dev] = append(byDev[b.Dev], b)
		}
	}
	sol := locate.NewSolver(m)
	var e []float64
	for _, b := range sim.Bursts(m, site, batches) {
		for _, tr := range byDev[b.Dev] {
			if math.Abs(float64(tr.T-b.T)) < 1000 {
				if f, ok := sol.Locate(b); ok {
					e = append(e, math.Hypot(f.X-tr.X, f.Y-tr.Y))
				}
				break
			}
		}
	}
	sort.Float64s(e)
	return e
}

// withTruth returns the site with the sensors' true values relative to the
// walking phone: the best a calibration could write.
func (sw *simWalk) withTruth() *wire.Site {
	out := cloneSite(sw.site)
	for i := range out.Sensors {
		a, n := sw.radio[i].RSSI1m+sw.walker.TxDB, sw.radio[i].Exponent
		out.Sensors[i].RSSI1m, out.Sensors[i].Exponent = &a, &n
	}
	return out
}

// TestCalibrateSimWalk is the proof on package sim's world: a
// 10-minute installer's walk following the calibration page's route, the
// fit and validation of `passant calibrate`, and a separate 10-minute test
// run of the shop's shoppers.
func TestCalibrateSimWalk(t *testing.T) {
	sw := runSimWalk(t, simWorld(1, true), 10*time.Minute)
	rep, err := Calibrate(sw.data(t), 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	rep.WriteText(&buf)
	t.Logf("walk: %d marks, walker's transmit offset %+.2f dB\n%s", len(sw.walker.Marks), sw.walker.TxDB, buf.String())
	if rep.Chosen == "none" {
		t.Fatal("calibration applied nothing")
	}
	before, after, best := sw.testErrors(t, sw.site), sw.testErrors(t, rep.Calibrated), sw.testErrors(t, sw.withTruth())
	gain := 1 - median(after)/median(before)
	var tab strings.Builder
	fmt.Fprintf(&tab, "| sensor | true rssi_1m (walker) | fitted | Δ dB | true exponent | fitted | Δ | Δ at 10 m, dB | applied |\n|---|---|---|---|---|---|---|---|---|\n")
	in := 0
	for i, s := range rep.Sensors {
		dA, dN, d10 := sw.miss(i, s.Fit.Params)
		if within(dA, dN) {
			in++
		}
		fmt.Fprintf(&tab, "| %s | %.1f | %.1f | %+.2f | %.2f | %.2f | %+.2f | %+.2f | %s |\n", s.ID, sw.radio[i].RSSI1m+sw.walker.TxDB,
			s.Fit.RSSI1m, dA, sw.radio[i].Exponent, s.Fit.Exponent, dN, d10, s.Choice)
		// One walk's fit trades rssi_1m against the exponent (the
		// shadowing of ten minutes does not average out; see
		// docs/calibration.md): the fitted model must still predict the
		// sensor's RSSI at the walk's typical distances (within 2 dB at
		// 10 m; 111 of 120 sweep fits are within 1.5 dB), and never be wild.
		if math.Abs(d10) > 2 || math.Abs(dA) > 6 || math.Abs(dN) > 0.6 {
			t.Errorf("sensor %s: fitted %.1f dB / %.2f, truth %.1f dB / %.2f", s.ID, s.Fit.RSSI1m, s.Fit.Exponent,
				sw.radio[i].RSSI1m+sw.walker.TxDB, sw.radio[i].Exponent)
		}
	}
	fmt.Fprintf(&tab, "\n%d of %d sensors within 1.5 dB and 0.2. Test run (%d shopper bursts): median error %.2f m → %.2f m (%.0f %% better; the true values give %.2f m); p90 %.2f m → %.2f m.\n",
		in, len(rep.Sensors), len(before), median(before), median(after), 100*gain, median(best), p90(before), p90(after))
	if o := rep.Offset5; o == nil || math.Abs(o.Fitted-sw.radio[0].Offset5GHz) > 0.5 || !o.Applied {
		t.Errorf("offset_5ghz: %+v, truth %.1f dB", o, sw.radio[0].Offset5GHz)
	} else {
		fmt.Fprintf(&tab, "offset_5ghz: site %.1f dB, fitted %.2f ± %.2f dB, truth %.1f dB (applied).\n", o.Previous, o.Fitted, o.SE, sw.radio[0].Offset5GHz)
	}
	t.Log("\n" + tab.String())
	if gain < 0.25 {
		t.Errorf("the test run's median error improves by %.0f%%, want >= 25%%", 100*gain)
	}
}

func p90(e []float64) float64 {
	if len(e) == 0 {
		return math.NaN()
	}
	return e[min(len(e)-1, int(0.9*float64(len(e))))]
}

// TestCalibrateSimWalkSeeds repeats the proof over 20 seeded walks (the
// test run over 10 of them; all 20 with PASSANT_ACCURACY=full) and counts
// the sensor fits within 1.5 dB and 0.2 of the truth.
func TestCalibrateSimWalkSeeds(t *testing.T) {
	seeds, tests := 20, 10
	if os.Getenv("PASSANT_ACCURACY") == "full" {
		tests = 20
	}
	var in, n, in10 int
	var absA, absN, gains []float64
	var sumA, sumN float64
	var o5 []float64 // the fitted 5 GHz offset's miss
	applied5 := 0
	for seed := 1; seed <= seeds; seed++ {
		crowd := seed <= tests
		sw := runSimWalk(t, simWorld(uint64(seed), crowd), map[bool]time.Duration{true: 10 * time.Minute}[crowd])
		d := sw.data(t)
		if !crowd {
			priors := make([]Prior, len(sw.site.Sensors))
			for i := range priors {
				r := sw.site.SensorRadio(i)
				priors[i] = Prior{Params: Params{r.RSSI1m, r.Exponent}}
			}
			wf := d.Fit(priors)
			o5 = append(o5, sw.site.Radio.Offset5GHz+wf.Offset5-sw.radio[0].Offset5GHz)
			for i := range sw.site.Sensors {
				dA, dN, d10 := sw.miss(i, wf.Sensors[i].Params)
				n++
				absA, absN = append(absA, math.Abs(dA)), append(absN, math.Abs(dN))
				sumA, sumN = sumA+dA, sumN+dN
				if within(dA, dN) {
					in++
				}
				if math.Abs(d10) <= 1.5 {
					in10++
				}
			}
			continue
		}
		rep, err := Calibrate(d, 0, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Offset5 == nil {
			t.Fatalf("seed %d: no 5 GHz offset fitted", seed)
		}
		o5 = append(o5, rep.Offset5.Fitted-sw.radio[0].Offset5GHz)
		if rep.Offset5.Applied {
			applied5++
		}
		for i, s := range rep.Sensors {
			dA, dN, d10 := sw.miss(i, s.Fit.Params)
			n++
			absA, absN = append(absA, math.Abs(dA)), append(absN, math.Abs(dN))
			sumA, sumN = sumA+dA, sumN+dN
			if within(dA, dN) {
				in++
			}
			if math.Abs(d10) <= 1.5 {
				in10++
			}
		}
		gains = append(gains, 1-median(sw.testErrors(t, rep.Calibrated))/median(sw.testErrors(t, sw.site)))
	}
	sort.Float64s(absA)
	sort.Float64s(absN)
	sort.Float64s(gains)
	good := 0
	for _, g := range gains {
		if g >= 0.25 {
			good++
		}
	}
	t.Logf("%d walks × 6 sensors: %d of %d fits within 1.5 dB and 0.2 (median miss %.2f dB / %.2f, p90 %.2f dB / %.2f); %d of %d predict 10 m within 1.5 dB",
		seeds, in, n, median(absA), median(absN), p90(absA), p90(absN), in10, n)
	var m5 float64
	for _, v := range o5 {
		m5 += v / float64(len(o5))
	}
	bA, bN := sumA/float64(n), sumN/float64(n)
	t.Logf("bias (mean miss): %+.2f dB / %+.3f; offset_5ghz fitted %+.2f dB off the truth on average (%d walks), applied in %d of %d validated walks",
		bA, bN, m5, len(o5), applied5, len(gains))
	t.Logf("test runs: median error improves by ≥ 25%% in %d of %d (worst %.0f%%, median %.0f%%)", good, len(gains), 100*gains[0], 100*median(gains))
	// Floors just under the measured figures (68 of 120 within tolerance,
	// 119 of 120 at 10 m, 10 of 10 test runs, bias -0.25 dB / -0.018; see
	// docs/calibration.md).
	if in < 66 || in10 < 116 || good < len(gains)*9/10 {
		t.Errorf("%d of %d fits within tolerance, %d predict 10 m within 1.5 dB, %d of %d test runs 25%% better", in, n, in10, good, len(gains))
	}
	if math.Abs(bA) > 0.6 || math.Abs(bN) > 0.06 {
		t.Errorf("bias %+.2f dB / %+.3f, want within 0.6 dB / 0.06", bA, bN)
	}
	if math.Abs(m5) > 0.25 || applied5 < len(gains)*7/10 {
		t.Errorf("offset_5ghz %+.2f dB off the truth on average, applied in %d of %d", m5, applied5, len(gains))
	}
}
