package calibration

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/locate"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// simFrom is when the simulated walks begin.
var simFrom = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// simWorld is the world of the walk proof: package sim's supermarket with a
// true exponent 0.4 above the site's and spread per sensor (σ 0.2), gain
// errors per sensor (σ 2 dB), shadowing correlated burst to burst, clock
// offsets, 5 GHz frames 1 dB off the site's offset.
func simWorld(seed uint64, crowd bool) sim.Config {
	cfg := sim.Config{Seed: seed, Sensors: simTrue, PassersPerHour: -1, ShoppersPerHour: -1, Staff: -1}
	if crowd {
		cfg.PassersPerHour, cfg.ShoppersPerHour, cfg.Staff = 30, 120, 0
	}
	return cfg
}

// simTrue are the proof shop's sensors: as far from the site's defaults
// (-45 dBm, 2.5) as the calibration package's own world, and with the
// sim's exponent 0.4 above the site's on average.
var simTrue = []sim.SensorRadio{{RSSI1m: -41, Exponent: 2.6}, {RSSI1m: -50, Exponent: 3.25}, {RSSI1m: -43, Exponent: 2.75},
	{RSSI1m: -51, Exponent: 3.3}, {RSSI1m: -47.5, Exponent: 3.0}, {RSSI1m: -39, Exponent: 2.55}}

// simWalk is one simulated walk: the installer follows Waypoints for walk,
// then the shop runs on for test (the test run).
type simWalk struct {
	site        *wire.Site
	radio       []sim.SensorTruth
	walker      *sim.WalkerTruth
	walkBatches []*wire.Batch
	testBatches []*wire.Batch
	truth       *sim.Truth
	mid         int64
}

func runSimWalk(t testing.TB, layout string, cfg sim.Config, w sim.Walker, test time.Duration) *simWalk {
	t.Helper()
	shop, err := sim.NewShop(layout, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sw := &simWalk{site: shop.Site(), radio: shop.Radio(), truth: &sim.Truth{}}
	w.Route, w.Start = Waypoints(sw.site), simFrom
	if l := os.Getenv("PASSANT_WALK_LOOPS"); l != "" {
		n, _ := strconv.Atoi(l)
		w.Route = waypoints(sw.site, n, envFloat("PASSANT_WALK_RADIUS", RouteLoopRadius))
	}
	if w.Duration == 0 {
		w.Duration = 10 * time.Minute
	}
	if sw.walker, err = shop.AddWalker(w); err != nil {
		t.Fatal(err)
	}
	sw.mid = sw.walker.End.UnixMilli()
	err = shop.Run(context.Background(), simFrom, sw.walker.End.Add(test), func(_ string, b *wire.Batch) error {
		if b.Sent < sw.mid+2000 {
			sw.walkBatches = append(sw.walkBatches, b)
		}
		if b.Sent >= sw.mid {
			sw.testBatches = append(sw.testBatches, b)
		}
		return nil
	}, sw.truth)
	if err != nil {
		t.Fatal(err)
	}
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

// misses returns each sensor's fit error against the truth: dB (relative
// to the walking phone's transmit power) and exponent.
func (sw *simWalk) misses(fits []Params) (dA, dN []float64) {
	for i, f := range fits {
		dA = append(dA, f.RSSI1m-(sw.radio[i].RSSI1m+sw.walker.TxDB))
		dN = append(dN, f.Exponent-sw.radio[i].Exponent)
	}
	return dA, dN
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

func TestWalkExperiment(t *testing.T) {
	if os.Getenv("PASSANT_WALK_EXP") == "" {
		t.Skip()
	}
	n := int(envFloat("PASSANT_WALK_SEEDS", 20))
	w := sim.Walker{Speed: envFloat("PASSANT_WALK_SPEED", 0.7),
		Interval: [2]float64{envFloat("PASSANT_WALK_I0", 3), envFloat("PASSANT_WALK_I1", 6)},
		Duration: time.Duration(envFloat("PASSANT_WALK_MIN", 10) * float64(time.Minute))}
	bad := 0
	var worstA, worstN float64
	var sa, sn float64
	cnt := 0
	for seed := uint64(1); seed <= uint64(n); seed++ {
		cfg := simWorld(seed, false)
		cfg.ShadowDB, cfg.FadeDB, cfg.ClockMs = envFloat("PASSANT_WALK_SHADOW", 0), envFloat("PASSANT_WALK_FADE", 0), envFloat("PASSANT_WALK_CLOCK", 0)
		if os.Getenv("PASSANT_WALK_STEP") != "" {
			w.StepSD = envFloat("PASSANT_WALK_STEP", 0)
		}
		sw := runSimWalk(t, "large", cfg, w, 0)
		d := sw.data(t)
		var fits []Params
		for i := range sw.site.Sensors {
			r := sw.site.SensorRadio(i)
			fits = append(fits, Fit(d.Samples[i], Prior{Params: Params{r.RSSI1m, r.Exponent}}).Params)
		}
		dA, dN := sw.misses(fits)
		line := fmt.Sprintf("seed %2d marks %d frames %d:", seed, len(sw.walker.Marks), d.Frames)
		for i := range dA {
			line += fmt.Sprintf(" %+.2f/%+.2f", dA[i], dN[i])
			worstA, worstN = math.Max(worstA, math.Abs(dA[i])), math.Max(worstN, math.Abs(dN[i]))
			if math.Abs(dA[i]) > 1.5 || math.Abs(dN[i]) > 0.2 {
				bad++
			}
			sa += dA[i]
			sn += dN[i]
			cnt++
		}
		t.Log(line)
	}
	t.Logf("%d of %d outside; worst %.2f dB %.2f; mean bias %.2f dB %.3f", bad, cnt, worstA, worstN, sa/float64(cnt), sn/float64(cnt))
}

// testErrors locates the test run's shoppers' bursts (in the store) under
// site and returns their position errors, sorted.
func (sw *simWalk) testErrors(t testing.TB, site *wire.Site) []float64 {
	t.Helper()
	m, err := locate.NewModel(site)
	if err != nil {
		t.Fatal(err)
	}
	byDev := map[wire.Dev][]sim.BurstTruth{}
	for _, b := range sw.truth.Bursts {
		if b.T >= sw.mid && b.Class == sim.Shopper && b.Y >= 0 {
			byDev[b.Dev] = append(byDev[b.Dev], b)
		}
	}
	sol := locate.NewSolver(m)
	var e []float64
	for _, b := range sim.Bursts(m, site, sw.testBatches) {
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

func TestWalkExperimentTest(t *testing.T) {
	if os.Getenv("PASSANT_WALK_EXP") == "" {
		t.Skip()
	}
	for seed := uint64(1); seed <= uint64(envFloat("PASSANT_WALK_SEEDS", 3)); seed++ {
		sw := runSimWalk(t, "large", simWorld(seed, true), sim.Walker{}, 10*time.Minute)
		rep, err := Calibrate(sw.data(t), 0, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var buf strings.Builder
		rep.WriteText(&buf)
		b, a := sw.testErrors(t, sw.site), sw.testErrors(t, rep.Calibrated)
		full, tru := cloneSite(sw.site), cloneSite(sw.site)
		for i, s := range rep.Sensors {
			a1, n1 := s.Fit.RSSI1m, s.Fit.Exponent
			full.Sensors[i].RSSI1m, full.Sensors[i].Exponent = &a1, &n1
			a2, n2 := sw.radio[i].RSSI1m+sw.walker.TxDB, sw.radio[i].Exponent
			tru.Sensors[i].RSSI1m, tru.Sensors[i].Exponent = &a2, &n2
		}
		f, tr := sw.testErrors(t, full), sw.testErrors(t, tru)
		t.Logf("seed %d: chosen %s test %d bursts: %.2f -> applied %.2f m (%.0f%%), full %.2f, truth %.2f", seed, rep.Chosen, len(b), median(b), median(a), 100*(1-median(a)/median(b)), median(f), median(tr))
	}
}
