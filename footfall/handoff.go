package footfall

import (
	"cmp"
	"math"
	"slices"
)

// The door-to-door estimate's visitors. A phone that takes a new address
// with every scan is linked from scan to scan by the tracker; where two
// phones of one model are in the store at once, or one falls silent for a
// scan or two, a scan may go to a new track, which then begins in the
// store without having come through the door: its visit continues
// another track's phone (a handoff), and its dwell, from the handoff to
// wherever that track ends, is no one's time in the store (a piece of a
// shopper's visit, or of a staff phone's day). Which new tracks in the
// store are handoffs cannot be told, but which may be can: a track-day
// whose first store visit begins without a fix outside the store within
// doorGap before it, of a randomised model, while another track of the
// model had a store visit that began earlier and had not ended doorGap
// before (a phone silent longer may have come in at any time). Such a
// track-day counts as a visitor as the contract says; only the
// door-to-door dwell median leaves it out. A shopper's own track that
// comes in unheard while another phone of the model is inside is left
// out too, but whether that happens has nothing to do with how long the
// shopper then stays, so the median of the rest is still a sample of
// the shoppers' dwell (docs/footfall.md, "Handoffs in the store").

// storeVisit is a store visit with its track-day (an index into the
// track-days).
type storeVisit struct {
	v  *Visit
	td int
}

// doorState is what markHandoffs carries along one model's store visits,
// in order of start: the latest end among the visits begun so far (of
// track t1), and the latest among the other tracks' (e2). It crosses local
// days: a visit that ended just before midnight may be continued just
// after it.
type doorState struct {
	e1, e2 int64
	t1     string
}

// markHandoffs sets handoff on the track-days whose first store visit
// may continue another track's; sv are the store visits. doors, when not
// nil, holds per fingerprint the state after the store visits before sv
// (those of earlier days: Past) and is left holding it after sv.
func markHandoffs(tds []trackDay, sv []storeVisit, doors map[string]doorState) {
	g := make([]storeVisit, 0, len(sv))
	for _, s := range sv {
		if td := &tds[s.td]; td.rand && td.fp != "" {
			g = append(g, s)
		}
	}
	slices.SortFunc(g, func(a, b storeVisit) int {
		return cmp.Or(cmp.Compare(tds[a.td].fp, tds[b.td].fp), cmp.Compare(a.v.Start, b.v.Start), cmp.Compare(a.v.Track, b.v.Track))
	})
	for lo := 0; lo < len(g); {
		hi := lo + 1
		for hi < len(g) && tds[g[hi].td].fp == tds[g[lo].td].fp {
			hi++
		}
		// The latest end among the model's visits begun earlier (track
		// t1), and the latest among the other tracks' (e2).
		fp := tds[g[lo].td].fp
		e1, e2, t1 := int64(never), int64(never), ""
		if d, ok := doors[fp]; ok {
			e1, e2, t1 = d.e1, d.e2, d.t1
		}
		for _, s := range g[lo:hi] {
			td := &tds[s.td]
			if s.v == td.firstVisit {
				if _, ok := doorBefore(s.v); !ok {
					end := e1
					if t1 == s.v.Track {
						end = e2
					}
					td.handoff = end != never && end >= s.v.Start-doorGap
				}
			}
			switch e := s.v.End; {
			case s.v.Track == t1:
				e1 = max(e1, e)
			case e > e1:
				e1, e2, t1 = e, e1, s.v.Track
			case e > e2:
				e2 = e
			}
		}
		if doors != nil {
			doors[fp] = doorState{e1, e2, t1}
		}
		lo = hi
	}
}

// never is an end before any time.
const never = math.MinInt64
