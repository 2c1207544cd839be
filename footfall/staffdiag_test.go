package footfall_test

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// staffFigures is what became of the true staff phones in one run of
// TestAccuracy: the staff members the report counts, each owned by the
// person whose fixes its tracks (a chain's, or a staff track's alone) hold
// most of, and the staff phones' fixes by the class of the track they went
// to.
type staffFigures struct {
	truth   int // true staff phones heard
	found   int // of them, the owner of at least one counted staff member
	counted int // staff members counted (the report's staff)
	others  int // of them, owned by someone who is not staff
	twice   int // of them, a second (third, ...) one of a staff phone found
	// The staff phones' fixes: all, in visitor tracks, in passer-by tracks.
	fixes, inV, inPb int
}

// staffRun computes staffFigures from a recount of the replay's events;
// when w is not nil it writes, per true staff phone, its fixes by class
// and every track-day of its model with a store visit or a fix of it, in
// time order, with its class, chain and owner.
func staffRun(w io.Writer, site *wire.Site, tr *sim.Truth, events []diagEvent) staffFigures {
	c, _, merged := recount(site, events)
	_, final := streetJoins(site, c, merged)
	days, visits := c.TrackDays(), c.Visits()
	pieces := footfall.ChainPieces(site, days, visits)
	person := personOf(tr)
	people := peopleByID(tr)
	truthClass := trueClasses(site, tr)

	tracks := trackPersons(events, person, final)
	fpOf := map[string]string{} // person → fingerprint of their fixes
	for _, e := range events {
		if e.from == "" && e.pos.FP != "" {
			fpOf[person[e.pos.Dev]] = e.pos.FP
		}
	}
	var sf staffFigures
	var staff []string
	for p, tc := range truthClass {
		if tc == footfall.Staff {
			staff = append(staff, p)
		}
	}
	slices.Sort(staff)
	sf.truth = len(staff)
	// Staff members: chain id (or -1-i for a staff track alone) → fixes by person.
	members := map[string]map[string]int{}
	memberOf := func(k string) string {
		pc := pieces[k]
		if pc.Chain > 0 {
			return fmt.Sprint("chain ", pc.Chain)
		}
		return "track " + k
	}
	counts := map[string]int{}
	for k, pc := range pieces {
		if pc.Class != footfall.Staff {
			continue
		}
		m := memberOf(k)
		if members[m] == nil {
			members[m] = map[string]int{}
		}
		if pc.Counts {
			counts[m]++
		}
		for p, n := range tracks[k].n {
			members[m][p] += n
		}
	}
	found := map[string]int{}
	owner := map[string]string{}
	for m, n := range members {
		o := majority(n)
		owner[m] = o
		sf.counted += counts[m]
		if counts[m] == 0 {
			continue
		}
		if truthClass[o] != footfall.Staff {
			sf.others += counts[m]
			continue
		}
		found[o] += counts[m]
	}
	for _, n := range found {
		sf.found++
		sf.twice += n - 1
	}
	class := func(k string) footfall.Class {
		if pc, ok := pieces[k]; ok {
			return pc.Class
		}
		return footfall.Passerby
	}
	for _, p := range staff {
		for k, ti := range tracks {
			n := ti.n[p]
			sf.fixes += n
			switch class(k) {
			case footfall.Visitor:
				sf.inV += n
			case footfall.Passerby:
				sf.inPb += n
			}
		}
	}
	if w == nil {
		return sf
	}
	fmt.Fprintf(w, "staff: true %d, found %d (counted twice or more: %d), counted %d (of them owned by others %d); staff fixes %d, in visitor tracks %d, in passer-by tracks %d\n",
		sf.truth, sf.found, sf.twice, sf.counted, sf.others, sf.fixes, sf.inV, sf.inPb)
	for _, l := range footfall.ChainSurvey(site, days, visits, func(k string) string {
		n := 0
		for _, m := range tracks[k].n {
			n += m
		}
		o := majority(tracks[k].n)
		return fmt.Sprintf("(%s %s %.0f%%)", o, truthClass[o], 100*float64(tracks[k].n[o])/float64(n))
	}) {
		fmt.Fprintln(w, l)
	}
	fpTracks := map[string]string{}
	for _, d := range days {
		fpTracks[d.Track] = d.FP
	}
	// Where the staff phones' fragments (their own tracks not counted as
	// staff) lie against the staff chains' pieces of their model.
	type iv struct{ first, last int64 }
	chainPieces := map[string][]iv{}
	for k, pc := range pieces {
		if pc.Class == footfall.Staff && tracks[k] != nil {
			chainPieces[fpTracks[k]] = append(chainPieces[fpTracks[k]], iv{tracks[k].first, tracks[k].last})
		}
	}
	where := map[string]int{}
	for k, ti := range tracks {
		o := majority(ti.n)
		if truthClass[o] != footfall.Staff || class(k) == footfall.Staff {
			continue
		}
		ps := chainPieces[fpTracks[k]]
		cat := "outside every staff track of the model"
		var lo, hi int64 = 1 << 62, -1 << 62
		for _, p := range ps {
			lo, hi = min(lo, p.first), max(hi, p.last)
		}
		switch {
		case slices.ContainsFunc(ps, func(p iv) bool { return p.first <= ti.first && p.last >= ti.last }):
			cat = "under one staff piece"
		case slices.ContainsFunc(ps, func(p iv) bool { return p.first <= ti.last && p.last >= ti.first }):
			cat = "overlapping staff pieces"
		case ti.first >= lo && ti.last <= hi:
			cat = "in a gap between staff pieces"
		}
		if pieces[k].Visits == 0 {
			cat += ", no store visit"
		} else {
			cat += fmt.Sprintf(", %v", class(k))
		}
		where[cat]++
	}
	// The store visits' doors, by track: heard outside within 2 min before
	// the first store visit / after the last.
	type doors struct{ in, out bool }
	door := map[string]*doors{}
	{
		store := ""
		for _, z := range site.Zones {
			if z.Kind == wire.ZoneStore {
				store = z.ID
			}
		}
		firstV, lastV := map[string]footfall.Visit{}, map[string]footfall.Visit{}
		for _, v := range visits {
			if v.Zone != store {
				continue
			}
			if f, ok := firstV[v.Track]; !ok || v.Start < f.Start {
				firstV[v.Track] = v
			}
			if l, ok := lastV[v.Track]; !ok || v.End > l.End {
				lastV[v.Track] = v
			}
		}
		for k, f := range firstV {
			l := lastV[k]
			enter := f.Start
			if f.Enter > 0 && f.Enter < enter {
				enter = f.Enter
			}
			door[final(k)] = &doors{f.Before > 0 && f.Before < enter && enter-f.Before <= 120_000, l.After > 0 && l.After-l.End <= 120_000}
		}
	}
	// Tracks of a staff phone's model with a store visit, not staff, under
	// one staff piece or overlapping staff pieces: by owner and doors.
	doorCat := map[string]int{}
	for k, ti := range tracks {
		if class(k) == footfall.Staff || pieces[k].Visits == 0 || door[k] == nil {
			continue
		}
		ps, ok := chainPieces[fpTracks[k]]
		if !ok || !slices.ContainsFunc(ps, func(p iv) bool { return p.first <= ti.last && p.last >= ti.first }) {
			continue
		}
		who := "others'"
		if truthClass[majority(ti.n)] == footfall.Staff {
			who = "staff's"
		}
		d := door[k]
		doorCat[fmt.Sprintf("%s tracks beside staff pieces, door in %v out %v", who, d.in, d.out)]++
	}
	for c, n := range doorCat {
		where[c] = n
	}
	var cats []string
	for c := range where {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	for _, c := range cats {
		fmt.Fprintf(w, "fragments %s: %d\n", c, where[c])
	}
	for _, p := range staff {
		pt := people[p]
		var all, v, pb int
		var ks []string
		for k, ti := range tracks {
			n := ti.n[p]
			all += n
			switch {
			case n == 0 && (fpTracks[k] != fpOf[p] || pieces[k].Visits == 0):
				continue
			case class(k) == footfall.Visitor:
				v += n
			case class(k) == footfall.Passerby:
				pb += n
			}
			ks = append(ks, k)
		}
		slices.SortFunc(ks, func(a, b string) int { return cmp.Or(cmp.Compare(tracks[a].first, tracks[b].first), cmp.Compare(a, b)) })
		fmt.Fprintf(w, "\nSTAFF %s %s fp %s: %d fixes, %d in visitor tracks, %d in passer-by tracks; found %d times\n", p, pt.Model, fpOf[p], all, v, pb, found[p])
		for _, k := range ks {
			ti := tracks[k]
			pc := pieces[k]
			o := majority(ti.n)
			tot := 0
			for _, n := range ti.n {
				tot += n
			}
			mark := ""
			if pc.Class == footfall.Staff {
				mark = memberOf(k)
				if pc.Chain == 0 {
					mark = "alone"
				}
				if pc.Counts {
					mark += "*"
				}
				mark += " of " + owner[memberOf(k)]
			}
			fmt.Fprintf(w, "  %-10.10s %s–%s %4.0f min %-8v %-16s owner %-6s (%s) %3d/%3d fixes, of %s %3d; visits %d\n",
				k, hms(ti.first, site), hms(ti.last, site), float64(ti.last-ti.first)/60000, class(k), mark,
				o, truthClass[o], ti.n[o], tot, p, ti.n[p], pc.Visits)
		}
	}
	return sf
}
