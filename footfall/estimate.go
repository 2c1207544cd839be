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
// tracks continue which cannot be told, but how many can.
//
// Take the randomised tracks of one model (capability fingerprint) on one
// day. A track that continues another begins within W of that one's end;
// a track of a new phone begins within W of the end of some track of the
// model only by chance, with a probability p_B that depends on the traffic
// around its start and is measured there: the share of windows of length
// W at lags L..L+9W before and after its start (long after any passer-by
// has left) in which a track of the model ends. If a share c of the
// model's tracks are continuations, a track begins near an end with
// probability c + (1 − c) p_B; so over the model's n tracks, near of them
// begun near an end,
//
//	c = (near − Σ p_B) / (n − Σ p_B)
//
// and a track begun near an end continues it with probability
//
//	q = c n / near
//
// (the form c / (c + (1 − c) p_B) per track would follow the noise of
// each p_B, and being convex in it, overcorrect). Tracks of a day shorter
// than L have nothing to compare with and count whole.
//
// A passer-by that continues another track counts 1 − q of a person; so
// does a passer-by that a visitor continues (a shopper's approach). The
// contract's counts stay as they are; the estimate is the report's
// passersby_est (an extension).
const (
	splitWindow = 60_000  // W, ms: a scan interval of a per-scan randomiser
	chanceLag   = 600_000 // L, ms: long after any passer-by has left
	chanceWins  = 10      // windows of W on each side, from L on
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
	// Windows count only within the day's span of tracks other than
	// staff: before the first and after the last there is no traffic to
	// measure.
	span := map[int32][2]int64{}
	for i := range tds {
		td := &tds[i]
		if td.class == Staff {
			continue
		}
		if s, ok := span[td.day]; !ok {
			span[td.day] = [2]int64{td.first, td.last}
		} else {
			span[td.day] = [2]int64{min(s[0], td.first), max(s[1], td.last)}
		}
		if td.rand {
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

	var ends []int // a group's track-days by last detection
	var pred []int // per member: the track-day it began within W of the end of, or -1
	for _, k := range keys {
		g := groups[k]
		ends = append(ends[:0], g...)
		slices.SortFunc(ends, func(a, b int) int {
			return cmp.Or(cmp.Compare(tds[a].last, tds[b].last), cmp.Compare(a, b))
		})
		// endIn returns the latest track-day of the group other than
		// skip that ended within [lo, hi), or -1.
		endIn := func(lo, hi int64, skip int) int {
			j, _ := slices.BinarySearchFunc(ends, hi, func(e int, t int64) int { return cmp.Compare(tds[e].last, t) })
			for j--; j >= 0 && tds[ends[j]].last >= lo; j-- {
				if ends[j] != skip {
					return ends[j]
				}
			}
			return -1
		}
		lo, hi := span[k.day][0], span[k.day][1]
		pred = pred[:0]
		var n, near, sumP float64
		for _, b := range g {
			t := tds[b].first
			a := endIn(t-splitWindow, t, b)
			hits, wins := 0, 0
			for i := range int64(chanceWins) {
				lag := chanceLag + i*splitWindow
				if t-lag-splitWindow >= lo {
					wins++
					if endIn(t-lag-splitWindow, t-lag, b) >= 0 {
						hits++
					}
				}
				if t+lag+splitWindow <= hi {
					wins++
					if endIn(t+lag, t+lag+splitWindow, b) >= 0 {
						hits++
					}
				}
			}
			if wins == 0 {
				// A day shorter than the lag: nothing to compare with.
				pred = append(pred, -1)
				continue
			}
			p := float64(hits) / float64(wins)
			pred = append(pred, a)
			n++
			sumP += p
			if a >= 0 {
				near++
			}
		}
		c := continued(n, near, sumP)
		if c == 0 {
			continue
		}
		q := min(c*n/near, 1)
		for i, b := range g {
			a := pred[i]
			if a < 0 {
				continue
			}
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

// continued returns c, the share of a model's n tracks that continue
// another, from near of them begun within W of an end and sumP, the
// number expected to be so begun by chance; in [0, 1].
func continued(n, near, sumP float64) float64 {
	if near == 0 || sumP >= n {
		return 0
	}
	return min(max((near-sumP)/(n-sumP), 0), 1)
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
