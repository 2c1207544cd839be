package calibration

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/passant/passant/wire"
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

// Offset5Report is the fit of the site's 5 GHz offset: one correction
// shared by all sensors, fitted jointly with them, and validated like them
// on held-out segments (RSSI residual RMS, dB, of all frames and of the
// 5 GHz frames, under the full fits with and without it).
type Offset5Report struct {
	Previous     float64 `json:"previous"`
	Fitted       float64 `json:"fitted"`
	SE           float64 `json:"se"`
	HeldWithout  float64 `json:"held_without_db"`
	HeldWith     float64 `json:"held_with_db"`
	Held5Without float64 `json:"held_5ghz_without_db"`
	Held5With    float64 `json:"held_5ghz_with_db"`
	Applied      bool    `json:"applied"`
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
	// Offset5 is the walk's estimate of the site's offset_5ghz (nil when
	// no 5 GHz frame was heard).
	Offset5 *Offset5Report `json:"offset_5ghz,omitempty"`
	// Calibrated is the site with the applied values (a copy).
	Calibrated *wire.Site `json:"-"`
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
	if o := r.Offset5; o != nil {
		state := "kept"
		if o.Applied {
			state = "applied"
		}
		fmt.Fprintf(w, "offset_5ghz  %6.1f -> %6.2f ± %.2f dB   held-out residual %.2f -> %.2f dB (5 GHz frames %.2f -> %.2f)  %s\n",
			o.Previous, o.Fitted, o.SE, o.HeldWithout, o.HeldWith, o.Held5Without, o.Held5With, state)
	}
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
