package footfall_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// visitFates writes, for the true visits, start and end against the
// ideal's and the located's, with why the located's first (last) fix in
// the store is later (earlier) than the ideal's, the handoffs between
// tracks inside the store, the estimate's door times against the truth,
// and where the replay's main track lost the rest.
func (r *dwellRun) visitFates(b *strings.Builder) {
	plan, store, minDwell, events, final := r.plan, r.store, r.minDwell, r.events, r.final
	person, people, truthClass, burstsOf, posOf := r.person, r.people, r.truthClass, r.burstsOf, r.posOf
	locV, repV, repClass, ownerOf := r.locV, r.repV, r.repClass, r.ownerOf
	// Per true visit: start and end against the ideal's and the located's,
	// with why the located's first (last) fix in the store is later
	// (earlier) than the ideal's.
	type cause struct {
		n  int
		ms int64
	}
	startC, endC := map[string]*cause{}, map[string]*cause{}
	add := func(m map[string]*cause, k string, ms int64) {
		if m[k] == nil {
			m[k] = &cause{}
		}
		m[k].n++
		m[k].ms += ms
	}
	var nVisits int
	var idStart, idEnd, locStart, locEnd int64
	var locVisits, repVisits int
	splitAt := map[string]*cause{}
	doorStart, doorEnd := map[string][]float64{}, map[string][]float64{}
	handoff, handoffSide, handoffDepth := map[string]*cause{}, map[string]*cause{}, map[string]*cause{}
	fixesOf := map[string][]wire.Position{}
	for _, e := range events {
		if e.from == "" {
			k := final(e.pos.Track)
			fixesOf[k] = append(fixesOf[k], e.pos)
		}
	}
	shortS, shortE := map[string]*cause{}, map[string]*cause{}
	gaps, gapsE := map[string][]float64{}, map[string][]float64{}
	for p, c := range truthClass {
		if c != footfall.Visitor {
			continue
		}
		for _, tv := range people[p].Visits {
			if float64(tv.End-tv.Start)/1000 < minDwell {
				continue
			}
			nVisits++
			// Ideal: first and last burst with the true position in the store during the visit.
			var in []sim.BurstTruth
			for _, bu := range burstsOf[p] {
				if bu.T >= tv.Start-5000 && bu.T <= tv.End+5000 && plan.InStore(bu.X, bu.Y) {
					in = append(in, bu)
				}
			}
			if len(in) == 0 {
				add(startC, "no burst inside", 0)
				continue
			}
			i0, i1 := in[0].T, in[len(in)-1].T
			idStart += i0 - tv.Start
			idEnd += tv.End - i1
			// Located visit overlapping.
			lv := longestNear(locV[p], tv.Start, tv.End)
			if lv == nil {
				add(startC, "no located visit", 0)
				continue
			}
			locVisits++
			locStart += lv.start - tv.Start
			locEnd += tv.End - lv.end
			why := func(bu sim.BurstTruth) string {
				pos, ok := posOf[devTime{bu.Dev, bu.T}]
				if !ok {
					return "not located"
				}
				d, m := plan.Depth(store, pos.X, pos.Y), plan.Margin(store, pos.Err)
				switch {
				case d < -m:
					return "placed confidently out (street)"
				case d < 0:
					return "placed just outside, within err"
				case d < m:
					return "placed just inside, within err"
				case pos.PStore > 0 && pos.PStore < zones.MinEnterP:
					return "deep in, side unsure (PStore<0.6)"
				default:
					return "in (track state)"
				}
			}
			if lv.start > i0 {
				// the first of the ideal in-store bursts before the located start
				add(startC, why(in[0]), lv.start-i0)
			} else {
				add(startC, "on time or earlier", lv.start-i0)
			}
			if lv.end < i1 {
				// the last in-store burst after the located end
				add(endC, why(in[len(in)-1]), i1-lv.end)
			} else {
				add(endC, "on time or later", i1-lv.end)
			}
			// Replay: the track holding most of p's located in-store fixes of the visit.
			cnt := map[string]int{}
			var tracksIn []string
			for _, bu := range in {
				if pos, ok := posOf[devTime{bu.Dev, bu.T}]; ok {
					k := final(pos.Track)
					if cnt[k] == 0 {
						tracksIn = append(tracksIn, k)
					}
					cnt[k]++
				}
			}
			// Handoffs: where the person's in-store bursts change track.
			prevK, prevT, prevP := "", int64(0), 0.0
			for _, bu := range in {
				pos, ok := posOf[devTime{bu.Dev, bu.T}]
				if !ok {
					continue
				}
				k := final(pos.Track)
				if prevK != "" && k != prevK {
					kind := "new track"
					if fixesOf[k][0].T < pos.T {
						kind = "existing track"
						if ownerOf[k] == p {
							kind = "existing track of the person"
						}
					}
					old := "old track silent"
					for _, f := range fixesOf[prevK] {
						if f.T > prevT && f.T <= pos.T+180_000 {
							old = "old track went on with another phone"
							if person[f.Dev] == p {
								old = "old track went on with the person"
							}
							break
						}
					}
					side := "new fix side sure"
					if pos.PStore < 0.5 {
						side = "new fix side < 0.5"
					}
					oside := "old side sure"
					if prevP < 0.5 {
						oside = "old side < 0.5"
					}
					add(handoff, kind+"; "+old, pos.T-prevT)
					add(handoffSide, side+"; "+oside, pos.T-prevT)
					if kind == "new track" && pos.PStore < 0.5 {
						d := plan.Depth(store, pos.X, pos.Y)
						bucket := "depth < 1 m"
						switch {
						case d >= 4:
							bucket = "depth >= 4 m"
						case d >= 2:
							bucket = "depth 2-4 m"
						case d >= 1:
							bucket = "depth 1-2 m"
						}
						add(handoffDepth, bucket, int64(pos.PStore*1000*1000))
					}
				}
				prevK, prevT, prevP = k, pos.T, pos.PStore
			}
			best := ""
			for _, k := range tracksIn {
				if best == "" || cnt[k] > cnt[best] {
					best = k
				}
			}
			rv := longestNear(repV[best], tv.Start, tv.End)
			if rv == nil {
				add(splitAt, "main track without a visit here", 0)
				continue
			}
			repVisits++
			// The estimate's door times against the truth, by what the
			// visit knows of the door.
			es, ee := footfall.DoorTimes(rv.v)
			bk := "no fix outside before"
			if rv.v.Before > 0 && min(rv.v.Enter, rv.v.Start)-rv.v.Before <= 120_000 {
				bk = "a fix outside before"
			}
			ak := "no fix outside after"
			if rv.v.After > 0 && rv.v.After-rv.v.End <= 120_000 {
				ak = "a fix outside after"
			}
			doorStart[bk] = append(doorStart[bk], (es-float64(tv.Start))/1000)
			doorEnd[ak] = append(doorEnd[ak], (float64(tv.End)-ee)/1000)
			// Where the located visit's start (end) went when the main
			// track's visit starts later (ends earlier).
			frag := func(lo, hi int64, first bool) (string, int64) {
				var k string
				for _, bu := range burstsOf[p] {
					pos, ok := posOf[devTime{bu.Dev, bu.T}]
					if !ok || pos.T < lo || pos.T > hi || final(pos.Track) == best {
						continue
					}
					if k == "" || !first {
						k = final(pos.Track)
					}
				}
				if k == "" {
					return "no fix on another track", 0
				}
				kind := "passer-by"
				switch {
				case ownerOf[k] != p:
					kind = "another person's"
				case repClass[k] == footfall.Visitor:
					kind = "second visitor"
				case repClass[k] == footfall.Staff:
					kind = "staff"
				case len(repV[k]) > 0:
					kind = "passer-by with a bounce"
				}
				// gap between the fragment's last (first) fix and the main visit's start (end)
				if first {
					return kind, rv.start - trackLast(events, final, k, rv.start)
				}
				return kind, trackFirst(events, final, k, rv.end) - rv.end
			}
			if sh := rv.start - lv.start; sh > 1000 {
				kind, gap := frag(lv.start-500, rv.start-500, true)
				add(shortS, kind, sh)
				gaps[kind] = append(gaps[kind], float64(gap)/1000)
			}
			if sh := lv.end - rv.end; sh > 1000 {
				kind, gap := frag(rv.end+500, lv.end+500, false)
				add(shortE, kind, sh)
				gapsE[kind] = append(gapsE[kind], float64(gap)/1000)
			}
			switch {
			case len(tracksIn) == 1:
				add(splitAt, "one track", 0)
			default:
				for _, k := range tracksIn {
					if k == best {
						continue
					}
					kind := "other track: passer-by class"
					if ownerOf[k] != p {
						kind = "other track: another person's"
					} else if repClass[k] == footfall.Visitor {
						kind = "other track: second visitor of the person"
					}
					add(splitAt, kind, 0)
				}
			}
		}
	}
	fmt.Fprintf(b, "true visits %d: ideal first fix %+.0f s after the true start, last %.0f s before the true end (mean); located (%d) %+.0f / %.0f; %d matched in the replay\n",
		nVisits, float64(idStart)/1000/float64(nVisits), float64(idEnd)/1000/float64(nVisits),
		locVisits, float64(locStart)/1000/float64(locVisits), float64(locEnd)/1000/float64(locVisits), repVisits)
	pr := func(title string, m map[string]*cause) {
		fmt.Fprintf(b, "  %s\n", title)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(b, "    %-72s %4d visits, mean %6.1f s\n", k, m[k].n, float64(m[k].ms)/1000/float64(m[k].n))
		}
	}
	pr("handoffs inside the store between tracks (mean: gap since the person's previous burst):", handoff)
	pr("handoffs by the side posterior of the new and the old fix:", handoffSide)
	pr("new tracks at a handoff with the store's side < 0.5, by the fix's depth (mean: the side's probability × 1000):", handoffDepth)
	prGaps := func(m map[string][]float64) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(b, "      gap %s: median %.0f s, p80 %.0f s\n", k, med(m[k]), pct(m[k], 0.8))
		}
	}
	prq := func(title string, m map[string][]float64) {
		fmt.Fprintf(b, "  %s\n", title)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(b, "    %-30s %4d visits, p25 %+5.0f median %+5.0f p75 %+5.0f s\n", k, len(m[k]), pct(m[k], 0.25), med(m[k]), pct(m[k], 0.75))
		}
	}
	prq("replay main visit: estimated entry − true entry, by the visit's fix outside before:", doorStart)
	prq("replay main visit: true exit − estimated exit, by the visit's fix outside after:", doorEnd)
	pr("located first fix in store against the ideal's, by the ideal first in-store burst's fate:", startC)
	pr("located last fix in store against the ideal's, by the ideal last in-store burst's fate:", endC)
	pr("replay main visit starts later than the located one, the first fix of the difference on:", shortS)
	prGaps(gaps)
	pr("replay main visit ends earlier than the located one, the last fix of the difference on:", shortE)
	prGaps(gapsE)
	fmt.Fprintf(b, "  replay: visits whose in-store bursts lie on other tracks than the main one, by the other track:\n")
	for _, k := range []string{"one track", "other track: second visitor of the person", "other track: passer-by class", "other track: another person's", "main track without a visit here"} {
		if c := splitAt[k]; c != nil {
			fmt.Fprintf(b, "    %-45s %4d\n", k, c.n)
		}
	}
}
