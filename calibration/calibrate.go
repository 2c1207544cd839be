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

	// Fold fits.
	type foldFit struct{ full, off []Params }
	fits := make([]foldFit, folds)
	held := make([][3]struct{ ss float64 }, ns)
	heldN := make([]int, ns)
	for k := 0; k < folds; k++ {
		train := func(s Sample) bool { return s.Seg != k }
		full, txFull := fitSensors(d.Samples, priors, d.Walkers, train)
		off, txOff := fitSensors(d.Samples, offsetPriors, d.Walkers, train)
		txPrev := txOffsets(d.Samples, prev, d.Walkers, train)
		ff := foldFit{full: paramsOf(full), off: paramsOf(off)}
		for i := 0; i < ns; i++ {
			for _, s := range d.Samples[i] {
				if s.Seg != k {
					continue
				}
				for v, p := range [3]Params{prev[i], ff.full[i], ff.off[i]} {
					r := s.RSSI - [3][]float64{txPrev, txFull, txOff}[v][s.Src] - p.Expected(s.D)
					held[i][v].ss += r * r
				}
				heldN[i]++
			}
		}
		fits[k] = ff
	}
	choice := make([]Choice, ns)
	for i := 0; i < ns; i++ {
		sr := SensorReport{ID: site.Sensors[i].ID, Samples: len(d.Samples[i]), Previous: prev[i]}
		n := float64(max(heldN[i], 1))
		sr.HeldPrev = math.Sqrt(held[i][0].ss / n)
		sr.HeldFull = math.Sqrt(held[i][1].ss / n)
		sr.HeldOffset = math.Sqrt(held[i][2].ss / n)
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
			return fits[k].full[i]
		case Offset:
			return fits[k].off[i]
		}
		return prev[i]
	}
	prevModel, err := modelWith(site, prev)
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
			m, err := modelWith(site, ps)
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
	fullAll, tx := fitSensors(d.Samples, priors, d.Walkers, nil)
	offAll, _ := fitSensors(d.Samples, offsetPriors, d.Walkers, nil)
	if d.Walkers > 1 {
		rep.Walkers = d.Walkers
		rep.TxSpread = round(spread(tx), 2)
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
	am, err := modelWith(site, applied)
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

func split(s []Sample, k int) (train, test []Sample) {
	for _, x := range s {
		if x.Seg == k {
			test = append(test, x)
		} else {
			train = append(train, x)
		}
	}
	return train, test
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

// modelWith returns the site's model with params for its sensors.
func modelWith(site *wire.Site, ps []Params) (*locate.Model, error) {
	m, err := locate.NewModel(site)
	if err != nil {
		return nil, err
	}
	for i := range m.Sensors {
		m.Sensors[i].RSSI1m, m.Sensors[i].Exponent = ps[i].RSSI1m, ps[i].Exponent
	}
	return m, nil
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
