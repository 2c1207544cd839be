package footfall

import (
	"cmp"
	"slices"

	"github.com/passant/passant/wire"
)

// The passers-by estimate. The contract counts tracks, and on the street a
// phone that takes a new random address with every scan or two (and
// restarts its sequence numbers) is a new track at each: the fixes there,
// outside the sensors' hull, are too poor to tell its next scan from
// another phone of the same model walking by (docs/footfall.md). Which
// tracks continue which cannot be told, but how many can: a continuation
// begins within a scan interval of the end of a track of the same model,
// while a new phone begins there only by chance, as often as it begins
// that close to the end of a track ten minutes away, when no passer-by is
// still in range. Over a day, with n randomised tracks of which near begin
// within W of the end of a track of their model, and chance the number
// expected to do so by chance (measured at a lag of L before and after),
// the number of continuations is
//
//	C = (near − chance) / (1 − chance/n)
//
// and each of the near tracks is a continuation with probability
// q = C / near. A passer-by that continues another track counts 1 − q
// of a person; a passer-by that a visitor continues (a shopper's approach)
// likewise. The contract's counts are left as they are; the estimate is
// the report's passersby_est (an extension).
const (
	splitWindow = 60_000  // W, ms: a scan interval of a per-scan randomiser
	chanceLag   = 600_000 // L, ms: long after any passer-by has left
)

// passerWeights returns, for each track-day, how much of a person it
// counts for in the passers-by estimate: 1, or less when it is likely
// another track's continuation.
func passerWeights(tds []trackDay) []float64 {
	w := make([]float64, len(tds))
	for i := range w {
		w[i] = 1
	}
	type groupKey struct {
		day int32
		fp  string
	}
	groups := map[groupKey][]int{}
	for i := range tds {
		if td := &tds[i]; td.rand && td.class != Staff {
			k := groupKey{td.day, td.fp}
			groups[k] = append(groups[k], i)
		}
	}
	keys := make([]groupKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b groupKey) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.fp, b.fp))
	})

	type dayTally struct {
		n, near, chance float64
		pairs           [][2]int // (predecessor, continuation)
	}
	tally := map[int32]*dayTally{}
	var days []int32
	var ends []int // a group's track-days by last detection
	for _, k := range keys {
		g := groups[k]
		dt := tally[k.day]
		if dt == nil {
			dt = &dayTally{}
			tally[k.day] = dt
			days = append(days, k.day)
		}
		ends = append(ends[:0], g...)
		slices.SortFunc(ends, func(a, b int) int {
			return cmp.Or(cmp.Compare(tds[a].last, tds[b].last), cmp.Compare(a, b))
		})
		// endIn returns the latest track-day of the group that ended
		// within [lo, hi), or -1.
		endIn := func(lo, hi int64) int {
			j, _ := slices.BinarySearchFunc(ends, hi, func(e int, t int64) int { return cmp.Compare(tds[e].last, t) })
			if j > 0 && tds[ends[j-1]].last >= lo {
				return ends[j-1]
			}
			return -1
		}
		for _, b := range g {
			t := tds[b].first
			dt.n++
			if a := endIn(t-splitWindow, t); a >= 0 {
				dt.near++
				dt.pairs = append(dt.pairs, [2]int{a, b})
			}
			if endIn(t-chanceLag-splitWindow, t-chanceLag) >= 0 {
				dt.chance += 0.5
			}
			if endIn(t+chanceLag, t+chanceLag+splitWindow) >= 0 {
				dt.chance += 0.5
			}
		}
	}
	for _, d := range days {
		dt := tally[d]
		q := continuation(dt.n, dt.near, dt.chance)
		for _, p := range dt.pairs {
			a, b := p[0], p[1]
			switch {
			case tds[b].class == Passerby:
				w[b] *= 1 - q
			case tds[a].class == Passerby:
				w[a] *= 1 - q
			}
		}
	}
	return w
}

// continuation returns q, the probability that a track which began within
// W of the end of a track of its model continues it, from n tracks, near
// of them so begun, and chance expected to be so begun by chance.
func continuation(n, near, chance float64) float64 {
	if near == 0 || chance >= n {
		return 0
	}
	c := (near - chance) / (1 - chance/n)
	return min(max(c, 0), near) / near
}

// estimate rounds a passers-by estimate to 0.1 and gives the capture rate
// with it (4 decimals, nil when there is nobody).
func estimate(visitors int, passersby float64) wire.Estimate {
	e := wire.Estimate{PassersbyEst: round(passersby, 1)}
	if den := float64(visitors) + e.PassersbyEst; den > 0 {
		r := round(float64(visitors)/den, 4)
		e.CaptureRateEst = &r
	}
	return e
}
