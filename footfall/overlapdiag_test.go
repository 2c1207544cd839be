package footfall_test

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// staffOverlaps is a diagnosis of one run of TestAccuracy, written to
// PASSANT_ACCURACY_OVERLAP.<layout>: for every two consecutive pieces of a
// staff chain whose times overlap, whose fixes the overlap holds in each
// piece (by true person), whether those persons are lost shoppers, and
// whether a visitor track of the fingerprint was in the store then
// (BESIDE); then the true transmit offsets of the bursts in the store,
// staff phones apart: the mean per burst is what the locator's store level
// (learned per burst, locate/learn.go) absorbs of the phones' own offsets.
func staffOverlaps(w io.Writer, site *wire.Site, tr *sim.Truth, events []diagEvent) {
	c, class, merged := recount(site, events)
	_, final := streetJoins(site, c, merged)
	days, visits := c.TrackDays(), c.Visits()
	pieces := footfall.ChainPieces(site, days, visits)
	person := personOf(tr)
	truthClass := trueClasses(site, tr)
	type fx struct {
		who string
		t   int64
	}
	seq := map[string][]fx{}
	n := map[string]map[string]int{}
	for _, e := range events {
		if e.from != "" {
			continue
		}
		k := final(e.pos.Track)
		seq[k] = append(seq[k], fx{person[e.pos.Dev], e.pos.T})
		if n[k] == nil {
			n[k] = map[string]int{}
		}
		n[k][person[e.pos.Dev]]++
	}
	ownedV := map[string]bool{}
	for k, m := range n {
		if class[k] == footfall.Visitor {
			ownedV[majority(m)] = true
		}
	}
	fpOf := map[string]string{}
	for _, d := range days {
		fpOf[d.Track] = d.FP
	}
	storeZ := ""
	for _, z := range site.Zones {
		if z.Kind == wire.ZoneStore {
			storeZ = z.ID
		}
	}
	// beside reports whether a visitor track of fingerprint fp has a store
	// visit overlapping [from, to].
	beside := func(fp string, from, to int64) string {
		for _, v := range visits {
			if v.Zone == storeZ && class[v.Track] == footfall.Visitor && fpOf[v.Track] == fp && v.Start <= to && v.End >= from {
				return "BESIDE"
			}
		}
		return "alone"
	}
	type piece struct {
		k           string
		first, last int64
	}
	chains := map[int][]piece{}
	for _, d := range days {
		if pc := pieces[d.Track]; pc.Chain > 0 {
			chains[pc.Chain] = append(chains[pc.Chain], piece{d.Track, d.First, d.Last})
		}
	}
	ids := make([]int, 0, len(chains))
	for id := range chains {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	lostIn := 0
	for _, id := range ids {
		ps := chains[id]
		slices.SortFunc(ps, func(a, b piece) int { return cmp.Compare(a.first, b.first) })
		for i := 1; i < len(ps); i++ {
			a, b := ps[i-1], ps[i]
			if a.last <= b.first {
				continue
			}
			desc := func(p piece) string {
				cnt := map[string]int{}
				for _, f := range seq[p.k] {
					if f.t >= b.first && f.t <= a.last {
						cnt[f.who]++
					}
				}
				var s []string
				for who, m := range cnt {
					tag := truthClass[who].String()
					if truthClass[who] == footfall.Visitor && !ownedV[who] {
						tag += ",LOST"
						lostIn++
					}
					s = append(s, fmt.Sprintf("%s(%s)×%d", who, tag, m))
				}
				slices.Sort(s)
				return strings.Join(s, " ")
			}
			fmt.Fprintf(w, "chain %d: %s [%s–%s] then %s [%s–%s], overlap %.0f s %s\n  earlier's tail: %s\n  later's head:   %s\n",
				id, a.k, hms(a.first, site), hms(a.last, site), b.k, hms(b.first, site), hms(b.last, site), float64(a.last-b.first)/1000, beside(fpOf[a.k], b.first, a.last), desc(a), desc(b))
		}
	}
	fmt.Fprintf(w, "lost shoppers' appearances in overlaps: %d\n", lostIn)
	// The transmit offsets of the bursts in the store, by the truth: what
	// a level learned per burst absorbs, staff apart.
	plan := zones.NewPlan(site)
	kind := map[string]string{}
	for _, z := range site.Zones {
		kind[z.ID] = z.Kind
	}
	var nS, nO int
	var sumS, sumO float64
	for _, b := range tr.Bursts {
		if z := plan.Innermost(b.X, b.Y); z == "" || kind[z] == wire.ZoneOutside {
			continue
		}
		if truthClass[b.Person] == footfall.Staff {
			nS++
			sumS += b.Tx
		} else {
			nO++
			sumO += b.Tx
		}
	}
	fmt.Fprintf(w, "store bursts: staff %d (mean tx %+.2f dB), others %d (mean tx %+.2f dB); per-burst mean %+.2f dB\n",
		nS, sumS/float64(max(nS, 1)), nO, sumO/float64(max(nO, 1)), (sumS+sumO)/float64(max(nS+nO, 1)))
}
