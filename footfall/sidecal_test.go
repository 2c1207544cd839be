package footfall_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// TestSideCalibration prints, per shop, how well the locator's store
// side probability (wire.Position.PStore) is calibrated against the
// simulator's truth, by the fix's distance from the store's edge; and the
// door-to-door dwell median against an estimate of the time in the store
// from that probability (pinEstimate; docs/footfall.md, "2026-12-06: the
// time in the store from the side's probability"). It runs with
// PASSANT_ACCURACY like TestAccuracy (same layouts, seed and hours).
func TestSideCalibration(t *testing.T) {
	layouts, hours := accuracyRuns(t)
	seed := accuracySeed(t)
	for _, l := range layouts {
		site, in, tr, _, _ := simulate(t, l, seed, hours)
		events := replayEvents(t, site, in)
		fmt.Printf("== %s seed %d\n%s%s", l, seed, sideCalibration(site, tr.Bursts, events), pinMedians(site, tr, events))
	}
}

// sideCalibration tabulates the replay's positions by their PStore (in
// tenths) and the located fix's distance from the store's edge: how many,
// their mean PStore and the share whose burst was truly in the store.
func sideCalibration(site *wire.Site, bursts []sim.BurstTruth, events []diagEvent) string {
	plan := zones.NewPlan(site)
	store := plan.Store()
	posOf, _ := burstPositions(bursts, events)
	var n, sumP, in [3][10]float64
	for _, bu := range bursts {
		p, ok := posOf[devTime{bu.Dev, bu.T}]
		if !ok {
			continue
		}
		k := 2
		switch d := math.Abs(plan.Depth(store, p.X, p.Y)); {
		case d < 2:
			k = 0
		case d < 5:
			k = 1
		}
		bin := min(int(p.PStore*10), 9)
		n[k][bin]++
		sumP[k][bin] += p.PStore
		if plan.InStore(bu.X, bu.Y) {
			in[k][bin]++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "side calibration (PStore tenth: fixes / mean PStore / share truly in the store)\n")
	for k, name := range []string{"|depth| < 2 m", "2-5 m", ">= 5 m"} {
		fmt.Fprintf(&b, "  %-14s", name)
		for bin := range 10 {
			if n[k][bin] > 0 {
				fmt.Fprintf(&b, " %d: %.0f/%.2f/%.2f", bin, n[k][bin], sumP[k][bin]/n[k][bin], in[k][bin]/n[k][bin])
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// pinMedians is the estimate's median (the visitor tracks that the
// report's door-to-door median takes, footfall.Handoffs) against the
// truth's, with each visit's estimate from its door's fixes (the report's)
// and from the side's probability (pinEstimate).
func pinMedians(site *wire.Site, tr *sim.Truth, events []diagEvent) string {
	alias := map[string]string{}
	for _, e := range events {
		if e.from != "" {
			alias[e.from] = e.into
		}
	}
	final := finalTrack(alias)
	posOf := map[string][]wire.Position{}
	for _, e := range events {
		if e.from == "" {
			k := final(e.pos.Track)
			posOf[k] = append(posOf[k], e.pos)
		}
	}
	repV, repClass, repHand := storeVisitsHandoffs(site, events)
	minDwell := site.Footfall.VisitorMinDwellS
	people := peopleByID(tr)
	var truth []float64
	for p, c := range trueClasses(site, tr) {
		if c != footfall.Visitor {
			continue
		}
		var td float64
		for _, v := range people[p].Visits {
			if d := float64(v.End-v.Start) / 1000; d >= minDwell {
				td += d
			}
		}
		truth = append(truth, td)
	}
	var door, pin []float64
	for k, vs := range repV {
		if repClass[k] != footfall.Visitor || repHand[k] {
			continue
		}
		ps := posOf[k]
		slices.SortStableFunc(ps, func(a, b wire.Position) int { return int(a.T - b.T) })
		var d, p float64
		for _, v := range vs {
			if v.dwell() >= minDwell {
				d += v.est()
				p += pinEstimate(v.v, ps)
			}
		}
		door, pin = append(door, d), append(pin, p)
	}
	tm := med(truth)
	return fmt.Sprintf("dwell median, truth %.0f s; estimate − truth: door's fixes (the report's) %+.0f s, the side's probability %+.0f s\n",
		tm, med(door)-tm, med(pin)-tm)
}

// pinEstimate is the expected time in the store, s, of visit v of a track
// with positions ps (in order of time) from each fix's probability p_i of
// the store's side (PStore): the integral over time of p, interpolated
// linearly between fixes (the trapezoid rule),
//
//	Σ_i (t_{i+1} − t_i) · (p_i + p_{i+1}) / 2
//
// over the track's fixes from the visit's door fix outside before it
// (Visit.Before, when within 2 minutes of its first fix inside the
// outline) to the one after it (Visit.After, likewise); where there is no
// door fix, the span begins at the first fix inside the outline and
// ends at the visit's last fix, each end adding half the visit's mean
// interval times its fix's p. With p 0 at the door's fixes outside and 1
// inside, it is the report's estimate (footfall.visitEstimate).
func pinEstimate(v footfall.Visit, ps []wire.Position) float64 {
	const doorGap = 120_000
	var half float64
	if v.Fixes >= 2 {
		half = float64(v.End-v.Start) / float64(v.Fixes-1) / 2
	}
	enter := v.Start
	if v.Enter > 0 && v.Enter < v.Start {
		enter = v.Enter
	}
	doorIn := v.Before > 0 && v.Before < enter && enter-v.Before <= doorGap
	doorOut := v.After > v.End && v.After-v.End <= doorGap
	lo, hi := enter, v.End
	if doorIn {
		lo = v.Before
	}
	if doorOut {
		hi = v.After
	}
	i := slices.IndexFunc(ps, func(p wire.Position) bool { return p.T >= lo })
	if i < 0 || ps[i].T > hi {
		return v.Dwell()
	}
	var ms float64
	j := i
	for ; j+1 < len(ps) && ps[j+1].T <= hi; j++ {
		ms += float64(ps[j+1].T-ps[j].T) * (ps[j].PStore + ps[j+1].PStore) / 2
	}
	if !doorIn {
		ms += half * ps[i].PStore
	}
	if !doorOut {
		ms += half * ps[j].PStore
	}
	return ms / 1000
}

// With the side's probability 0 at the door's fixes outside and 1 at
// every fix inside, pinEstimate is the report's door-to-door estimate
// (footfall.DoorTimes): the trapezoid over the gap from the fix outside to
// the first inside is half the gap (the midpoint), and without a door fix
// each end adds half the visit's mean interval.
func TestPinEstimateIsDoorEstimate(t *testing.T) {
	const t0 = int64(1_796_000_000_000)
	fixes := func(ts ...int64) []wire.Position {
		var ps []wire.Position
		for _, s := range ts {
			ps = append(ps, wire.Position{T: t0 + s*1000, PStore: 1})
		}
		return ps
	}
	out := func(ps []wire.Position, s int64) []wire.Position {
		ps = append(ps, wire.Position{T: t0 + s*1000})
		slices.SortFunc(ps, func(a, b wire.Position) int { return int(a.T - b.T) })
		return ps
	}
	cases := []struct {
		name string
		v    footfall.Visit
		ps   []wire.Position
	}{
		{"both doors", footfall.Visit{Start: t0 + 30_000, End: t0 + 330_000, Fixes: 6, Before: t0, Enter: t0 + 30_000, After: t0 + 400_000},
			out(out(fixes(30, 90, 150, 210, 270, 330), 0), 400)},
		{"no door", footfall.Visit{Start: t0 + 30_000, End: t0 + 330_000, Fixes: 6, Enter: t0 + 30_000},
			fixes(30, 90, 150, 210, 270, 330)},
		{"entered before its start", footfall.Visit{Start: t0 + 90_000, End: t0 + 330_000, Fixes: 5, Before: t0, Enter: t0 + 30_000},
			out(fixes(30, 90, 150, 210, 270, 330), 0)},
		{"door in only, irregular", footfall.Visit{Start: t0 + 45_000, End: t0 + 300_000, Fixes: 4, Before: t0, Enter: t0 + 45_000},
			out(fixes(45, 60, 200, 300), 0)},
	}
	for _, c := range cases {
		s, e := footfall.DoorTimes(c.v)
		want := (e - s) / 1000
		if got := pinEstimate(c.v, c.ps); math.Abs(got-want) > 1e-6 {
			t.Errorf("%s: %.3f s, want the door-to-door %.3f s", c.name, got, want)
		}
	}
	// An uncertain fix inside counts its share: p 0.5 at one of the
	// fixes 60 s apart takes 30 s off.
	c := cases[1]
	ps := slices.Clone(c.ps)
	ps[2].PStore = 0.5
	s, e := footfall.DoorTimes(c.v)
	if got, want := pinEstimate(c.v, ps), (e-s)/1000-30; math.Abs(got-want) > 1e-6 {
		t.Errorf("uncertain fix: %.3f s, want %.3f s", got, want)
	}
}
