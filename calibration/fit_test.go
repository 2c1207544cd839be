package calibration

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

func synth(rng *rand.Rand, p Params, n int, dlo, dhi, noise float64) []Sample {
	s := make([]Sample, n)
	for i := range s {
		d := dlo * math.Pow(dhi/dlo, rng.Float64())
		s[i] = Sample{RSSI: p.Expected(d) + noise*rng.NormFloat64(), D: d}
	}
	return s
}

func TestFitRecovers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	truth := Params{-52, 3.1}
	r := Fit(synth(rng, truth, 600, 1.5, 30, 4), Prior{Params: Params{-45, 2.5}})
	if math.Abs(r.RSSI1m-truth.RSSI1m) > 1 || math.Abs(r.Exponent-truth.Exponent) > 0.1 {
		t.Errorf("fit %+v, want %+v", r.Params, truth)
	}
	if r.RMS < 3 || r.RMS > 5 || r.SE.Exponent <= 0 || r.SE.Exponent > 0.1 {
		t.Errorf("rms %.2f se %+v", r.RMS, r.SE)
	}
}

// Five samples at one distance cannot say what the exponent is: the fit
// stays near the prior instead of running wild.
func TestFitRegularised(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	prior := Prior{Params: Params{-45, 2.5}}
	s := synth(rng, Params{-45, 2.5}, 5, 7.9, 8.1, 4)
	s[0].RSSI -= 9 // and one is off
	r := Fit(s, prior)
	if math.Abs(r.Exponent-2.5) > 0.3 || math.Abs(r.RSSI1m+45) > 6 {
		t.Errorf("5 samples at 8 m gave %+v", r.Params)
	}
	free := Fit(s, Prior{Params: prior.Params, SigmaA: 1000, SigmaN: 1000})
	if math.Abs(free.Exponent-2.5) < math.Abs(r.Exponent-2.5) {
		t.Errorf("unregularised fit %+v is closer to the prior than the regularised %+v", free.Params, r.Params)
	}
	if e := Fit(nil, prior); e.Params != prior.Params {
		t.Errorf("no samples: %+v", e.Params)
	}
}

// One frame in eight 15 dB low (a body in the way) barely moves the fit.
func TestFitOutliers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	truth := Params{-47, 2.7}
	s := synth(rng, truth, 800, 1.5, 25, 3)
	for i := 0; i < len(s); i += 8 {
		s[i].RSSI -= 15
	}
	r := Fit(s, Prior{Params: Params{-45, 2.5}})
	if math.Abs(r.RSSI1m-truth.RSSI1m) > 2 || math.Abs(r.Exponent-truth.Exponent) > 0.15 || r.Outliers < 50 {
		t.Errorf("fit %+v with %d outliers, want near %+v", r.Params, r.Outliers, truth)
	}
}

func TestWalkInterpolation(t *testing.T) {
	marks, err := ReadWalk(strings.NewReader(`{"t":1000,"dev":"0000000000000001","x":0,"y":0}
{"t":5000,"dev":"0000000000000001","x":4,"y":8}

{"t":30000,"dev":"0000000000000001","x":10,"y":10}
{"t":2000,"track":"k1","x":1,"y":1}
`))
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWalk(marks, 2)
	if err != nil {
		t.Fatal(err)
	}
	if x, y, _, ok := w.At("dev:0000000000000001", 2000); !ok || x != 1 || y != 2 {
		t.Errorf("At 2000 = %v %v %v", x, y, ok)
	}
	if _, _, _, ok := w.At("dev:0000000000000001", 15000); ok {
		t.Errorf("a gap of 25 s is not interpolated")
	}
	if x, _, _, ok := w.At("dev:0000000000000001", 30500); !ok || x != 10 {
		t.Errorf("a lone mark counts within a second: %v %v", x, ok)
	}
	if !w.UsesTracks() {
		t.Error("UsesTracks")
	}
	if _, err := NewCollector(&wire.Site{}, w, nil); err == nil {
		t.Error("tracks without a mapping must be an error")
	}
	for _, bad := range []string{`{"t":1,"x":1,"y":1}`, `{"t":1,"dev":"zz","x":1,"y":1}`, `not json`,
		`{"t":1,"dev":"0000000000000001","track":"a","x":1,"y":1}`,
		// x and y are the mark: one missing is no mark at (x, 0) (it was)
		`{"t":1,"dev":"0000000000000001","x":1}`, `{"t":1,"track":"k1","y":1}`, `{"dev":"0000000000000001","x":1,"y":1}`,
		`{"t":1,"dev":"0000000000000001","x":null,"y":1}`} {
		if _, err := ReadWalk(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadWalk(%s) gave no error", bad)
		}
	}
}

// Walk marks naming a track are resolved through the dev→track mapping.
func TestCollectTracks(t *testing.T) {
	w := newWorld()
	d0, _ := w.data(7, 2*60*1000, 0, true)
	marks, batches := w.sim(7, 2*60*1000, 0, true)
	devs := map[wire.Dev]bool{}
	for i := range marks {
		devs[*marks[i].Dev] = true
		marks[i].Dev, marks[i].Track = nil, "k9"
	}
	tw, _ := NewWalk(marks, 0)
	c, err := NewCollector(w.site, tw, func(d wire.Dev) string {
		if devs[d] {
			return "k9"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range batches {
		c.Add(&batches[i])
	}
	d1 := c.Data()
	if d1.Frames == 0 || d1.Frames != d0.Frames || len(d1.Bursts) != len(d0.Bursts) {
		t.Errorf("by track: %d frames %d bursts; by dev: %d frames %d bursts", d1.Frames, len(d1.Bursts), d0.Frames, len(d0.Bursts))
	}
}

type fixedLocator struct{}

func (fixedLocator) Locate(b *locate.Burst) (locate.Fix, bool) { return locate.Fix{X: 0, Y: 0}, true }

// When the held-out error does not improve, nothing is applied and the
// report says so.
func TestCalibrateKeepsWhenNotBetter(t *testing.T) {
	w := newWorld()
	d, _ := w.data(3, 3*60*1000, 0, true)
	rep, err := Calibrate(d, 3, Options{NewLocator: func(*locate.Model) Locator { return fixedLocator{} }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Chosen != "none" || len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "previous values kept") {
		t.Fatalf("chosen %q notes %q", rep.Chosen, rep.Notes)
	}
	for i, s := range rep.Calibrated.Sensors {
		if s.RSSI1m != nil || s.Exponent != nil || rep.Sensors[i].Choice != Kept {
			t.Errorf("sensor %s changed", s.ID)
		}
	}
}

// The files of the contract: obs.jsonl and walk.jsonl read back give the
// same data as the batches fed directly.
func TestCollectFiles(t *testing.T) {
	w := newWorld()
	marks, batches := w.sim(11, 90*1000, 0, true)
	var obs, wl []byte
	for i := range batches {
		if i%2 == 0 {
			obs = wire.AppendJournalLine(obs, batches[i].Sent+5, &batches[i])
		} else {
			obs = wire.AppendBatch(obs, &batches[i])
		}
		obs = append(obs, '\n')
	}
	obs = append(obs, "{broken\n"...)
	for _, m := range marks {
		j, _ := json.Marshal(m)
		wl = append(append(wl, j...), '\n')
	}
	if dir := os.Getenv("PASSANT_CALIBRATION_DUMP"); dir != "" { // for trying the CLI
		sj, _ := json.Marshal(w.site)
		os.WriteFile(filepath.Join(dir, "site.json"), sj, 0o644)
		os.WriteFile(filepath.Join(dir, "obs.jsonl"), obs, 0o644)
		os.WriteFile(filepath.Join(dir, "walk.jsonl"), wl, 0o644)
	}
	rm, err := ReadWalk(bytes.NewReader(wl))
	if err != nil {
		t.Fatal(err)
	}
	walk, _ := NewWalk(rm, 0)
	d, rejected, err := Collect(w.site, walk, bytes.NewReader(obs), nil)
	if err != nil {
		t.Fatal(err)
	}
	d0, _ := w.data(11, 90*1000, 0, true)
	if rejected != 1 || d.Frames != d0.Frames || d.Frames == 0 || len(d.Bursts) != len(d0.Bursts) {
		t.Errorf("files: %d frames %d bursts %d rejected; direct: %d frames %d bursts", d.Frames, len(d.Bursts), rejected, d0.Frames, len(d0.Bursts))
	}
}

// BenchmarkFit fits one sensor to 1000 frames.
func BenchmarkFit(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := synth(rng, Params{-50, 2.8}, 1000, 1.3, 30, 4)
	for b.Loop() {
		Fit(s, Prior{Params: Params{-45, 2.5}})
	}
}

// BenchmarkCalibrate is the whole calibration of a 10-minute walk of six
// sensors: fits, six-fold validation with the locate Solver, report.
func BenchmarkCalibrate(b *testing.B) {
	d, _ := newWorld().data(1, 10*60*1000, 0, true)
	for b.Loop() {
		if _, err := Calibrate(d, 0, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
