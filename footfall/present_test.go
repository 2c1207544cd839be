package footfall_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/replay"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// presentWindows are the silences after which a phone leaves the live
// counts, as TestLiveOccupancy compares them (ms).
var presentWindows = []int64{30_000, 45_000, 60_000, 90_000, 120_000, 300_000}

// liveError is one rule's error against the truth over the samples: mean
// absolute and mean signed (bias), in people.
type liveError struct{ abs, bias float64 }

func (e liveError) String() string { return fmt.Sprintf("%.2f / %+.2f", e.abs, e.bias) }

// liveRun is what liveOccupancy measured on one shop.
type liveRun struct {
	storeMean, streetMean float64
	// store: the open visits (Counter.Occupancy), Present with each of
	// presentWindows, and Present at PresentWithin without the staff
	// phones it counts (by the truth): the rule's own error.
	store []liveError
	// street: the live map's phones whose latest fix lies outside and is
	// at most 5 minutes old (the map's expiry), then each of
	// presentWindows.
	street []liveError
	causes map[string]int // what Present at PresentWithin counted, summed over the samples
}

// liveOccupancy replays a simulated shop as the live server sees it (a
// counter and a live map fed every position as it comes and every merge)
// and samples, every 30 s of event time, the live counts beside the truth.
// The truth in the store: the phones of non-staff people inside it. On the
// street: the phones of non-staff people within the sensors' hearing
// (between their arrival and departure in the simulator) and not in the
// store.
func liveOccupancy(t testing.TB, layout string, seed uint64, hours float64) liveRun {
	t.Helper()
	site, in, tr, from, to := simulate(t, layout, seed, hours)
	person, people := personOf(tr), peopleByID(tr)
	plan := zones.NewPlan(site)
	store := plan.Store()
	inStore := func(pt *sim.PersonTruth, at int64) bool {
		for _, v := range pt.Visits {
			if v.Start <= at && at < v.End {
				return true
			}
		}
		return false
	}
	c := footfall.NewCounter(site, plan)
	live := map[string]wire.Position{}   // the live map: each track's latest fix
	holds := map[string]map[string]int{} // track -> person -> positions
	owner := func(track string) *sim.PersonTruth {
		who, most := "", 0
		for p, n := range holds[track] {
			if n > most || n == most && p < who {
				who, most = p, n
			}
		}
		return people[who]
	}
	run := liveRun{store: make([]liveError, 2+len(presentWindows)), street: make([]liveError, 1+len(presentWindows)),
		causes: map[string]int{}}
	n := 0
	add := func(e *liveError, got, want int) {
		d := float64(got - want)
		e.abs += math.Abs(d)
		e.bias += d
	}
	sample := func(at int64) {
		c.Advance(at)
		n++
		wantIn, wantOut := 0, 0
		for _, pt := range people {
			if !pt.Phone || pt.Class == "staff" || at < pt.Arrive || at >= pt.Leave {
				continue
			}
			if inStore(pt, at) {
				wantIn++
			} else {
				wantOut++
			}
		}
		run.storeMean += float64(wantIn)
		run.streetMean += float64(wantOut)
		add(&run.store[0], c.Occupancy()[store], wantIn)
		for i, w := range presentWindows {
			add(&run.store[1+i], c.Present(at, w)[store], wantIn)
		}
		counted := c.PresentTracks(at, footfall.PresentWithin)
		staff := 0
		seen := map[string]bool{}
		for track := range counted {
			pt := owner(track)
			switch {
			case pt == nil:
				run.causes["no person"]++
			case pt.Class == "staff":
				run.causes["staff"]++
				staff++
			case inStore(pt, at) && seen[pt.Person]:
				run.causes["a second track"]++
			case inStore(pt, at):
				run.causes["right"]++
			case at >= pt.Leave || len(pt.Visits) > 0 && pt.Visits[0].Start <= at:
				run.causes["left"]++
			default:
				run.causes["not yet in"]++
			}
			if pt != nil {
				seen[pt.Person] = true
			}
		}
		for _, pt := range people {
			if pt.Phone && pt.Class != "staff" && !seen[pt.Person] && inStore(pt, at) {
				run.causes["missed"]++
			}
		}
		add(&run.store[1+len(presentWindows)], len(counted)-staff, wantIn)
		for i, w := range append([]int64{5 * 60_000}, presentWindows...) {
			got := 0
			for _, p := range live {
				if at-p.T <= w && p.Zone != "" && plan.Kind(p.Zone) == wire.ZoneOutside {
					got++
				}
			}
			add(&run.street[i], got, wantOut)
		}
	}
	next := from.UnixMilli()
	_, err := replay.Run(context.Background(), replay.Config{Site: site, Input: in,
		OnPosition: func(p wire.Position) {
			for ; next <= p.T && next < to.UnixMilli(); next += 30_000 {
				sample(next)
			}
			if who, ok := person[p.Dev]; ok {
				if holds[p.Track] == nil {
					holds[p.Track] = map[string]int{}
				}
				holds[p.Track][who]++
			}
			live[p.Track] = p
			c.Add(p)
		},
		OnMerge: func(from, into string, _ int64) {
			c.Merge(from, into)
			delete(live, from)
			if holds[into] == nil {
				holds[into] = map[string]int{}
			}
			for p, k := range holds[from] {
				holds[into][p] += k
			}
			delete(holds, from)
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, es := range [][]liveError{run.store, run.street} {
		for i := range es {
			es[i].abs /= float64(n)
			es[i].bias /= float64(n)
		}
	}
	run.storeMean /= float64(n)
	run.streetMean /= float64(n)
	return run
}

// TestLiveOccupancy measures the live map's counts against the simulator's
// truth, sampled every 30 s: "in the store now" (Present: a phone counts
// while its latest fix, at most PresentWithin old, leaves it in the store)
// must be far nearer the truth than the open visits, which keep a shopper
// who left for visit_gap_s (15 minutes), and the street's count by the same
// window nearer than by the map's 5 minutes. PASSANT_ACCURACY=full prints
// every shop's figures over 11 h; PASSANT_SUPERSEDE_MS sets the silence
// after which a track of a randomising phone gives way to a newer one of
// its model (0: never).
func TestLiveOccupancy(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a shop: not in -short")
	}
	layouts, hours := []string{"small"}, 3.0
	if os.Getenv("PASSANT_ACCURACY") == "full" {
		layouts, hours = sim.Layouts(), 11
	}
	seed := accuracySeed(t)
	if v := os.Getenv("PASSANT_SUPERSEDE_MS"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		defer footfall.SetSupersedeAfter(ms)()
	}
	var store, street strings.Builder
	store.WriteString("| shop | people in the store (mean) | open visits |")
	street.WriteString("| shop | people within hearing outside (mean) | live map, 5 min |")
	for _, w := range presentWindows {
		fmt.Fprintf(&store, " present, %d s |", w/1000)
		fmt.Fprintf(&street, " %d s |", w/1000)
	}
	fmt.Fprintf(&store, " present, %d s, staff known |\n", footfall.PresentWithin/1000)
	street.WriteString("\n")
	at := 1 + slices.Index(presentWindows, footfall.PresentWithin)
	for _, l := range layouts {
		r := liveOccupancy(t, l, seed, hours)
		fmt.Fprintf(&store, "| %s | %.1f |", l, r.storeMean)
		for _, e := range r.store {
			fmt.Fprintf(&store, " %v |", e)
		}
		fmt.Fprintf(&street, "| %s | %.1f |", l, r.streetMean)
		for _, e := range r.street {
			fmt.Fprintf(&street, " %v |", e)
		}
		store.WriteString("\n")
		street.WriteString("\n")
		t.Logf("%s: what Present counted (%d s), summed over the samples: %v", l, footfall.PresentWithin/1000, r.causes)
		if visits, present := r.store[0], r.store[at]; present.abs > visits.abs/3 {
			t.Errorf("%s: in the store now is off by %.2f people on average, by open visits %.2f", l, present.abs, visits.abs)
		}
		if own := r.store[len(r.store)-1]; own.abs > 0.35*r.storeMean || math.Abs(own.bias) > 0.2*r.storeMean {
			t.Errorf("%s: in the store now, staff left out, is off by %v people on average, of %.1f", l, own, r.storeMean)
		}
		if mapped, present := r.street[0], r.street[1+slices.Index(presentWindows, footfall.StreetWithin)]; present.abs > mapped.abs/3 {
			t.Errorf("%s: the street's count is off by %.2f people on average, by the map's 5 minutes %.2f", l, present.abs, mapped.abs)
		}
	}
	t.Logf("seed %d, %.0f h; error (mean absolute / mean signed, people) against the truth:\n%s\n%s", seed, hours, store.String(), street.String())
}
