package footfall_test

import (
	"context"
	"fmt"
	"io"
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
		events := replayEvents(t, site, in)
		fmt.Printf("== %s seed %d\n%s\n", l, seed, dwellDiag(site, tr, events))
	}
}

// replayEvents replays the input and returns its positions and merges in
// order.
func replayEvents(t *testing.T, site *wire.Site, in io.Reader) []diagEvent {
	t.Helper()
	var events []diagEvent
	_, err := replay.Run(context.Background(), replay.Config{Site: site, Input: in,
		OnPosition: func(p wire.Position) { events = append(events, diagEvent{pos: p}) },
		OnMerge:    func(from, into string, _ int64) { events = append(events, diagEvent{from: from, into: into}) }})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// burstPositions returns the replay's position of each burst (its
// device's position nearest in time, within 2 s), and the sum of the
// positions' lags behind their bursts, ms.
func burstPositions(bursts []sim.BurstTruth, events []diagEvent) (map[devTime]wire.Position, int64) {
	byDev := map[wire.Dev][]wire.Position{}
	for _, e := range events {
		if e.from == "" {
			byDev[e.pos.Dev] = append(byDev[e.pos.Dev], e.pos)
		}
	}
	posOf := map[devTime]wire.Position{}
	var lagSum int64
	for _, bu := range bursts {
		ps := byDev[bu.Dev]
		i, _ := slices.BinarySearchFunc(ps, bu.T, func(p wire.Position, t int64) int { return int(p.T - t) })
		best := -1
		for _, j := range []int{i - 1, i} {
			if j >= 0 && j < len(ps) && (best < 0 || abs64(ps[j].T-bu.T) < abs64(ps[best].T-bu.T)) {
				best = j
			}
		}
		if best >= 0 && abs64(ps[best].T-bu.T) < 2000 {
			posOf[devTime{bu.Dev, bu.T}] = ps[best]
			lagSum += ps[best].T - bu.T
		}
	}
	return posOf, lagSum
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

// dwellDiag is TestDwellDiagnosis's text for one run: the medians as the
// visitor list is built up (medians), then the true visits' fates
// (visitFates, dwellfates_test.go).
func dwellDiag(site *wire.Site, tr *sim.Truth, events []diagEvent) string {
	var b strings.Builder
	r := newDwellRun(&b, site, tr, events)
	r.medians(&b)
	r.visitFates(&b)
	return b.String()
}

// dwellRun is what dwellDiag's sections share: the truth, the replay's
// events, and the store visits of the ideal (true positions, by person),
// the located (the replay's positions, by person) and the replay (its
// tracks), with each replay track's owner (the person most of its fixes
// are of).
type dwellRun struct {
	plan       *zones.Plan
	store      string
	minDwell   float64
	events     []diagEvent
	final      func(string) string
	person     map[wire.Dev]string
	people     map[string]*sim.PersonTruth
	truthClass map[string]footfall.Class
	burstsOf   map[string][]sim.BurstTruth
	posOf      map[devTime]wire.Position // the replay's position of each burst

	idV, locV, repV    map[string][]dvisit
	locClass, repClass map[string]footfall.Class
	locHand, repHand   map[string]bool
	ownerOf            map[string]string   // replay track: its owner
	ownedV             map[string][]string // true visitor: their replay visitor tracks
	falseV             []float64           // the estimated dwells of false visitor tracks
}

// devTime names a burst: its device and time.
type devTime struct {
	dev wire.Dev
	t   int64
}

// newDwellRun derives the visits and owners, writing the positions' lag
// and how many bursts were located to b.
func newDwellRun(b *strings.Builder, site *wire.Site, tr *sim.Truth, events []diagEvent) *dwellRun {
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
	posOf, lagSum := burstPositions(tr.Bursts, events)
	matched := len(posOf)
	if matched > 0 {
		fmt.Fprintf(b, "mean position lag %.0f ms\n", float64(lagSum)/float64(matched))
	}
	fmt.Fprintf(b, "bursts %d, positions %d, matched by (dev, t) %d\n", len(tr.Bursts), len(posOf), matched)
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
		ownerOf[k] = majority(m)
	}
	ownedV := map[string][]string{}
	var falseV []float64
	for k, vs := range repV {
		if repClass[k] != footfall.Visitor {
			continue
		}
		o := ownerOf[k]
		if truthClass[o] == footfall.Visitor {
			ownedV[o] = append(ownedV[o], k)
		} else {
			_, e, _ := visitorDwell(vs, minDwell)
			falseV = append(falseV, e)
		}
	}
	return &dwellRun{plan: plan, store: store, minDwell: minDwell, events: events, final: final,
		person: person, people: people, truthClass: truthClass, burstsOf: burstsOf, posOf: posOf,
		idV: idV, locV: locV, repV: repV, locClass: locClass, repClass: repClass, locHand: locHand, repHand: repHand,
		ownerOf: ownerOf, ownedV: ownedV, falseV: falseV}
}

// medians writes the dwell medians against the truth's as the replay's
// visitor list is built up, and what the estimate's handoff rule leaves
// out.
func (r *dwellRun) medians(b *strings.Builder) {
	minDwell, truthClass, people := r.minDwell, r.truthClass, r.people
	idV, locV, repV, ownedV, ownerOf := r.idV, r.locV, r.repV, r.ownedV, r.ownerOf
	locClass, repClass, locHand, repHand, falseV := r.locClass, r.repClass, r.locHand, r.repHand, r.falseV
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
		fmt.Fprintf(b, "  %-58s n %4d  dwell %+5.0f  est (door) %+5.0f\n", name, len(d), med(d)-tm, med(e)-tm)
	}
	fmt.Fprintf(b, "truth median %.0f s (%d visitors)\n", tm, len(truthD))
	row("ideal (by person)", idD, idE)
	row("located (by person)", locD, locE)
	row("located, persons with a replay visitor track", locMainD, locMainE)
	row("replay main track of each true visitor", mainD, mainE)
	row("  + second visitor tracks of true visitors (splits)", append(slices.Clone(mainD), splitD...), append(slices.Clone(mainE), splitE...))
	row("  + false visitors = replay", repD, repE)
	fmt.Fprintf(b, "  the estimate's visitors (handoffs left out): replay n %d est %+5.0f; located (all visitors n %d est %+5.0f) n %d est %+5.0f\n",
		len(repKeptE), med(repKeptE)-tm, len(locAllE), med(locAllE)-tm, len(locKeptE), med(locKeptE)-tm)
	fmt.Fprintf(b, "  replay visitor tracks kept / left out by the estimate:")
	for _, k := range []string{"main track", "second visitor track", "false visitor", "staff fragment"} {
		if c := handKinds[k]; c != nil {
			fmt.Fprintf(b, " %s %d / %d;", k, c.kept, c.dropped)
		}
	}
	fmt.Fprintf(b, "\n  main tracks' estimate − the person's true dwell: kept p25 %+.0f median %+.0f p75 %+.0f; left out p25 %+.0f median %+.0f p75 %+.0f s\n",
		pct(mainErrKept, 0.25), med(mainErrKept), pct(mainErrKept, 0.75), pct(mainErrDropped, 0.25), med(mainErrDropped), pct(mainErrDropped, 0.75))
	fmt.Fprintf(b, "  true dwell median − all true visitors': persons whose main track is kept %+.0f, left out %+.0f s\n", med(truthMainKept)-tm, med(truthMainDropped)-tm)
	fmt.Fprintf(b, "  main vs located est: shorter %d (mean %.0f s; median est if only these: %+.0f), longer %d (mean %+.0f s; median if only these %+.0f)\n",
		shorter, shorterS/float64(max(shorter, 1)), med(onlyShorter)-tm, longer, longerS/float64(max(longer, 1)), med(onlyLonger)-tm)
	fmt.Fprintf(b, "  missing true visitors (no replay visitor track): %d; splits %d (median est %.0f s); false visitors %d (median est %.0f s)\n",
		missing, len(splitE), med(splitE), len(falseV), med(falseV))
}
