package sim

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// TestSplitReasons counts, for every split (a phone's new pseudonym that
// did not continue the track of the phone's last burst, and was not
// merged into it later), why the linker did not take that track: how far
// it got among the candidates (locate.LinkCandidate's stages), and for
// candidates weighed by their likelihood ratio whether another scored
// higher or it stayed below the bar (docs/locate.md, "Street splits").
// PASSANT_SPLITS=<hours> to run; PASSANT_SPLITS_SEED (default 1).
func TestSplitReasons(t *testing.T) {
	h, seed := diagRun(t, "PASSANT_SPLITS", "count the reasons of the splits")
	fpModel := map[string]string{}
	for _, m := range models {
		fpModel[m.fp] = m.name
	}
	all := map[string]int{}
	var sum strings.Builder
	for _, layout := range Layouts() {
		r, err := splitReasons(layout, uint64(seed), h, fpModel)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sum, "%s: splits %d, merged tracks %d\n", layout, r.splits, r.merged)
		for k, n := range r.reasons {
			all[k] += n
		}
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return all[keys[i]] > all[keys[j]] || all[keys[i]] == all[keys[j]] && keys[i] < keys[j]
	})
	for _, k := range keys {
		fmt.Fprintf(&sum, "%5d  %s\n", all[k], k)
	}
	t.Log("\n" + sum.String())
}

type splitCount struct {
	splits, merged int
	reasons        map[string]int // "class, where: reason" and "model: reason"
}

func splitReasons(layout string, seed uint64, hours float64, fpModel map[string]string) (*splitCount, error) {
	shop, batches, truth, err := diagShop(layout, seed, hours)
	if err != nil {
		return nil, err
	}
	site := shop.Site()
	m, err := locate.NewModel(site)
	if err != nil {
		return nil, err
	}
	match := truth.matcher()
	var cands []locate.LinkCandidate
	tracker := locate.NewTracker(m, locate.TrackerOptions{LinkTrace: func(c locate.LinkCandidate) { cands = append(cands, c) }})
	alias := map[string]string{}
	final := mergedInto(alias)
	merges := func() {
		for _, mg := range tracker.Merges() {
			alias[mg.From] = mg.Into
		}
	}
	type event struct{ track, right, where, model string }
	var events []event
	personLast := map[string]string{} // the track of the person's last burst
	lastPerson := map[string]string{} // the person of the track's last burst
	seen := map[string]bool{}
	var done [][2]string
	for _, b := range Bursts(m, site, batches) {
		cands = cands[:0]
		pos := tracker.Add(b)
		how := tracker.LinkedBy()
		merges()
		tracker.Expire(b.T)
		merges()
		fresh := !seen[pos.Track]
		seen[pos.Track] = true
		bt := match(b.Dev, b.T)
		if bt == nil {
			continue
		}
		p := bt.Person
		right, had := personLast[p]
		right = final(right)
		wrong := how != locate.LinkNone && how != locate.LinkLater && lastPerson[pos.Track] != "" && lastPerson[pos.Track] != p
		if had && b.Rand && right != pos.Track && (fresh || wrong) {
			events = append(events, event{pos.Track, right, whyNot(cands, right, wrong, how), fpModel[b.FP]})
			e := &events[len(events)-1]
			where := "store"
			if bt.Y < 0 {
				where = "street"
			}
			e.where = bt.Class + ", " + where + ": " + e.where
		}
		lastPerson[pos.Track] = p
		personLast[p] = pos.Track
		done = append(done, [2]string{pos.Track, p})
	}
	r := &splitCount{reasons: map[string]int{}}
	for _, e := range events {
		if final(e.track) == final(e.right) {
			continue // a deferred link merged them after all
		}
		r.reasons[e.where]++
		if strings.HasPrefix(e.where, Passerby+", street") {
			r.reasons["  passer-by "+e.model+": "+e.where[strings.Index(e.where, ": ")+2:]]++
		}
	}
	personTracks := map[string]map[string]bool{}
	trackPersons := map[string]map[string]bool{}
	for _, d := range done {
		add(personTracks, d[1], final(d[0]))
		add(trackPersons, final(d[0]), d[1])
	}
	for _, ts := range personTracks {
		r.splits += len(ts) - 1
	}
	for _, ps := range trackPersons {
		if len(ps) > 1 {
			r.merged++
		}
	}
	return r, nil
}

// whyNot says why a burst's pseudonym did not continue track right, from
// the candidates the linker weighed.
func whyNot(cands []locate.LinkCandidate, right string, wrong bool, how string) string {
	var rc *locate.LinkCandidate
	n := 0
	for i := range cands {
		if cands[i].Track == right {
			rc = &cands[i]
		}
		if cands[i].Stage == "end" {
			n = cands[i].N
		}
	}
	reason := "not weighed (no fix, or expired)"
	if rc != nil {
		reason = rc.Stage
		if rc.Stage == "loose" {
			l := rc.LLR + rc.Side
			rank := 0
			for _, c := range cands {
				if c.Stage == "loose" && c.Track != right && c.LLR+c.Side > l {
					rank++
				}
			}
			switch {
			case rank > 0:
				reason = "loose, another candidate scored higher"
			case l < 3.5:
				reason = "loose, best but below 3.5"
			case l < 3.5+math.Log(float64(n)):
				reason = "loose, best but below 3.5 + log n"
			default:
				reason = "loose, another rule won"
			}
		}
	}
	if wrong {
		reason += " (linked to another phone by " + how + ")"
	}
	return reason
}

// diagRun reads a diagnostic test's environment: the hours to simulate
// from name (skipping the test, which would do what, when it is unset)
// and the seed from name_SEED (default 1).
func diagRun(t *testing.T, name, what string) (hours float64, seed int) {
	t.Helper()
	hours, err := strconv.ParseFloat(os.Getenv(name), 64)
	if err != nil {
		t.Skipf("set %s=<hours> to %s", name, what)
	}
	seed, _ = strconv.Atoi(os.Getenv(name + "_SEED"))
	if seed == 0 {
		seed = 1
	}
	return hours, seed
}

// diagShop simulates hours of a layout from 08:00 for the diagnostic
// tests: the shop, its batches and the truth.
func diagShop(layout string, seed uint64, hours float64) (*Shop, []*wire.Batch, *Truth, error) {
	shop, err := NewShop(layout, Config{Seed: seed})
	if err != nil {
		return nil, nil, nil, err
	}
	var batches []*wire.Batch
	truth := &Truth{}
	from := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	err = shop.Run(context.Background(), from, from.Add(time.Duration(hours*float64(time.Hour))), func(_ string, b *wire.Batch) error {
		batches = append(batches, b)
		return nil
	}, truth)
	return shop, batches, truth, err
}
