package footfall_test

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// visitorFeatures is a diagnosis of one run of TestAccuracy, written to the
// file PASSANT_ACCURACY_VISITORS.<layout> when that is set: every visitor
// track of the replay and of footfall on the replay's positions by true
// person ("located"), with what its longest store visit looked like and
// what it was by the truth, and a count of what some rules on those
// features would take away. It asks whether the false visitors (passers-by
// in the store: corner's window-shoppers) and the shoppers' second visitor
// tracks can be told from true visitors by what footfall sees: the visit's
// dwell and fixes, its depth in the store (Plan.Depth, and the depth less
// the hysteresis margin), the store side's probability (PStore), the
// fixes outside before and after it, and the possible handoffs.
//
// A track's owner is the person whose bursts it holds most of; it is a
// second visitor ("second") when its owner has a visitor track whose
// longest visit began earlier.
func visitorFeatures(w io.Writer, site *wire.Site, tr *sim.Truth, events []diagEvent, located []wire.Position) {
	person := personOf(tr)
	truthClass := trueClasses(site, tr)
	plan := zones.NewPlan(site)
	store := plan.Store()
	loc := make([]diagEvent, len(located))
	for i, p := range located {
		loc[i] = diagEvent{pos: p}
	}
	var rows []vfRow
	for _, run := range []struct {
		name string
		ev   []diagEvent
	}{{"replay", events}, {"located", loc}} {
		c, class, final := recount(site, run.ev)
		hand := footfall.Handoffs(site, c.TrackDays(), c.Visits())
		fixes := map[string][]wire.Position{}
		n := map[string]map[string]int{}
		for _, e := range run.ev {
			if e.from != "" {
				continue
			}
			k := final(e.pos.Track)
			fixes[k] = append(fixes[k], e.pos)
			if n[k] == nil {
				n[k] = map[string]int{}
			}
			n[k][person[e.pos.Dev]]++
		}
		longest := map[string]footfall.Visit{}
		for _, v := range c.Visits() {
			if v.Zone != store || class[v.Track] != footfall.Visitor {
				continue
			}
			if b, ok := longest[v.Track]; !ok || v.End-v.Start > b.End-b.Start {
				longest[v.Track] = v
			}
		}
		starts := map[string][]int64{} // owner → starts of their visitor tracks' longest visits
		for k, v := range longest {
			o := majority(n[k])
			starts[o] = append(starts[o], v.Start)
		}
		for k, v := range longest {
			o := majority(n[k])
			r := vfRow{run: run.name, track: k, owner: o, class: truthClass[o], handoff: hand[k],
				second: slices.ContainsFunc(starts[o], func(s int64) bool { return s < v.Start }),
				dwell:  float64(v.End-v.Start) / 1000, before: v.Before > 0, after: v.After > 0,
				maxD: math.Inf(-1), maxDM: math.Inf(-1), minP: 1, laterMinP: 1}
			var sumP float64
			for _, p := range fixes[k] {
				d := plan.Depth(store, p.X, p.Y)
				if p.T < v.Start || p.T > v.End || d < 0 {
					continue
				}
				if r.fixes == 0 {
					r.firstP = p.PStore
				} else {
					r.laterMinP = min(r.laterMinP, p.PStore)
				}
				r.fixes++
				r.maxD = max(r.maxD, d)
				r.maxDM = max(r.maxDM, d-plan.Margin(store, p.Err))
				sumP += p.PStore
				r.minP = min(r.minP, p.PStore)
			}
			if r.fixes > 0 {
				r.meanP = sumP / float64(r.fixes)
				rows = append(rows, r)
			}
		}
	}
	slices.SortFunc(rows, func(a, b vfRow) int {
		if a.run != b.run {
			return -strings.Compare(a.run, b.run) // replay first
		}
		return strings.Compare(a.track, b.track)
	})
	fmt.Fprintln(w, "rules: visitor tracks each would take away, by the truth (first: a true visitor's first visitor track; second: a later one; false: a passer-by's; staff)")
	for _, run := range []string{"replay", "located"} {
		for _, rule := range vfRules {
			var first, second, falseV, staff int
			for _, r := range rows {
				if r.run != run || !rule.f(r) {
					continue
				}
				switch {
				case r.class == footfall.Passerby:
					falseV++
				case r.class == footfall.Staff:
					staff++
				case r.second:
					second++
				default:
					first++
				}
			}
			fmt.Fprintf(w, "  %-7s %-32s first %3d  second %3d  false %3d  staff %3d\n", run, rule.name, first, second, falseV, staff)
		}
	}
	fmt.Fprintln(w, "\nrun,track,owner,owner's class,second,dwell s,fixes,max depth m,max depth-margin m,mean pS,min pS,before,after,handoff")
	for _, r := range rows {
		fmt.Fprintf(w, "%s,%s,%s,%s,%v,%.0f,%d,%.2f,%.2f,%.2f,%.2f,%v,%v,%v\n", r.run, r.track, r.owner, r.class, r.second,
			r.dwell, r.fixes, r.maxD, r.maxDM, r.meanP, r.minP, r.before, r.after, r.handoff)
	}
}

// vfRow is one visitor track of visitorFeatures.
type vfRow struct {
	run, track, owner string
	class             footfall.Class
	second, handoff   bool
	before, after     bool
	dwell             float64
	fixes             int
	maxD, maxDM       float64
	meanP, minP       float64
	firstP, laterMinP float64 // the first fix's pS; the least of the others'
}

// vfRules are the rules visitorFeatures counts: what a short stay at the
// window might look like.
var vfRules = []struct {
	name string
	f    func(vfRow) bool
}{
	{"max depth - margin < 1 m", func(r vfRow) bool { return r.maxDM < 1 }},
	{"max depth < 3 m", func(r vfRow) bool { return r.maxD < 3 }},
	{"max depth < 3.5 m, dwell < 150 s", func(r vfRow) bool { return r.maxD < 3.5 && r.dwell < 150 }},
	{"mean pS < 0.85, dwell < 150 s", func(r vfRow) bool { return r.meanP < 0.85 && r.dwell < 150 }},
	{"min pS < 0.7, dwell < 120 s", func(r vfRow) bool { return r.minP < 0.7 && r.dwell < 120 }},
	{"first fix's pS < 0.7, dwell < 120 s", func(r vfRow) bool { return r.firstP < 0.7 && r.dwell < 120 }},
	{"a later fix's pS < 0.7, dwell < 120 s", func(r vfRow) bool { return r.laterMinP < 0.7 && r.dwell < 120 }},
	{"a later fix's pS < 0.65, dwell < 120 s", func(r vfRow) bool { return r.laterMinP < 0.65 && r.dwell < 120 }},
	{"at most 4 fixes, dwell < 120 s", func(r vfRow) bool { return r.fixes <= 4 && r.dwell < 120 }},
	{"possible handoff", func(r vfRow) bool { return r.handoff }},
}
