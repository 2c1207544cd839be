package footfall_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/replay"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// TestDwellDiagnosis prints where the replay's dwell median is lost
// against the simulator's truth (docs/footfall.md, "Where the dwell is
// lost"): the median (contract's and estimated door to door) as the
// replay's visitor list is built up from the true visitors' located
// dwells (each person tracked by the truth) to the replay's tracks; the
// visitor tracks the estimate leaves out as possible handoffs, by the
// truth (docs/footfall.md, "Handoffs in the store"); then, visit by visit,
// why the located visit starts later or ends earlier than the true
// positions' (the fate of the first and last burst in the store), and
// where the replay's main track lost the rest. It runs with
// PASSANT_ACCURACY like TestAccuracy (same layouts, seed and hours).
func TestDwellDiagnosis(t *testing.T) {
	layouts, hours := accuracyRuns(t)
	seed := accuracySeed(t)
	for _, l := range layouts {
		site, in, tr, _, _ := simulate(t, l, seed, hours)
		var events []diagEvent
		_, err := replay.Run(context.Background(), replay.Config{Site: site, Input: in,
			OnPosition: func(p wire.Position) { events = append(events, diagEvent{pos: p}) },
			OnMerge:    func(from, into string, _ int64) { events = append(events, diagEvent{from: from, into: into}) }})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("== %s seed %d\n%s\n", l, seed, dwellDiag(site, tr, events))
	}
}

type dvisit struct {
	start, end int64
	fixes      int
	track      string
	v          footfall.Visit
}

func (v dvisit) dwell() float64 { return float64(v.end-v.start) / 1000 }

// est is the report's door-to-door estimate of the visit (footfall.visitEstimate).
func (v dvisit) est() float64 {
	s, e := footfall.DoorTimes(v.v)
	return max(e-s, 0) / 1000
}

// storeVisits runs a counter (with merges) and returns its store visits by track.
func storeVisits(site *wire.Site, events []diagEvent) (map[string][]dvisit, map[string]footfall.Class) {
	vs, cl, _ := storeVisitsHandoffs(site, events)
	return vs, cl
}

// storeVisitsHandoffs is storeVisits with the track-days that the
// door-to-door estimate leaves out (footfall.Handoffs).
func storeVisitsHandoffs(site *wire.Site, events []diagEvent) (map[string][]dvisit, map[string]footfall.Class, map[string]bool) {
	c := footfall.NewCounter(site, zones.NewPlan(site))
	for _, e := range events {
		if e.from != "" {
			c.Merge(e.from, e.into)
			continue
		}
		c.Add(e.pos)
	}
	c.Flush()
	store := zones.NewPlan(site).Store()
	out := map[string][]dvisit{}
	for _, v := range c.Visits() {
		if v.Zone == store {
			out[v.Track] = append(out[v.Track], dvisit{v.Start, v.End, v.Fixes, v.Track, v})
		}
	}
	return out, footfall.Classes(site, c.TrackDays(), c.Visits()), footfall.Handoffs(site, c.TrackDays(), c.Visits())
}

// longestNear is the longest of vs that overlaps [start, end] widened by a
// minute on each side (nil if none).
func longestNear(vs []dvisit, start, end int64) *dvisit {
	var best *dvisit
	for i := range vs {
		v := &vs[i]
		if v.end >= start-60000 && v.start <= end+60000 && (best == nil || v.dwell() > best.dwell()) {
			best = v
		}
	}
	return best
}

func pct(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// trackLast returns the last fix of track k at or before t; trackFirst the first at or after t.
func trackLast(events []diagEvent, final func(string) string, k string, t int64) int64 {
	var best int64
	for _, e := range events {
		if e.from == "" && e.pos.T <= t && final(e.pos.Track) == k {
			best = e.pos.T
		}
	}
	return best
}

func trackFirst(events []diagEvent, final func(string) string, k string, t int64) int64 {
	for _, e := range events {
		if e.from == "" && e.pos.T >= t && final(e.pos.Track) == k {
			return e.pos.T
		}
	}
	return t
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func med(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return m
}

func visitorDwell(vs []dvisit, minDwell float64) (d, e float64, ok bool) {
	for _, v := range vs {
		if v.dwell() >= minDwell {
			d += v.dwell()
			e += v.est()
			ok = true
		}
	}
	return
}

func dwellDiag(site *wire.Site, tr *sim.Truth, events []diagEvent) string {
	var b strings.Builder
	plan := zones.NewPlan(site)
	store := plan.Store()
	minDwell := site.Footfall.VisitorMinDwellS
	person := personOf(tr)
	truthClass := trueClasses(site, tr)
	people := peopleByID(tr)
	// Located: the replay's positions by true person.
	var located []diagEvent
	alias := map[string]string{}
	for _, e := range events {
		if e.from != "" {
			alias[e.from] = e.into
			continue
		}
		p := e.pos
		p.Track = person[p.Dev]
		located = append(located, diagEvent{pos: p})
	}
	final := finalTrack(alias)
	locV, locClass, locHand := storeVisitsHandoffs(site, located)
	repV, repClass, repHand := storeVisitsHandoffs(site, events)
	// Ideal.
	var ideal []diagEvent
	for _, bu := range tr.Bursts {
		ideal = append(ideal, diagEvent{pos: wire.Position{T: bu.T, Track: bu.Person, Dev: bu.Dev, X: bu.X, Y: bu.Y}})
	}
	idV, _ := storeVisits(site, ideal)

	// Positions by (dev, t).
	type dk struct {
		dev wire.Dev
		t   int64
	}
	byDev := map[wire.Dev][]wire.Position{}
	for _, e := range events {
		if e.from == "" {
			byDev[e.pos.Dev] = append(byDev[e.pos.Dev], e.pos)
		}
	}
	posOf := map[dk]wire.Position{}
	matched := 0
	var lagSum int64
	for _, bu := range tr.Bursts {
		ps := byDev[bu.Dev]
		i, _ := slices.BinarySearchFunc(ps, bu.T, func(p wire.Position, t int64) int { return int(p.T - t) })
		best := -1
		for _, j := range []int{i - 1, i} {
			if j >= 0 && j < len(ps) && (best < 0 || abs64(ps[j].T-bu.T) < abs64(ps[best].T-bu.T)) {
				best = j
			}
		}
		if best >= 0 && abs64(ps[best].T-bu.T) < 2000 {
			posOf[dk{bu.Dev, bu.T}] = ps[best]
			matched++
			lagSum += ps[best].T - bu.T
		}
	}
	if matched > 0 {
		fmt.Fprintf(&b, "mean position lag %.0f ms\n", float64(lagSum)/float64(matched))
	}
	fmt.Fprintf(&b, "bursts %d, positions %d, matched by (dev, t) %d\n", len(tr.Bursts), len(posOf), matched)
	burstsOf := map[string][]sim.BurstTruth{}
	for _, bu := range tr.Bursts {
		burstsOf[bu.Person] = append(burstsOf[bu.Person], bu)
	}
	owner := map[string]map[string]int{}
	for _, e := range events {
		if e.from != "" {
			continue
		}
		k := final(e.pos.Track)
		if owner[k] == nil {
			owner[k] = map[string]int{}
		}
		owner[k][person[e.pos.Dev]]++
	}
	ownerOf := map[string]string{}
	for k, m := range owner {
		best := ""
		for p, n := range m {
			if best == "" || n > m[best] || n == m[best] && p < best {
				best = p
			}
		}
		ownerOf[k] = best
	}
	ownedV := map[string][]string{}
	var falseV []float64
	var falseVd []float64
	for k, vs := range repV {
		if repClass[k] != footfall.Visitor {
			continue
		}
		o := ownerOf[k]
		if truthClass[o] == footfall.Visitor {
			ownedV[o] = append(ownedV[o], k)
		} else {
			d, e, _ := visitorDwell(vs, minDwell)
			falseV = append(falseV, e)
			falseVd = append(falseVd, d)
		}
	}

	// Medians.
	var truthD, idE, idD, locE, locD, repE, repD []float64
	var mainE, mainD, splitE, splitD, locMainE, locMainD []float64
	missing := 0
	var shorter, longer int
	var shorterS, longerS float64
	var onlyShorter, onlyLonger []float64
	for p, c := range truthClass {
		if c != footfall.Visitor {
			continue
		}
		var td float64
		for _, v := range people[p].Visits {
			if d := float64(v.End-v.Start) / 1000; d >= minDwell {
				td += d
			}
		}
		truthD = append(truthD, td)
		if d, e, ok := visitorDwell(idV[p], minDwell); ok {
			idD, idE = append(idD, d), append(idE, e)
		}
		ld, le, lok := visitorDwell(locV[p], minDwell)
		if lok {
			locD, locE = append(locD, ld), append(locE, le)
		}
		ks := ownedV[p]
		if len(ks) == 0 {
			missing++
			continue
		}
		slices.SortFunc(ks, func(a, b string) int {
			da, _, _ := visitorDwell(repV[a], minDwell)
			db, _, _ := visitorDwell(repV[b], minDwell)
			if da != db {
				if da > db {
					return -1
				}
				return 1
			}
			return strings.Compare(a, b)
		})
		for i, k := range ks {
			d, e, _ := visitorDwell(repV[k], minDwell)
			if i == 0 {
				mainD, mainE = append(mainD, d), append(mainE, e)
				if lok {
					locMainD, locMainE = append(locMainD, ld), append(locMainE, le)
					switch diff := e - le; {
					case diff < -5:
						shorter++
						shorterS += diff
						onlyShorter = append(onlyShorter, e)
						onlyLonger = append(onlyLonger, le)
					case diff > 5:
						longer++
						longerS += diff
						onlyShorter = append(onlyShorter, le)
						onlyLonger = append(onlyLonger, e)
					default:
						onlyShorter = append(onlyShorter, le)
						onlyLonger = append(onlyLonger, le)
					}
				}
			} else {
				splitD, splitE = append(splitD, d), append(splitE, e)
			}
		}
	}
	for k, vs := range repV {
		if repClass[k] == footfall.Visitor {
			d, e, _ := visitorDwell(vs, minDwell)
			repD, repE = append(repD, d), append(repE, e)
		}
	}
	// The estimate's visitors: the visitor tracks that markHandoffs keeps.
	var repKeptE, locKeptE, locAllE []float64
	for k, vs := range repV {
		if repClass[k] == footfall.Visitor && !repHand[k] {
			_, e, _ := visitorDwell(vs, minDwell)
			repKeptE = append(repKeptE, e)
		}
	}
	for k, vs := range locV {
		if locClass[k] == footfall.Visitor {
			_, e, _ := visitorDwell(vs, minDwell)
			locAllE = append(locAllE, e)
			if !locHand[k] {
				locKeptE = append(locKeptE, e)
			}
		}
	}
	// By the truth, which replay visitor tracks it leaves out: each true
	// visitor's main track (error of its estimate against the person's
	// true dwell), second visitor tracks, false visitors.
	type keptDropped struct{ kept, dropped int }
	handKinds := map[string]*keptDropped{}
	var mainErrKept, mainErrDropped, truthMainKept, truthMainDropped []float64
	trueDwell := func(p string) float64 {
		var td float64
		for _, v := range people[p].Visits {
			if d := float64(v.End-v.Start) / 1000; d >= minDwell {
				td += d
			}
		}
		return td
	}
	for k, vs := range repV {
		if repClass[k] != footfall.Visitor {
			continue
		}
		o := ownerOf[k]
		kind := "false visitor"
		if truthClass[o] == footfall.Staff {
			kind = "staff fragment"
		}
		if ks := ownedV[o]; truthClass[o] == footfall.Visitor && len(ks) > 0 {
			kind = "second visitor track"
			if ks[0] == k {
				kind = "main track"
			}
		}
		if handKinds[kind] == nil {
			handKinds[kind] = &keptDropped{}
		}
		_, e, _ := visitorDwell(vs, minDwell)
		if repHand[k] {
			handKinds[kind].dropped++
		} else {
			handKinds[kind].kept++
		}
		if kind == "main track" {
			if repHand[k] {
				truthMainDropped = append(truthMainDropped, trueDwell(o))
			} else {
				truthMainKept = append(truthMainKept, trueDwell(o))
			}
			if repHand[k] {
				mainErrDropped = append(mainErrDropped, e-trueDwell(o))
			} else {
				mainErrKept = append(mainErrKept, e-trueDwell(o))
			}
		}
	}
	tm := med(truthD)
	row := func(name string, d, e []float64) {
		fmt.Fprintf(&b, "  %-58s n %4d  dwell %+5.0f  est (door) %+5.0f\n", name, len(d), med(d)-tm, med(e)-tm)
	}
	fmt.Fprintf(&b, "truth median %.0f s (%d visitors)\n", tm, len(truthD))
	row("ideal (by person)", idD, idE)
	row("located (by person)", locD, locE)
	row("located, persons with a replay visitor track", locMainD, locMainE)
	row("replay main track of each true visitor", mainD, mainE)
	row("  + second visitor tracks of true visitors (splits)", append(slices.Clone(mainD), splitD...), append(slices.Clone(mainE), splitE...))
	row("  + false visitors = replay", repD, repE)
	fmt.Fprintf(&b, "  the estimate's visitors (handoffs left out): replay n %d est %+5.0f; located (all visitors n %d est %+5.0f) n %d est %+5.0f\n",
		len(repKeptE), med(repKeptE)-tm, len(locAllE), med(locAllE)-tm, len(locKeptE), med(locKeptE)-tm)
	fmt.Fprintf(&b, "  replay visitor tracks kept / left out by the estimate:")
	for _, k := range []string{"main track", "second visitor track", "false visitor", "staff fragment"} {
		if c := handKinds[k]; c != nil {
			fmt.Fprintf(&b, " %s %d / %d;", k, c.kept, c.dropped)
		}
	}
	fmt.Fprintf(&b, "\n  main tracks' estimate − the person's true dwell: kept p25 %+.0f median %+.0f p75 %+.0f; left out p25 %+.0f median %+.0f p75 %+.0f s\n",
		pct(mainErrKept, 0.25), med(mainErrKept), pct(mainErrKept, 0.75), pct(mainErrDropped, 0.25), med(mainErrDropped), pct(mainErrDropped, 0.75))
	fmt.Fprintf(&b, "  true dwell median − all true visitors': persons whose main track is kept %+.0f, left out %+.0f s\n", med(truthMainKept)-tm, med(truthMainDropped)-tm)
	fmt.Fprintf(&b, "  main vs located est: shorter %d (mean %.0f s; median est if only these: %+.0f), longer %d (mean %+.0f s; median if only these %+.0f)\n",
		shorter, shorterS/float64(max(shorter, 1)), med(onlyShorter)-tm, longer, longerS/float64(max(longer, 1)), med(onlyLonger)-tm)
	fmt.Fprintf(&b, "  missing true visitors (no replay visitor track): %d; splits %d (median est %.0f s); false visitors %d (median est %.0f s)\n",
		missing, len(splitE), med(splitE), len(falseV), med(falseV))
	_ = falseVd

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
				pos, ok := posOf[dk{bu.Dev, bu.T}]
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
				if pos, ok := posOf[dk{bu.Dev, bu.T}]; ok {
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
				pos, ok := posOf[dk{bu.Dev, bu.T}]
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
					pos, ok := posOf[dk{bu.Dev, bu.T}]
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
	fmt.Fprintf(&b, "true visits %d: ideal first fix %+.0f s after the true start, last %.0f s before the true end (mean); located (%d) %+.0f / %.0f; %d matched in the replay\n",
		nVisits, float64(idStart)/1000/float64(nVisits), float64(idEnd)/1000/float64(nVisits),
		locVisits, float64(locStart)/1000/float64(locVisits), float64(locEnd)/1000/float64(locVisits), repVisits)
	pr := func(title string, m map[string]*cause) {
		fmt.Fprintf(&b, "  %s\n", title)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "    %-72s %4d visits, mean %6.1f s\n", k, m[k].n, float64(m[k].ms)/1000/float64(m[k].n))
		}
	}
	pr("handoffs inside the store between tracks (mean: gap since the person's previous burst):", handoff)
	pr("handoffs by the side posterior of the new and the old fix:", handoffSide)
	pr("new tracks at a handoff with the store's side < 0.5, by the fix's depth (mean: the side's probability × 1000):", handoffDepth)
	prGaps := func(m map[string][]float64) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(&b, "      gap %s: median %.0f s, p80 %.0f s\n", k, med(m[k]), pct(m[k], 0.8))
		}
	}
	prq := func(title string, m map[string][]float64) {
		fmt.Fprintf(&b, "  %s\n", title)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "    %-30s %4d visits, p25 %+5.0f median %+5.0f p75 %+5.0f s\n", k, len(m[k]), pct(m[k], 0.25), med(m[k]), pct(m[k], 0.75))
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
	fmt.Fprintf(&b, "  replay: visits whose in-store bursts lie on other tracks than the main one, by the other track:\n")
	for _, k := range []string{"one track", "other track: second visitor of the person", "other track: passer-by class", "other track: another person's", "main track without a visit here"} {
		if c := splitAt[k]; c != nil {
			fmt.Fprintf(&b, "    %-45s %4d\n", k, c.n)
		}
	}
	return b.String()
}
