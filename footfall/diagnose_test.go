package footfall_test

import (
	"fmt"
	"slices"
	"strings"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// The diagnosis behind the end-to-end figures: which of the report's
// tracks are extra (or missing) passers-by and visitors, and why. Each
// track of the replay (after its merges) belongs to the person whose
// bursts it holds most of (by the simulator's truth); a person should own
// one track of their true class. What differs is put in a category, so
// that replay − truth = extra − missing, class by class.

// The categories, in the order printed.
const (
	// extra passers-by
	catPbSplit    = "passer-by split on the street"
	catShopBefore = "shopper's approach (before the door)"
	catShopAfter  = "shopper's leaving (after the door)"
	catShopInside = "shopper's fragment inside, no visit"
	catShopMissed = "shopper counted as a passer-by (also with perfect linking)"
	// a shopper whose visit survives perfect linking on the same positions
	catShopMissedLink = "shopper counted as a passer-by (replay only)"
	catStaffPb        = "staff fragment as passer-by"
	catNoOwner        = "track of no known person"
	// missing passers-by
	catPbVisitor  = "passer-by counted as a visitor"
	catPbAbsorbed = "passer-by absorbed into another's track"
	catPbStaff    = "passer-by counted as staff"
	// extra visitors
	catShopSplit  = "shopper split inside: a second visitor"
	catFalseV     = "passer-by in the store (also with perfect linking)"
	catFalseVLink = "passer-by in the store (replay only)"
	catStaffV     = "staff fragment as visitor"
	// missing visitors
	catShopAbsorbed = "shopper absorbed into another's track"
	catShopStaff    = "shopper counted as staff"
)

var (
	pbExtraCats = []string{catPbSplit, catShopBefore, catShopAfter, catShopInside, catShopMissed, catShopMissedLink, catStaffPb, catNoOwner}
	pbMissCats  = []string{catPbVisitor, catPbAbsorbed, catPbStaff}
	vExtraCats  = []string{catShopSplit, catFalseV, catFalseVLink, catStaffV}
	vMissCats   = []string{catShopMissed, catShopMissedLink, catShopAbsorbed, catShopStaff}
)

// diagEvent is what the replay's counter saw: a position, or a merge.
type diagEvent struct {
	pos        wire.Position
	from, into string // a merge when from != ""
}

// diagnosis counts a replay's extra and missing tracks by category.
type diagnosis struct {
	layout                  string
	pbExtra, pbMiss         map[string]int
	vExtra, vMiss           map[string]int
	passersby, visitors     int // the replay's, recounted (must match the report)
	truthPb, truthV         int
	merged, mergedV         int // tracks holding several persons; of them visitors
	joins, joinsRight       int // street fragments joined into others (joinStreet); of them, of the same person
	splitModel              map[string]int
	approachGap, leavingGap []float64 // s, from one track to the person's next
	staff                   staffFigures
}

// personOf maps each pseudonym of the truth to its person.
func personOf(tr *sim.Truth) map[wire.Dev]string {
	m := map[wire.Dev]string{}
	for _, b := range tr.Bursts {
		m[b.Dev] = b.Person
	}
	return m
}

// peopleByID maps each person of the truth by id.
func peopleByID(tr *sim.Truth) map[string]*sim.PersonTruth {
	m := map[string]*sim.PersonTruth{}
	for i := range tr.People {
		m[tr.People[i].Person] = &tr.People[i]
	}
	return m
}

// recount replays the events into a fresh counter, as the replay's own
// counter saw them (positions and late merges), and returns it, each
// track's class, and final, which follows a track through the merges that
// joined it into others.
func recount(site *wire.Site, events []diagEvent) (*footfall.Counter, map[string]footfall.Class, func(string) string) {
	c := footfall.NewCounter(site, zones.NewPlan(site))
	alias := map[string]string{}
	for _, e := range events {
		if e.from != "" {
			c.Merge(e.from, e.into)
			alias[e.from] = e.into
			continue
		}
		c.Add(e.pos)
	}
	c.Flush()
	return c, footfall.Classes(site, c.TrackDays(), c.Visits()), finalTrack(alias)
}

// streetJoins returns the report's joins of street fragments (joined
// track → the track it counts as), of the recounted counter c, and final
// extended by them.
func streetJoins(site *wire.Site, c *footfall.Counter, final func(string) string) (map[string]string, func(string) string) {
	joins := footfall.JoinMap(site, c.TrackDays(), c.Visits())
	return joins, func(k string) string {
		k = final(k)
		if j, ok := joins[k]; ok {
			return j
		}
		return k
	}
}

// finalTrack follows a track through alias (merged track → the track it
// was merged into) to the one that holds it in the end.
func finalTrack(alias map[string]string) func(string) string {
	return func(k string) string {
		for {
			n, ok := alias[k]
			if !ok {
				return k
			}
			k = n
		}
	}
}

// diagnose replays the events into a fresh counter (as the replay's own
// counter saw them) and classifies every track against the truth;
// locatedClass is each person's class with perfect linking.
func diagnose(layout string, site *wire.Site, tr *sim.Truth, events []diagEvent, locatedClass map[string]footfall.Class) diagnosis {
	d := diagnosis{layout: layout, pbExtra: map[string]int{}, pbMiss: map[string]int{}, vExtra: map[string]int{}, vMiss: map[string]int{}, splitModel: map[string]int{}}
	c, class, merged := recount(site, events)
	joins, final := streetJoins(site, c, merged)
	d.staff = staffRun(nil, site, tr, events)

	person := personOf(tr)
	people := peopleByID(tr)
	truthClass := trueClasses(site, tr)

	tracks := trackPersons(events, person, final)
	owned := map[string][]string{} // person → tracks, by first fix
	names := make([]string, 0, len(tracks))
	for k := range tracks {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return int(tracks[a].first - tracks[b].first) })
	for _, k := range names {
		ti := tracks[k]
		best := majority(ti.n)
		ti.owner = best
		owned[best] = append(owned[best], k)
		if len(ti.n) > 1 {
			d.merged++
			if class[k] == footfall.Visitor {
				d.mergedV++
			}
		}
		switch class[k] {
		case footfall.Passerby:
			d.passersby++
		case footfall.Visitor:
			d.visitors++
		}
	}
	// The joins by the truth: a join is right when both fragments'
	// bursts are mostly one person's.
	frag := map[string]map[string]int{}
	for _, e := range events {
		if e.from != "" {
			continue
		}
		k := merged(e.pos.Track)
		if frag[k] == nil {
			frag[k] = map[string]int{}
		}
		frag[k][person[e.pos.Dev]]++
	}
	for from, into := range joins {
		d.joins++
		if o := majority(frag[from]); o != "" && o == majority(frag[into]) {
			d.joinsRight++
		}
	}
	for _, k := range owned[""] {
		if class[k] == footfall.Passerby {
			d.pbExtra[catNoOwner]++
		}
	}

	for p, tc := range truthClass {
		var pb, v, st []string
		for _, k := range owned[p] {
			switch class[k] {
			case footfall.Passerby:
				pb = append(pb, k)
			case footfall.Visitor:
				v = append(v, k)
			default:
				st = append(st, k)
			}
		}
		switch tc {
		case footfall.Passerby:
			d.truthPb++
			switch {
			case len(pb) > 0:
				d.pbExtra[catPbSplit] += len(pb) - 1
				if len(pb) > 1 {
					d.splitModel[people[p].Model] += len(pb) - 1
				}
			case len(v) > 0:
				d.pbMiss[catPbVisitor]++
			case len(st) > 0:
				d.pbMiss[catPbStaff]++
			default:
				d.pbMiss[catPbAbsorbed]++
			}
			for range v {
				if locatedClass[p] == footfall.Visitor {
					d.vExtra[catFalseV]++
				} else {
					d.vExtra[catFalseVLink]++
				}
			}
		case footfall.Visitor:
			d.truthV++
			switch {
			case len(v) > 0:
				d.vExtra[catShopSplit] += len(v) - 1
			case len(pb) > 0:
				c := catShopMissed
				if locatedClass[p] == footfall.Visitor {
					c = catShopMissedLink
				}
				d.vMiss[c]++
				d.pbExtra[c]++
				pb = pb[1:]
			case len(st) > 0:
				d.vMiss[catShopStaff]++
			default:
				d.vMiss[catShopAbsorbed]++
			}
			vs := people[p].Visits
			in, out := vs[0].Start, vs[len(vs)-1].End
			for _, k := range pb {
				ti := tracks[k]
				next := nextStart(owned[p], tracks[k].last, func(k string) int64 { return tracks[k].first })
				switch {
				case ti.last <= in:
					d.pbExtra[catShopBefore]++
					if next > 0 {
						d.approachGap = append(d.approachGap, float64(next-ti.last)/1000)
					}
				case ti.first >= out:
					d.pbExtra[catShopAfter]++
					prev := prevEnd(owned[p], ti.first, func(k string) int64 { return tracks[k].last })
					if prev > 0 {
						d.leavingGap = append(d.leavingGap, float64(ti.first-prev)/1000)
					}
				default:
					d.pbExtra[catShopInside]++
				}
			}
		default: // staff
			d.pbExtra[catStaffPb] += len(pb)
			d.vExtra[catStaffV] += len(v)
		}
	}
	return d
}

// trackInfo is a final track of the replay: bursts per person, first and
// last fix, and its owner (set by the caller).
type trackInfo struct {
	n           map[string]int
	first, last int64
	lastPos     wire.Position
	owner       string
}

// trackPersons returns the final tracks (final follows merges and joins)
// of the events' positions.
func trackPersons(events []diagEvent, person map[wire.Dev]string, final func(string) string) map[string]*trackInfo {
	tracks := map[string]*trackInfo{}
	for _, e := range events {
		if e.from != "" {
			continue
		}
		k := final(e.pos.Track)
		ti := tracks[k]
		if ti == nil {
			ti = &trackInfo{n: map[string]int{}, first: e.pos.T}
			tracks[k] = ti
		}
		ti.n[person[e.pos.Dev]]++
		ti.last, ti.lastPos = e.pos.T, e.pos
	}
	return tracks
}

// majority returns the person with the most bursts in n (ties to the
// first by name), "" when none.
func majority(n map[string]int) string {
	best := ""
	for p, c := range n {
		if best == "" || c > n[best] || c == n[best] && p < best {
			best = p
		}
	}
	return best
}

// nextStart returns the earliest start after t among the tracks, 0 if none.
func nextStart(ks []string, t int64, start func(string) int64) int64 {
	var best int64
	for _, k := range ks {
		if s := start(k); s > t && (best == 0 || s < best) {
			best = s
		}
	}
	return best
}

// prevEnd returns the latest end before t among the tracks, 0 if none.
func prevEnd(ks []string, t int64, end func(string) int64) int64 {
	var best int64
	for _, k := range ks {
		if e := end(k); e < t && e > best {
			best = e
		}
	}
	return best
}

// trueClasses applies truthFigures' rules person by person.
func trueClasses(site *wire.Site, tr *sim.Truth) map[string]footfall.Class {
	first, last := map[string]int64{}, map[string]int64{}
	for _, b := range tr.Bursts {
		if _, ok := first[b.Person]; !ok {
			first[b.Person] = b.T
		}
		last[b.Person] = b.T
	}
	out := map[string]footfall.Class{}
	for _, p := range tr.People {
		if _, heard := first[p.Person]; !heard {
			continue
		}
		if float64(last[p.Person]-first[p.Person]) > site.Footfall.StaffMinDwellS*1000 {
			out[p.Person] = footfall.Staff
			continue
		}
		out[p.Person] = footfall.Passerby
		for _, v := range p.Visits {
			if float64(v.End-v.Start)/1000 >= site.Footfall.VisitorMinDwellS {
				out[p.Person] = footfall.Visitor
			}
		}
	}
	return out
}

// diagnosisTable prints the categories per shop: passers-by (extra, then
// missing) and visitors (extra, then missing), with the net beside the
// report's error.
func diagnosisTable(ds []diagnosis) string {
	var b strings.Builder
	head := "| category |"
	sep := "|---|"
	for _, d := range ds {
		head += " " + d.layout + " |"
		sep += "---|"
	}
	b.WriteString(head + "\n" + sep + "\n")
	row := func(name string, f func(d diagnosis) string) {
		b.WriteString("| " + name + " |")
		for _, d := range ds {
			b.WriteString(" " + f(d) + " |")
		}
		b.WriteString("\n")
	}
	section := func(title string, extra, miss []string, ex, mi func(d diagnosis) map[string]int, got, want func(d diagnosis) int) {
		row("**"+title+": replay − truth**", func(d diagnosis) string { return fmt.Sprintf("**%+d**", got(d)-want(d)) })
		for _, c := range extra {
			row("+ "+c, func(d diagnosis) string { return fmt.Sprint(ex(d)[c]) })
		}
		for _, c := range miss {
			row("− "+c, func(d diagnosis) string { return fmt.Sprint(mi(d)[c]) })
		}
	}
	section("passers-by", pbExtraCats, pbMissCats, func(d diagnosis) map[string]int { return d.pbExtra }, func(d diagnosis) map[string]int { return d.pbMiss },
		func(d diagnosis) int { return d.passersby }, func(d diagnosis) int { return d.truthPb })
	section("visitors", vExtraCats, vMissCats, func(d diagnosis) map[string]int { return d.vExtra }, func(d diagnosis) map[string]int { return d.vMiss },
		func(d diagnosis) int { return d.visitors }, func(d diagnosis) int { return d.truthV })
	row("staff phones found / true (counted again; staff counted for others)", func(d diagnosis) string {
		s := d.staff
		return fmt.Sprintf("%d / %d (%d; %d)", s.found, s.truth, s.twice, s.others)
	})
	row("staff phones' fixes in visitor / passer-by tracks", func(d diagnosis) string {
		s := d.staff
		return fmt.Sprintf("%.1f%% / %.1f%% of %d", 100*float64(s.inV)/max(float64(s.fixes), 1), 100*float64(s.inPb)/max(float64(s.fixes), 1), s.fixes)
	})
	row("tracks of several persons (of them visitors)", func(d diagnosis) string { return fmt.Sprintf("%d (%d)", d.merged, d.mergedV) })
	row("street fragments joined by count: right by the truth", func(d diagnosis) string {
		return fmt.Sprintf("%d: %d (%.0f%%)", d.joins, d.joinsRight, 100*float64(d.joinsRight)/max(float64(d.joins), 1))
	})
	row("passer-by splits by model", func(d diagnosis) string {
		var ms []string
		for m, n := range d.splitModel {
			ms = append(ms, fmt.Sprintf("%s %d", m, n))
		}
		slices.Sort(ms)
		return strings.Join(ms, ", ")
	})
	row("gap to the next track after an approach / before a leaving, median s", func(d diagnosis) string {
		return fmt.Sprintf("%.0f / %.0f", median(d.approachGap), median(d.leavingGap))
	})
	return b.String()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
