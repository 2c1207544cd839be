package calibration

import (
	"fmt"
	"io"
	"math"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// Locator fixes bursts under one model; *locate.Solver is one.
type Locator interface {
	Locate(b *locate.Burst) (locate.Fix, bool)
}

// Options tune Calibrate.
type Options struct {
	// NewLocator makes the position solver used to measure the walk's
	// position error (nil: locate.NewSolver).
	NewLocator func(m *locate.Model) Locator
	// SigmaA and SigmaN are the widths of the prior (0: the defaults).
	SigmaA, SigmaN float64
	// Progress, when set, receives a line per validation fold.
	Progress io.Writer
}

// Choice is what calibration applies to a sensor.
type Choice string

// Choices.
const (
	Kept   Choice = "kept"   // previous values kept
	Offset Choice = "offset" // only rssi_1m fitted, exponent kept
	Full   Choice = "full"   // rssi_1m and exponent fitted
)

// Calibrate fits every sensor of d.Site on the walk, validates the fit by
// leave-one-segment-out and returns the report with the calibrated site.
//
// For each segment k of the walk the sensors are fitted on the other
// segments, both fully and offset-only (exponent held at its previous
// value). Per sensor, the choice with the lowest held-out RSSI residual wins
// (previous values win ties). Three candidate models — all full, all
// offset-only, per-sensor choice — are then judged by the held-out position
// error of the walk's bursts: the per-sensor choice is applied if it lowers
// the held-out median error, else the offset-only fit if that does, else
// nothing, and the report says so.
func Calibrate(d *Data, folds int, opt Options) (*Report, error) {
	site := d.Site
	if len(d.Bursts) == 0 {
		return nil, fmt.Errorf("calibration: no frames of the reference device fall on the walk (check dev/track ids and times)")
	}
	newLoc := opt.NewLocator
	if newLoc == nil {
		newLoc = defaultLocator
	}
	if folds <= 0 {
		folds = DefaultFolds
	}
	ns := len(site.Sensors)
	prev := make([]Params, ns)
	priors := make([]Prior, ns)
	offsetPriors := make([]Prior, ns)
	for i := range site.Sensors {
		r := site.SensorRadio(i)
		prev[i] = Params{r.RSSI1m, r.Exponent}
		priors[i] = Prior{Params: prev[i], SigmaA: opt.SigmaA, SigmaN: opt.SigmaN}
		offsetPriors[i] = offsetPrior(priors[i])
	}
	rep := &Report{Site: site.Site, Frames: d.Frames, Bursts: len(d.Bursts), Folds: folds, Variants: map[string]float64{}}

	// Fold fits, with and without the 5 GHz offset's correction.
	type foldFit struct {
		full, off [2]WalkFit // by useO5 (0: without, 1: with)
	}
	fits := make([]foldFit, folds)
	held := make([][2][3]float64, ns) // by sensor, useO5, variant (previous, full, offset)
	heldN := make([]int, ns)
	var held5 [2]float64 // the 5 GHz frames' held-out residuals under the full fits
	var held5N int
	// The fits on all frames, which also start the fold fits.
	var whole foldFit
	for o := 0; o < 2; o++ {
		whole.full[o] = fitWalk(d, priors, nil, o == 1, nil)
		whole.off[o] = fitWalk(d, offsetPriors, nil, o == 1, &whole.full[o])
	}
	for k := 0; k < folds; k++ {
		train := func(s Sample) bool { return s.Seg != k }
		var ff foldFit
		for o := 0; o < 2; o++ {
			ff.full[o] = fitWalk(d, priors, train, o == 1, &whole.full[o])
			ff.off[o] = fitWalk(d, offsetPriors, train, o == 1, &whole.off[o])
		}
		txPrev := txOffsets(d.Samples, prev, d.Walkers, train)
		// A walker not heard in the training segments has no transmit
		// offset: its held-out frames would score every variant against
		// an arbitrary one.
		known := make([]bool, max(d.Walkers, 1))
		for i := range d.Samples {
			for _, s := range d.Samples[i] {
				known[s.Src] = known[s.Src] || s.Seg != k
			}
		}
		for i := 0; i < ns; i++ {
			sel := ff.full[1].Sensors[i]
			for _, s := range d.Samples[i] {
				if s.Seg != k || !known[s.Src] || !clearOfFloor(s, sel.Params, ff.full[1].Offset5, ff.full[1].Tx[s.Src], sel.Noise) {
					continue
				}
				heldN[i]++
				r := s.RSSI - txPrev[s.Src] - prev[i].Expected(s.D)
				held[i][0][0] += r * r
				held[i][1][0] += r * r
				for o := 0; o < 2; o++ {
					for v, wf := range [2]*WalkFit{&ff.full[o], &ff.off[o]} {
						r := s.RSSI - wf.Tx[s.Src] - wf.predict(i, s)
						held[i][o][v+1] += r * r
						if s.Band5 && v == 0 {
							held5[o] += r * r
						}
					}
				}
				if s.Band5 {
					held5N++
				}
			}
		}
		fits[k] = ff
	}
	// The 5 GHz correction is used when it predicts the held-out frames
	// better (all frames, all sensors, the full fits).
	var heldWith, heldWithout float64
	for i := range held {
		heldWith += held[i][1][1]
		heldWithout += held[i][0][1]
	}
	useO5 := 0
	if held5N > 0 && heldWith < heldWithout {
		useO5 = 1
	}
	choice := make([]Choice, ns)
	for i := 0; i < ns; i++ {
		sr := SensorReport{ID: site.Sensors[i].ID, Samples: len(d.Samples[i]), Previous: prev[i]}
		n := float64(max(heldN[i], 1))
		sr.HeldPrev = math.Sqrt(held[i][useO5][0] / n)
		sr.HeldFull = math.Sqrt(held[i][useO5][1] / n)
		sr.HeldOffset = math.Sqrt(held[i][useO5][2] / n)
		choice[i] = Kept
		best := sr.HeldPrev
		if heldN[i] > 0 && sr.HeldOffset < best {
			choice[i], best = Offset, sr.HeldOffset
		}
		if heldN[i] > 0 && sr.HeldFull < best {
			choice[i] = Full
		}
		rep.Sensors = append(rep.Sensors, sr)
	}

	// Judge candidate models by held-out position error.
	pick := func(variant string, k int, i int) Params {
		c := choiceOf(variant, choice[i])
		switch c {
		case Full:
			return fits[k].full[useO5].Sensors[i].Params
		case Offset:
			return fits[k].off[useO5].Sensors[i].Params
		}
		return prev[i]
	}
	prevModel, err := modelWith(site, prev, 0)
	if err != nil {
		return nil, err
	}
	prevLoc := newLoc(prevModel)
	var heldBefore []float64
	heldBy := map[string][]float64{}
	variants := []string{"full", "offset", "per-sensor"}
	for k := 0; k < folds; k++ {
		var bursts []*TruthBurst
		for j := range d.Bursts {
			if d.Bursts[j].Seg == k {
				bursts = append(bursts, &d.Bursts[j])
			}
		}
		if len(bursts) == 0 {
			continue
		}
		eb := locateAll(prevLoc, bursts)
		for _, v := range variants {
			ps := make([]Params, ns)
			for i := range ps {
				ps[i] = pick(v, k, i)
			}
			m, err := modelWith(site, ps, fits[k].full[useO5].Offset5)
			if err != nil {
				return nil, err
			}
			ea := locateAll(newLoc(m), bursts)
			// Compare on the bursts both models could fix.
			for j := range eb {
				if !math.IsNaN(eb[j]) && !math.IsNaN(ea[j]) {
					heldBy[v] = append(heldBy[v], ea[j])
					if v == "full" {
						heldBefore = append(heldBefore, eb[j])
					}
				}
			}
		}
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "validation: segment %d/%d (%d bursts)\n", k+1, folds, len(bursts))
		}
	}
	rep.HeldBefore = statsOf(heldBefore)
	rep.Chosen = "none"
	for _, v := range variants {
		rep.Variants[v] = round(statsOf(heldBy[v]).Median, 3)
	}
	// The per-sensor choice is the principled one (each sensor validated in
	// dB); offset-only is the cautious fallback. The first that lowers the
	// held-out median position error is applied.
	for _, v := range []string{"per-sensor", "offset"} {
		if st := statsOf(heldBy[v]); st.N > 0 && st.Median < rep.HeldBefore.Median {
			rep.Chosen, rep.HeldAfter = v, st
			break
		}
	}
	if rep.Chosen == "none" {
		rep.HeldAfter = rep.HeldBefore
		rep.Notes = append(rep.Notes, fmt.Sprintf(
			"held-out position error does not improve with the fitted values (%.2f m before; full %.2f m, offset-only %.2f m, per-sensor %.2f m): previous values kept",
			rep.HeldBefore.Median, rep.Variants["full"], rep.Variants["offset"], rep.Variants["per-sensor"]))
	}

	// Final values: fitted on all samples.
	applied := append([]Params(nil), prev...)
	out := cloneSite(site)
	fullFit, offFit := whole.full[useO5], whole.off[useO5]
	fullAll, offAll, tx := fullFit.Sensors, offFit.Sensors, fullFit.Tx
	if d.Walkers > 1 {
		rep.Walkers = d.Walkers
		rep.TxSpread = round(spread(tx), 2)
	}
	delta := 0.0
	if held5N > 0 {
		with := whole.full[1]
		prevO5 := site.Radio.Offset5GHz
		rep.Offset5 = &Offset5Report{Previous: prevO5, Fitted: round(prevO5+with.Offset5, 2), SE: round(with.Offset5SE, 2),
			HeldWithout:  round(math.Sqrt(heldWithout/float64(max(sumInts(heldN), 1))), 3),
			HeldWith:     round(math.Sqrt(heldWith/float64(max(sumInts(heldN), 1))), 3),
			Held5Without: round(math.Sqrt(held5[0]/float64(held5N)), 3), Held5With: round(math.Sqrt(held5[1]/float64(held5N)), 3)}
		if useO5 == 1 && rep.Chosen != "none" {
			delta = round(fullFit.Offset5, 1)
			rep.Offset5.Applied = true
			out.Radio.Offset5GHz = round(prevO5+delta, 1)
			for i := range out.Sensors {
				if o := out.Sensors[i].Offset5GHz; o != nil {
					v := round(*o+delta, 1)
					out.Sensors[i].Offset5GHz = &v
				}
			}
		} else if rep.Chosen != "none" {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the 5 GHz offset fitted from the walk (%+.1f dB) does not predict held-out frames better: offset_5ghz kept", with.Offset5))
		}
	}
	for i := range rep.Sensors {
		sr := &rep.Sensors[i]
		sr.Fit = fullAll[i]
		sr.Offset = offAll[i]
		c := Kept
		if rep.Chosen != "none" {
			c = choiceOf(rep.Chosen, choice[i])
		}
		sr.Choice = c
		switch c {
		case Full:
			applied[i] = roundParams(sr.Fit.Params)
		case Offset:
			applied[i] = roundParams(sr.Offset.Params)
		}
		sr.Applied = applied[i]
		sr.RMSPrev = Residual(d.Samples[i], prev[i])
		sr.RMSAfter = Residual(d.Samples[i], applied[i])
		if c != Kept {
			a, n := applied[i].RSSI1m, applied[i].Exponent
			out.Sensors[i].RSSI1m, out.Sensors[i].Exponent = &a, &n
		}
		if sr.Samples == 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("sensor %s heard no frame of the walk", sr.ID))
		} else if c == Kept && rep.Chosen != "none" {
			rep.Notes = append(rep.Notes, fmt.Sprintf("sensor %s: the fit does not predict held-out frames better (%.1f dB vs %.1f dB previous): previous values kept",
				sr.ID, math.Min(sr.HeldFull, sr.HeldOffset), sr.HeldPrev))
		}
	}
	all := make([]*TruthBurst, len(d.Bursts))
	for j := range d.Bursts {
		all[j] = &d.Bursts[j]
	}
	rep.Before = statsOf(finite(locateAll(prevLoc, all)))
	am, err := modelWith(site, applied, delta)
	if err != nil {
		return nil, err
	}
	rep.After = statsOf(finite(locateAll(newLoc(am), all)))
	rep.Calibrated = out
	return rep, nil
}

func choiceOf(variant string, perSensor Choice) Choice {
	switch variant {
	case "full":
		return Full
	case "offset":
		return Offset
	}
	return perSensor
}

func offsetPrior(p Prior) Prior {
	p.SigmaN = 1e-4
	return p
}

// locateAll returns each burst's position error, NaN where no fix.
func locateAll(l Locator, bs []*TruthBurst) []float64 {
	e := make([]float64, len(bs))
	for j, b := range bs {
		f, ok := l.Locate(&b.Burst)
		if !ok {
			e[j] = math.NaN()
			continue
		}
		e[j] = math.Hypot(f.X-b.X, f.Y-b.Y)
	}
	return e
}

func finite(v []float64) []float64 {
	out := v[:0:0]
	for _, x := range v {
		if !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	return out
}

// modelWith returns the site's model with params for its sensors and the
// 5 GHz offsets moved by delta dB.
func modelWith(site *wire.Site, ps []Params, delta float64) (*locate.Model, error) {
	m, err := locate.NewModel(site)
	if err != nil {
		return nil, err
	}
	for i := range m.Sensors {
		m.Sensors[i].RSSI1m, m.Sensors[i].Exponent = ps[i].RSSI1m, ps[i].Exponent
		m.Sensors[i].Offset5 += delta
	}
	return m, nil
}

// heldClear is how many noise sigmas above its censoring point a held-out
// frame's prediction must lie to be scored: below, only the frames that
// came in strong are heard, and a model that predicts too high would look
// better. The selection is by the fold's fit (its training frames), not by
// the held-out frame's RSSI.
const heldClear = 2.5

// clearOfFloor reports whether the frame s, predicted by p, the 5 GHz
// correction delta and its walker's transmit offset tx, lies heldClear
// noise sigmas above its censoring point.
func clearOfFloor(s Sample, p Params, delta, tx, noise float64) bool {
	if s.Censor == 0 {
		return true
	}
	m := p.Expected(s.D) + tx
	if s.Band5 {
		m += delta
	}
	return m >= s.Censor+heldClear*math.Max(noise, MinNoise)
}

func sumInts(v []int) int {
	n := 0
	for _, x := range v {
		n += x
	}
	return n
}

// cloneSite returns a deep enough copy of s to change sensors' radio fields.
func cloneSite(s *wire.Site) *wire.Site {
	c := *s
	c.Sensors = append([]wire.Sensor(nil), s.Sensors...)
	return &c
}

func round(v float64, dec int) float64 {
	p := math.Pow(10, float64(dec))
	return math.Round(v*p) / p
}

func roundParams(p Params) Params {
	return Params{round(p.RSSI1m, 1), round(p.Exponent, 2)}
}

func defaultLocator(m *locate.Model) Locator { return locate.NewSolver(m) }
