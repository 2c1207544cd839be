package footfall

import (
	"cmp"
	"math"
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
// another track's continuation; and, per model and day with a share of
// continuations c > 0, the statistics behind it (what joinStreet needs).
func passerWeights(tds []trackDay) ([]float64, []modelStat) {
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
	var m modelDay
	var stats []modelStat
	for _, k := range keys {
		if q := m.weigh(tds, groups[k], span[k.day], w); q > 0 {
			stats = append(stats, modelStat{group: groups[k], q: q, near: m.nearPairs()})
		}
	}
	return w, stats
}

// modelStat is what the estimate found of one model on one day: its
// randomised track-days (indices into the day's track-days), the
// probability q that a track begun within W of an end continues it, and
// the pairs (earlier, later) of such track-days: each later one with the
// latest end within W before its start.
type modelStat struct {
	group []int
	q     float64
	near  [][2]int
}

// nearPairs returns the pairs of the last weigh: each track-day begun
// within W of the end of another, with that one.
func (m *modelDay) nearPairs() [][2]int {
	var out [][2]int
	for i, b := range m.byFirst {
		if a := m.pred[i]; a >= 0 {
			out = append(out, [2]int{a, b})
		}
	}
	return out
}

// The windows [t+lo, t+hi) around a track's first detection t: the near
// one, then the chance ones, back and forth.
var splitWins = func() [][2]int64 {
	wins := [][2]int64{{-splitWindow, 0}}
	for i := range int64(chanceWins) {
		lag := chanceLag + i*splitWindow
		wins = append(wins, [2]int64{-lag - splitWindow, -lag}, [2]int64{lag, lag + splitWindow})
	}
	return wins
}()

// modelDay weighs the randomised tracks of one model on one day; its
// slices are reused from one model to the next.
type modelDay struct {
	ends    []int   // the track-days by last detection
	lasts   []int64 // their last detections
	byFirst []int   // the track-days by first detection
	keyed   []timed
	pred    []int // per member of byFirst: the track-day it began within W of the end of, or -1
	ptr     [1 + 2*chanceWins]int
}

// weigh multiplies the weights w of the group g (indices into tds, the
// day's traffic spanning span) by 1 − q where a passer-by continues
// another track or is continued by a visitor, and returns q (0 when no
// track is a continuation).
func (m *modelDay) weigh(tds []trackDay, g []int, span [2]int64, w []float64) float64 {
	m.ends, m.lasts = m.ends[:0], m.lasts[:0]
	for _, e := range m.sorted(tds, g, func(td *trackDay) int64 { return td.last }) {
		m.ends, m.lasts = append(m.ends, e.i), append(m.lasts, e.t)
	}
	m.byFirst = m.byFirst[:0]
	for _, e := range m.sorted(tds, g, func(td *trackDay) int64 { return td.first }) {
		m.byFirst = append(m.byFirst, e.i)
	}
	m.ptr = [len(m.ptr)]int{}
	m.pred = m.pred[:0]
	var n, near, sumP float64
	for _, b := range m.byFirst {
		t := tds[b].first
		a := m.endIn(0, t, b)
		hits, tried := 0, 0
		for win := 1; win < len(splitWins); win++ {
			if t+splitWins[win][0] < span[0] || t+splitWins[win][1] > span[1] {
				continue // outside the day's traffic
			}
			tried++
			if m.endIn(win, t, b) >= 0 {
				hits++
			}
		}
		if tried == 0 {
			// A day shorter than the lag: nothing to compare with.
			m.pred = append(m.pred, -1)
			continue
		}
		m.pred = append(m.pred, a)
		n++
		sumP += float64(hits) / float64(tried)
		if a >= 0 {
			near++
		}
	}
	c := continued(n, near, sumP)
	if c == 0 {
		return 0
	}
	q := min(c*n/near, 1)
	for i, b := range m.byFirst {
		a := m.pred[i]
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
	return q
}

// sorted returns the group keyed by one of its times, in order.
func (m *modelDay) sorted(tds []trackDay, g []int, at func(*trackDay) int64) []timed {
	m.keyed = m.keyed[:0]
	for _, i := range g {
		m.keyed = append(m.keyed, timed{at(&tds[i]), tds[i].track, i})
	}
	slices.SortFunc(m.keyed, timed.compare)
	return m.keyed
}

// endIn returns the latest track-day other than skip that ended within
// window win of t, or -1. The t of successive calls do not decrease, so
// each window's pointer (the first end at or after its hi) only moves on.
func (m *modelDay) endIn(win int, t int64, skip int) int {
	lo, hi := t+splitWins[win][0], t+splitWins[win][1]
	j := m.ptr[win]
	for j < len(m.lasts) && m.lasts[j] < hi {
		j++
	}
	m.ptr[win] = j
	for j--; j >= 0 && m.lasts[j] >= lo; j-- {
		if m.ends[j] != skip {
			return m.ends[j]
		}
	}
	return -1
}

// timed is a track-day's index with one of its times, to sort by; ties go
// by track name (unique within a day), so that the weights do not depend
// on the order the summaries came in (the live server reads them from
// storage, replay from its counter).
type timed struct {
	t     int64
	track string
	i     int
}

func (a timed) compare(b timed) int {
	return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.track, b.track))
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

// micro is a passers-by weight in millionths: sums of them do not depend
// on the order they are added in.
func micro(w float64) int64 { return int64(math.Round(w * 1e6)) }

// estimate rounds a passers-by estimate (in millionths) to 0.1 and gives
// the capture rate with it (4 decimals, nil when there is nobody) and the
// median of the estimated dwells (nil when there are none; it reorders
// them).
func estimate(visitors int, passersbyMicro int64, dwells []float64) wire.Estimate {
	e := wire.Estimate{PassersbyEst: round(float64(passersbyMicro)/1e6, 1), DwellMedianEstS: median(dwells)}
	if den := float64(visitors) + e.PassersbyEst; den > 0 {
		r := round(float64(visitors)/den, 4)
		e.CaptureRateEst = &r
	}
	return e
}

// doorGap is the longest gap between a visit's fix next to the door
// and the fix outside beside it that still places the door between
// them: a phone silent longer may have come in at any time.
const doorGap = 120_000 // ms

// visitEstimate returns a store visit's time in the store, door to door.
// A phone crossed the door somewhere between its last fix confidently
// outside the store and its first fix inside the store's outline (v.Before
// and v.Enter); with its probes at a phase that has nothing to do with
// the door, anywhere in that gap alike, so the midpoint is the estimate,
// whatever the phone's rhythm. Likewise out, between v.End and v.After.
// Where there is no such fix (a track that begins or ends in the store,
// a phone silent for longer than doorGap), the side takes half the
// visit's own mean interval Δ = dwell / (n − 1): with fixes every Δ at a
// phase unrelated to the door, the phone came in Δ/2 before its first fix
// on average and left Δ/2 after its last, so with neither door fix the
// estimate is dwell · n / (n − 1). v.Enter may lie
// before v.Start: fixes inside the outline that the entry rule held out
// (the store's side under zones.MinEnterP) are in the store by position;
// the contract's dwell, visitors and bounces still start at v.Start.
func visitEstimate(v *Visit) float64 {
	start, end := doorTimes(v)
	return max(end-start, 0) / 1000
}

// doorTimes returns when the visit's phone most likely came in and left,
// Unix ms (visitEstimate).
func doorTimes(v *Visit) (start, end float64) {
	var half float64 // Δ/2, ms
	if v.Fixes >= 2 {
		half = float64(v.End-v.Start) / float64(v.Fixes-1) / 2
	}
	enter, door := doorBefore(v)
	start = float64(enter) - half
	if door {
		start = float64(v.Before+enter) / 2
	}
	end = float64(v.End) + half
	if v.After > v.End && v.After-v.End <= doorGap {
		end = float64(v.End+v.After) / 2
	}
	return start, end
}

// doorBefore returns the visit's first fix inside the store's outline
// (v.Enter, when before v.Start) and whether the track had a fix
// confidently outside within doorGap before it (v.Before).
func doorBefore(v *Visit) (enter int64, ok bool) {
	enter = v.Start
	if v.Enter > 0 && v.Enter < v.Start {
		enter = v.Enter
	}
	return enter, v.Before > 0 && v.Before < enter && enter-v.Before <= doorGap
}

// share counts visitors whose phone keeps its address, and how many of them
// were returning. A randomising phone gets a new address every scan or
// every few minutes and cannot be recognised on another day, so it always
// counts as new; the returning share among the phones that keep their
// address is the estimate for all visitors (as long as randomising says
// nothing about how often someone comes back).
type share struct{ visitors, returning int }

func (s *share) add(returning bool) {
	s.visitors++
	if returning {
		s.returning++
	}
}

// scale returns the returning visitors estimated among all visitors,
// rounded to 0.1; nil when no visitor's phone kept its address.
func (s share) scale(visitors int) *float64 {
	if s.visitors == 0 {
		return nil
	}
	r := round(float64(visitors)*float64(s.returning)/float64(s.visitors), 1)
	return &r
}
