package calibration

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

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

// SensorReport is one sensor's line of the fit report.
type SensorReport struct {
	ID       string  `json:"id"`
	Samples  int     `json:"samples"`
	Previous Params  `json:"previous"`
	Fit      Result  `json:"fit"`    // the full fit on all samples
	Offset   Result  `json:"offset"` // the offset-only fit on all samples
	Applied  Params  `json:"applied"`
	Choice   Choice  `json:"choice"`
	RMSPrev  float64 `json:"rms_prev_db"`    // residual RMS of all samples under the previous values
	RMSAfter float64 `json:"rms_applied_db"` // ... under the applied values
	// Held-out RSSI residual RMS (leave-one-segment-out), dB.
	HeldPrev   float64 `json:"held_prev_db"`
	HeldFull   float64 `json:"held_full_db"`
	HeldOffset float64 `json:"held_offset_db"`
}

// ErrStats summarises position errors, metres.
type ErrStats struct {
	N      int     `json:"n"`
	Median float64 `json:"median_m"`
	Mean   float64 `json:"mean_m"`
	P90    float64 `json:"p90_m"`
}

// MarshalJSON writes NaN figures (no bursts) as null.
func (e ErrStats) MarshalJSON() ([]byte, error) {
	num := func(v float64) any {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return round(v, 3)
	}
	return json.Marshal(map[string]any{"n": e.N, "median_m": num(e.Median), "mean_m": num(e.Mean), "p90_m": num(e.P90)})
}

func statsOf(e []float64) ErrStats {
	if len(e) == 0 {
		return ErrStats{Median: math.NaN(), Mean: math.NaN(), P90: math.NaN()}
	}
	c := append([]float64(nil), e...)
	sort.Float64s(c)
	var s float64
	for _, v := range c {
		s += v
	}
	return ErrStats{N: len(c), Median: median(c), Mean: s / float64(len(c)), P90: c[int(math.Ceil(0.9*float64(len(c))))-1]}
}

// Report is the outcome of a calibration.
type Report struct {
	Site    string         `json:"site"`
	Sensors []SensorReport `json:"sensors"`
	Frames  int            `json:"frames"`
	Bursts  int            `json:"bursts"`
	Folds   int            `json:"folds"`
	// Position error on the walk with the previous and the applied values,
	// all bursts (in-sample for the applied values).
	Before ErrStats `json:"before"`
	After  ErrStats `json:"after"`
	// Held-out position error: each segment's bursts fixed with values
	// fitted without that segment.
	HeldBefore ErrStats `json:"held_before"`
	HeldAfter  ErrStats `json:"held_after"`
	// Variants holds the held-out median error of each candidate: "full",
	// "offset", "per-sensor".
	Variants map[string]float64 `json:"variants"`
	Chosen   string             `json:"chosen"` // the variant applied, or "none"
	Notes    []string           `json:"notes"`
	// Walkers is the number of reference devices when more than one; their
	// transmit offsets from the one with most frames (the reference) are
	// fitted jointly, and TxSpread is their standard deviation, dB.
	Walkers  int     `json:"walkers,omitempty"`
	TxSpread float64 `json:"tx_spread_db,omitempty"`
	// Calibrated is the site with the applied values (a copy).
	Calibrated *wire.Site `json:"-"`
}

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

// fitSensors fits every sensor on the samples keep selects (nil: all).
// With samples from several walkers it also fits each walker's transmit
// offset from the reference walker (Src 0), alternating a few times: the
// sensors on offset-corrected samples, then each walker's offset as the
// median of its residuals.
func fitSensors(samples [][]Sample, priors []Prior, walkers int, keep func(Sample) bool) ([]Result, []float64) {
	tx := make([]float64, max(walkers, 1))
	rounds := 1
	if walkers > 1 {
		rounds = 4
	}
	res := make([]Result, len(samples))
	var ss []Sample
	for r := 0; r < rounds; r++ {
		ps := make([]Params, len(samples))
		for i := range samples {
			ss = ss[:0]
			for _, s := range samples[i] {
				if keep == nil || keep(s) {
					s.RSSI -= tx[s.Src]
					ss = append(ss, s)
				}
			}
			res[i] = Fit(ss, priors[i])
			ps[i] = res[i].Params
		}
		if walkers > 1 {
			tx = txOffsets(samples, ps, walkers, keep)
		}
	}
	return res, tx
}

// txOffsets returns each walker's median residual under ps (the reference
// walker's is 0; a walker without samples gets 0).
func txOffsets(samples [][]Sample, ps []Params, walkers int, keep func(Sample) bool) []float64 {
	tx := make([]float64, max(walkers, 1))
	if walkers <= 1 {
		return tx
	}
	res := make([][]float64, walkers)
	for i := range samples {
		for _, s := range samples[i] {
			if (keep == nil || keep(s)) && s.Src > 0 {
				res[s.Src] = append(res[s.Src], s.RSSI-ps[i].Expected(s.D))
			}
		}
	}
	// Relative to the reference walker's own median residual.
	var ref []float64
	for i := range samples {
		for _, s := range samples[i] {
			if (keep == nil || keep(s)) && s.Src == 0 {
				ref = append(ref, s.RSSI-ps[i].Expected(s.D))
			}
		}
	}
	r0 := 0.0
	if len(ref) > 0 {
		r0 = median(ref)
	}
	for w := 1; w < walkers; w++ {
		if len(res[w]) > 0 {
			tx[w] = median(res[w]) - r0
		}
	}
	return tx
}

func paramsOf(rs []Result) []Params {
	ps := make([]Params, len(rs))
	for i, r := range rs {
		ps[i] = r.Params
	}
	return ps
}

func spread(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	var m, m2 float64
	for _, x := range v {
		m += x
		m2 += x * x
	}
	n := float64(len(v))
	m /= n
	return math.Sqrt(math.Max(m2/n-m*m, 0))
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

// WriteText prints the fit report as a table.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "site %s: %d frames, %d bursts of the reference device, %d validation segments\n", r.Site, r.Frames, r.Bursts, r.Folds)
	if r.Walkers > 1 {
		fmt.Fprintf(w, "%d reference devices: their transmit offsets fitted jointly (spread %.1f dB); rssi_1m is relative to the one with most frames\n", r.Walkers, r.TxSpread)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-10s %7s %14s %14s %7s %9s %9s %14s\n", "sensor", "samples", "previous", "fitted", "rms_dB", "held_prev", "held_fit", "applied")
	for _, s := range r.Sensors {
		hf := math.Min(s.HeldFull, s.HeldOffset)
		fmt.Fprintf(w, "%-10s %7d %8.1f %5.2f %8.1f %5.2f %7.2f %9.2f %9.2f %8.1f %5.2f %s\n", s.ID, s.Samples,
			s.Previous.RSSI1m, s.Previous.Exponent, s.Fit.RSSI1m, s.Fit.Exponent, s.Fit.RMS, s.HeldPrev, hf,
			s.Applied.RSSI1m, s.Applied.Exponent, s.Choice)
	}
	fmt.Fprintf(w, "(values: rssi_1m dBm, exponent; rms and held-out residuals in dB)\n")
	fmt.Fprintf(w, "\nposition error on the walk (m)      median   mean    p90   bursts\n")
	row := func(name string, e ErrStats) {
		fmt.Fprintf(w, "  %-32s %6.2f %6.2f %6.2f %6d\n", name, e.Median, e.Mean, e.P90, e.N)
	}
	row("before (previous values)", r.Before)
	row("after (applied, in-sample)", r.After)
	row("held-out before", r.HeldBefore)
	row("held-out after", r.HeldAfter)
	keys := make([]string, 0, len(r.Variants))
	for k := range r.Variants {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f m", k, r.Variants[k]))
	}
	fmt.Fprintf(w, "\nheld-out median by variant: %s; applied: %s\n", strings.Join(parts, ", "), r.Chosen)
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

func defaultLocator(m *locate.Model) Locator { return locate.NewSolver(m) }
