package footfall_test

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// lostShoppers is a diagnosis of one run of TestAccuracy, written to the
// file PASSANT_ACCURACY_LOST.<layout> when that is set: the side of the
// front the replay gave the bursts, hour by hour and for the street's
// bursts within and beyond the site's bounds; the passers-by counted as
// visitors with perfect linking, burst by burst; and every true visitor
// the replay does not count as one (counted as a passer-by, or absorbed
// into another person's track), with what became of the bursts of their
// visits, and a count of the causes. "located" is footfall on the
// replay's positions by true person: a shopper lost there too is lost to
// locating, one counted there is lost to linking.
func lostShoppers(w io.Writer, site *wire.Site, tr *sim.Truth, events []diagEvent, locatedClass map[string]footfall.Class) {
	c, class, final := recount(site, events)
	storeZone := ""
	kind := map[string]string{}
	for _, z := range site.Zones {
		kind[z.ID] = z.Kind
		if z.Kind == wire.ZoneStore {
			storeZone = z.ID
		}
	}
	plan := zones.NewPlan(site)
	// inStore: in the store or one of its areas, by the plan.
	inStore := func(x, y float64) bool {
		z := plan.Innermost(x, y)
		return z != "" && kind[z] != wire.ZoneOutside
	}
	// Store visits per final track (dwell of the longest).
	longest := map[string]float64{}
	for _, v := range c.Visits() {
		if v.Zone != storeZone {
			continue
		}
		k := final(v.Track)
		if d := float64(v.End-v.Start) / 1000; d > longest[k] {
			longest[k] = d
		}
	}
	person := personOf(tr)
	people := peopleByID(tr)
	truthClass := trueClasses(site, tr)
	// Positions by device, in time.
	type fix struct {
		wire.Position
		final string
	}
	byDev := map[wire.Dev][]fix{}
	trackN := map[string]map[string]int{}
	trackFirst, trackLast := map[string]int64{}, map[string]int64{}
	type seqEv struct {
		who string
		t   int64
	}
	trackSeq := map[string][]seqEv{}
	for _, e := range events {
		if e.from != "" {
			continue
		}
		k := final(e.pos.Track)
		byDev[e.pos.Dev] = append(byDev[e.pos.Dev], fix{e.pos, k})
		if trackN[k] == nil {
			trackN[k] = map[string]int{}
			trackFirst[k] = e.pos.T
		}
		trackN[k][person[e.pos.Dev]]++
		trackLast[k] = e.pos.T
		trackSeq[k] = append(trackSeq[k], seqEv{person[e.pos.Dev], e.pos.T})
	}
	owner := map[string]string{}
	for k, n := range trackN {
		owner[k] = majority(n)
	}
	ownedV := map[string]bool{}
	for k, o := range owner {
		if class[k] == footfall.Visitor {
			ownedV[o] = true
		}
	}
	// The truth's bursts per person.
	bursts := map[string][]sim.BurstTruth{}
	for _, b := range tr.Bursts {
		bursts[b.Person] = append(bursts[b.Person], b)
	}
	match := func(b sim.BurstTruth) (fix, bool) {
		fs := byDev[b.Dev]
		i := sort.Search(len(fs), func(i int) bool { return fs[i].T >= b.T-2000 })
		best, ok := fix{}, false
		for ; i < len(fs) && fs[i].T <= b.T+2000; i++ {
			if !ok || math.Abs(float64(fs[i].T-b.T)) < math.Abs(float64(best.T-b.T)) {
				best, ok = fs[i], true
			}
		}
		return best, ok
	}
	// Side right per hour, by the truth's side.
	{
		type cnt struct{ inN, inR, outN, outR int }
		hrs := map[int]*cnt{}
		var hk []int
		t0 := tr.Bursts[0].T
		for _, b := range tr.Bursts {
			f, ok := match(b)
			if !ok {
				continue
			}
			h := int((b.T - t0) / 3600_000)
			if hrs[h] == nil {
				hrs[h] = &cnt{}
				hk = append(hk, h)
			}
			c := hrs[h]
			in := inStore(b.X, b.Y)
			fin := inStore(f.X, f.Y)
			if in {
				c.inN++
				if fin {
					c.inR++
				}
			} else {
				c.outN++
				if !fin {
					c.outR++
				}
			}
		}
		var nS, nO, nX int
		for _, b := range tr.Bursts {
			z := plan.Innermost(b.X, b.Y)
			switch {
			case z == "":
				nX++
			case kind[z] == wire.ZoneOutside:
				nO++
			default:
				nS++
			}
		}
		var wrongIn, wrongFar, rightIn, rightFar int
		bnd := site.Bounds
		for _, b := range tr.Bursts {
			if inStore(b.X, b.Y) {
				continue
			}
			f, ok := match(b)
			if !ok {
				continue
			}
			far := b.X < bnd[0][0] || b.X > bnd[1][0] || b.Y < bnd[0][1] || b.Y > bnd[1][1]
			wrong := inStore(f.X, f.Y)
			switch {
			case wrong && far:
				wrongFar++
			case wrong:
				wrongIn++
			case far:
				rightFar++
			default:
				rightIn++
			}
		}
		fmt.Fprintf(w, "street bursts within the bounds: %d right, %d in the store; beyond the bounds: %d right, %d in the store\n", rightIn, wrongIn, rightFar, wrongFar)
		fmt.Fprintf(w, "truth's bursts: store %d, outside %d, elsewhere %d\n", nS, nO, nX)
		fmt.Fprintf(w, "side right per hour (in store n, right %%; street n, right %%):\n")
		for _, h := range hk {
			c := hrs[h]
			fmt.Fprintf(w, "  hour %2d: store %5d %5.1f%%  street %5d %5.1f%%\n", h, c.inN, 100*float64(c.inR)/float64(c.inN), c.outN, 100*float64(c.outR)/float64(c.outN))
		}
	}
	// Passers-by counted as visitors with perfect linking: where were they?
	{
		var fv []string
		for p, tc := range truthClass {
			if tc == footfall.Passerby && locatedClass[p] == footfall.Visitor {
				fv = append(fv, p)
			}
		}
		slices.Sort(fv)
		fmt.Fprintf(w, "\n%d passers-by counted as visitors with perfect linking\n", len(fv))
		for _, p := range fv {
			pt := people[p]
			var ls []string
			for _, b := range bursts[p] {
				f, ok := match(b)
				if !ok {
					continue
				}
				ls = append(ls, fmt.Sprintf("    %s tx %+4.1f true (%5.1f,%5.1f) fix (%5.1f,%5.1f) err %4.1f n %d pS %.2f %s", hms(b.T, site), b.Tx, b.X, b.Y, f.X, f.Y, f.Err, f.N, f.PStore, f.final))
			}
			fmt.Fprintf(w, "FV %s %s rand %v: %d bursts, %.0f s heard\n%s\n", p, pt.Model, pt.Rand, len(ls), float64(bursts[p][len(bursts[p])-1].T-bursts[p][0].T)/1000, strings.Join(ls, "\n"))
		}
	}
	// Persons asked for by PASSANT_ACCURACY_PERSONS (p1,p2,...), burst by
	// burst; "split" asks for every shopper who owns two visitor tracks or
	// more (a second visitor).
	asked := strings.Split(os.Getenv("PASSANT_ACCURACY_PERSONS"), ",")
	if slices.Contains(asked, "split") {
		nv := map[string]int{}
		for k, o := range owner {
			if class[k] == footfall.Visitor {
				nv[o]++
			}
		}
		for p, n := range nv {
			if n > 1 && truthClass[p] == footfall.Visitor {
				asked = append(asked, p)
			}
		}
		slices.Sort(asked)
	}
	for _, p := range asked {
		if p == "" || people[p] == nil {
			continue
		}
		fmt.Fprintf(w, "PERSON %s %s rand %v class %v\n", p, people[p].Model, people[p].Rand, truthClass[p])
		for _, b := range bursts[p] {
			f, ok := match(b)
			if !ok {
				fmt.Fprintf(w, "    %s true (%5.1f,%5.1f) not located\n", hms(b.T, site), b.X, b.Y)
				continue
			}
			fmt.Fprintf(w, "    %s true (%5.1f,%5.1f) fix (%5.1f,%5.1f) err %4.1f n %d pS %.2f %s %s(%s, %v, visit %.0f s)\n",
				hms(b.T, site), b.X, b.Y, f.X, f.Y, f.Err, f.N, f.PStore, f.Track, f.final, owner[f.final], class[f.final], longest[f.final])
		}
	}
	causes := map[string]int{}
	var takeoverGap []float64
	var names []string
	for p, tc := range truthClass {
		if tc == footfall.Visitor && !ownedV[p] {
			names = append(names, p)
		}
	}
	slices.Sort(names)
	var agg struct {
		n, streetFix, lowP, storeFix        int
		depthStreet, depthStore             []float64
		errStreet, errStore, nStreet, nStor []float64
	}
	for _, p := range names {
		pt := people[p]
		var vis []sim.Visit
		for _, v := range pt.Visits {
			if float64(v.End-v.Start)/1000 >= site.Footfall.VisitorMinDwellS {
				vis = append(vis, v)
			}
		}
		inVisit := func(t int64) bool {
			for _, v := range vis {
				if t >= v.Start && t <= v.End {
					return true
				}
			}
			return false
		}
		// The person's tracks and the tracks their visit's bursts went to.
		type use struct{ n, street, low int }
		uses := map[string]*use{}
		var order []string
		var lines []string
		nv, street, low, missing := 0, 0, 0, 0
		for _, b := range bursts[p] {
			if !inVisit(b.T) {
				// Outside the visit: where the approach and the leaving went.
				if f, ok := match(b); ok {
					lines = append(lines, fmt.Sprintf("  · %s tx %+4.1f true (%5.1f,%5.1f) fix (%5.1f,%5.1f) err %4.1f n %d pS %.2f %-10s %s(%s)",
						hms(b.T, site), b.Tx, b.X, b.Y, f.X, f.Y, f.Err, f.N, f.PStore, "outside", f.final, owner[f.final]))
				}
				continue
			}
			nv++
			f, ok := match(b)
			if !ok {
				missing++
				lines = append(lines, fmt.Sprintf("    %s true (%5.1f,%5.1f) not located", hms(b.T, site), b.X, b.Y))
				continue
			}
			u := uses[f.final]
			if u == nil {
				u = &use{}
				uses[f.final] = u
				order = append(order, f.final)
			}
			u.n++
			st := "store"
			inS := inStore(f.X, f.Y)
			if !inS {
				st = "STREET"
				street++
				u.street++
				agg.depthStreet = append(agg.depthStreet, b.Y)
				agg.errStreet = append(agg.errStreet, f.Err)
				agg.nStreet = append(agg.nStreet, float64(f.N))
			} else {
				agg.depthStore = append(agg.depthStore, b.Y)
				agg.errStore = append(agg.errStore, f.Err)
				agg.nStor = append(agg.nStor, float64(f.N))
			}
			if inS && f.PStore < zones.MinEnterP {
				low++
				u.low++
				st = "store,lowP"
			}
			lines = append(lines, fmt.Sprintf("    %s tx %+4.1f true (%5.1f,%5.1f) fix (%5.1f,%5.1f) err %4.1f n %d pS %.2f %-10s %s(%s)",
				hms(b.T, site), b.Tx, b.X, b.Y, f.X, f.Y, f.Err, f.N, f.PStore, st, f.final, owner[f.final]))
		}
		agg.n += nv
		agg.streetFix += street
		agg.lowP += low
		agg.storeFix += nv - street - low - missing
		// Cause.
		cause := ""
		locV := locatedClass[p] == footfall.Visitor
		switch {
		case !locV && street+low >= nv-missing-1:
			cause = "locating: (nearly) every fix of the visit on the street or unsure"
		case !locV:
			cause = "locating: enough fixes on the street or unsure to break the visit"
		default:
			own, other := 0, 0
			for _, k := range order {
				if owner[k] == p {
					own++
				} else {
					other++
				}
			}
			switch {
			case other > 0 && own == 0:
				cause = "linking: visit went into others' tracks"
				// How: into a staff track; alternating with the track's
				// owner (two phones of one model at once); or after the
				// owner's last burst (a takeover: the owner left, the new
				// address continued its track).
				k := order[0]
				for _, o := range order {
					if uses[o].n > uses[k].n {
						k = o
					}
				}
				first, ownerAfter, ownerLast := int64(-1), false, int64(0)
				for _, e := range trackSeq[k] {
					switch {
					case e.who == p && first < 0:
						first = e.t
					case e.who == owner[k] && first >= 0:
						ownerAfter = true
					}
					if e.who == owner[k] {
						ownerLast = e.t
					}
				}
				switch {
				case truthClass[owner[k]] == footfall.Staff:
					cause += ", a staff phone's"
				case ownerAfter:
					cause += ", alternating with its owner's phone"
				default:
					cause += ", after its owner's last burst"
					takeoverGap = append(takeoverGap, float64(first-ownerLast)/1000)
				}
			case other > 0:
				cause = "linking: visit split between own and others' tracks"
			default:
				cause = "linking: visit split into own fragments, none 60 s"
			}
		}
		causes[cause]++
		dur := 0.0
		for _, v := range vis {
			dur += float64(v.End-v.Start) / 1000
		}
		fmt.Fprintf(w, "%s %s rand %v macs %d: %d visit(s) %.0f s, %d bursts in visit (%d fixed on street, %d in store but pStore<%.1f, %d not located); located class %v\n  cause: %s\n",
			p, pt.Model, pt.Rand, pt.MACs, len(vis), dur, nv, street, low, zones.MinEnterP, missing, locatedClass[p], cause)
		for _, k := range order {
			u := uses[k]
			o := owner[k]
			fmt.Fprintf(w, "  track %s (%s, owner %s %s, persons %d, %s–%s, longest store visit %.0f s): %d of the visit's bursts, %d street, %d unsure\n",
				k, class[k], o, truthClass[o], len(trackN[k]), hms(trackFirst[k], site), hms(trackLast[k], site), longest[k], u.n, u.street, u.low)
			if o != p {
				// Whose bursts the track held, in runs of one person.
				var runs []string
				cur, n, from := "", 0, int64(0)
				flush := func(to int64) {
					if n > 0 {
						runs = append(runs, fmt.Sprintf("%s×%d %s–%s", cur, n, hms(from, site), hms(to, site)))
					}
				}
				var last int64
				for _, e := range trackSeq[k] {
					if e.who != cur {
						flush(last)
						cur, n, from = e.who, 0, e.t
					}
					n++
					last = e.t
				}
				flush(last)
				fmt.Fprintf(w, "    runs: %s\n", strings.Join(runs, ", "))
			}
		}
		fmt.Fprintln(w, strings.Join(lines, "\n"))
	}
	fmt.Fprintf(w, "\n%d lost shoppers; causes:\n", len(names))
	var cs []string
	for k := range causes {
		cs = append(cs, k)
	}
	slices.Sort(cs)
	for _, k := range cs {
		fmt.Fprintf(w, "  %3d %s\n", causes[k], k)
	}
	q := func(v []float64, f float64) float64 {
		if len(v) == 0 {
			return math.NaN()
		}
		v = slices.Clone(v)
		slices.Sort(v)
		return v[int(f*float64(len(v)-1))]
	}
	if len(takeoverGap) > 0 {
		fmt.Fprintf(w, "  takeovers: the new address %.0f / %.0f / %.0f s (min, median, max) after the owner's last burst\n",
			q(takeoverGap, 0), q(takeoverGap, 0.5), q(takeoverGap, 1))
	}
	fmt.Fprintf(w, "their visits' bursts: %d, fixed on the street %d, in the store unsure %d, in the store %d\n", agg.n, agg.streetFix, agg.lowP, agg.storeFix)
	fmt.Fprintf(w, "  street fixes: true depth p10/50/90 %.1f/%.1f/%.1f m, err median %.1f, sensors median %.0f\n",
		q(agg.depthStreet, 0.1), q(agg.depthStreet, 0.5), q(agg.depthStreet, 0.9), q(agg.errStreet, 0.5), q(agg.nStreet, 0.5))
	fmt.Fprintf(w, "  store fixes: true depth p10/50/90 %.1f/%.1f/%.1f m, err median %.1f, sensors median %.0f\n",
		q(agg.depthStore, 0.1), q(agg.depthStore, 0.5), q(agg.depthStore, 0.9), q(agg.errStore, 0.5), q(agg.nStor, 0.5))
}

func hms(t int64, site *wire.Site) string {
	return time.UnixMilli(t).In(site.Location()).Format("15:04:05")
}
