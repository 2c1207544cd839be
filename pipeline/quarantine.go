package pipeline

import (
	"slices"

	"github.com/passant/passant/wire"
)

// Clock states of a sensor, as the sensors view shows them.
const (
	ClockOK          = "ok"          // in line with the others (fine offsets only)
	ClockCorrected   = "corrected"   // off by a second or more; a coarse offset is taken off
	ClockQuarantined = "quarantined" // erratic or not yet corrected: not used for positions
)

// quarantine catches sensor clocks that are off by far more than the fine
// alignment (clock.go) handles — a node 10 minutes off after a bad NTP
// sync, or one whose clock jumps — before their observations reach the
// reordering buffer, where they would be fused with other moments' frames.
//
// It matches frames several sensors heard (the same dev and seq, as the
// fine alignment does) over a wide window, ±maxCoarse, and keeps for each
// pair of sensors the last few differences of their (coarsely corrected)
// clocks, one per batch (the median of the batch's shared frames). Each partner of a sensor votes: agree (median under a second,
// steady), offset (median a second or more, steady) or erratic (spread a
// second or more). A sensor with at least two offset votes that agree, and
// more offset than agree votes, gets the median taken off its clock from
// then on (corrected); a sensor with more erratic than agree votes, or with
// offset votes only and none agreeing, is quarantined: its batches are
// counted and kept (journal, storage) but not located, until its partners
// agree with it again. Two sensors cannot outvote each other, so a site
// with two sensors relies on the fine alignment only.
//
// Everything is driven by the observations, in arrival order, so a replay
// decides exactly as the live server did.
type quarantine struct {
	n      int
	coarse []int64 // ms taken off each sensor's clock
	state  []string
	agree  []int       // partners that agreed at the last judgement
	sent   []int64     // latest corrected sent time per sensor, 0 before any
	order  []int64     // the positive values of sent, ascending (ahead)
	pairs  []pairRing  // n*n, a < b
	batch  [][]int64   // per partner: the current batch's differences
	recent *frameTable // the last quarKeep frames
}

// pairRing keeps the last samples of t_a - t_b (ms, corrected clocks).
type pairRing struct {
	v [pairSamples]int64
	n int
}

const (
	maxCoarse   = 3600_000 // ms: frames further apart are not the same frame
	coarseLimit = 1000     // ms: a pair further apart than this is "offset"
	pairSamples = 5
	pairMin     = 3 // samples before a pair votes
	quarKeep    = 16384
	maxAhead    = 60_000 // ms
)

func newQuarantine(n int) *quarantine {
	q := &quarantine{n: n, coarse: make([]int64, n), state: make([]string, n), pairs: make([]pairRing, n*n),
		agree: make([]int, n), sent: make([]int64, n), order: make([]int64, 0, n), batch: make([][]int64, n),
		recent: newFrameTable(quarKeep)}
	for i := range q.state {
		q.state[i] = ClockOK
	}
	return q
}

// admit learns from a batch of sensor s and returns its observations with
// the sensor's coarse offset taken off their times (the batch's own slice
// when there is none), and the corrected sent time. ok is false when the
// sensor is quarantined.
func (q *quarantine) admit(s int, b *wire.Batch) (obs []wire.Observation, sent int64, ok bool) {
	if q.n >= 3 {
		for i := range b.Obs {
			q.observe(s, &b.Obs[i])
		}
		// One sample per pair and batch: the median of the batch's frames.
		for p, ds := range q.batch {
			if len(ds) > 0 {
				q.add(s, p, upperMedian(ds))
				q.batch[p] = ds[:0]
			}
		}
		q.judge(s)
	}
	c := q.coarse[s]
	sent = b.Sent - c
	ahead := q.ahead(s, sent)
	if sent > q.sent[s] {
		q.order = raiseSorted(q.order, q.sent[s], sent)
		q.sent[s] = sent
	}
	if q.state[s] == ClockQuarantined || ahead {
		return nil, 0, false
	}
	if c == 0 {
		return b.Obs, b.Sent, true
	}
	obs = make([]wire.Observation, len(b.Obs))
	copy(obs, b.Obs)
	for i := range obs {
		obs[i].T -= c
	}
	return obs, sent, true
}

// ahead reports whether sent lies more than maxAhead after the median of
// the other sensors' latest sent times (those within maxAhead of the
// newest): a clock that jumped forward, whose batches must not move the
// site's event time before its partners have had their say. Such a batch is
// not located (counted as quarantined). The price: a sensor that is on
// time while the others still drain a backlog older than maxAhead is not
// located until they catch up (its batches are kept, as the backlog is).
func (q *quarantine) ahead(s int, sent int64) bool {
	if q.n < 3 {
		return false
	}
	// the others' latest sent times, ascending: q.order without one
	// occurrence of s's own
	var buf [64]int64
	v, own := buf[:0], q.sent[s]
	for _, t := range q.order {
		if t == own {
			own = 0 // only once (the order holds positive values)
			continue
		}
		v = append(v, t)
	}
	if len(v) == 0 {
		return false
	}
	// those within maxAhead of the newest
	i, from := 0, v[len(v)-1]-maxAhead
	for v[i] < from {
		i++
	}
	v = v[i:]
	if len(v) < 2 {
		return false
	}
	return sent-v[(len(v)-1)/2] > maxAhead
}

func (q *quarantine) observe(s int, o *wire.Observation) {
	if o.Seq < 0 {
		return
	}
	k := frameKey{o.Dev, int64(o.Seq)}
	if prev, ok := q.recent.get(k); ok {
		if p := int(prev.sensor); p != s {
			d := (o.T - q.coarse[s]) - (prev.t - q.coarse[p])
			if d > -maxCoarse && d < maxCoarse {
				q.batch[p] = append(q.batch[p], d)
			}
		}
		return
	}
	q.recent.add(k, frameSeen{int32(s), o.T})
}

// add records d ≈ t_a - t_b.
func (q *quarantine) add(a, b int, d int64) {
	if a > b {
		a, b, d = b, a, -d
	}
	r := &q.pairs[a*q.n+b]
	r.v[r.n%pairSamples] = d
	r.n++
}

// pair returns the median and spread (median absolute deviation) of
// t_s - t_p, and whether the pair has enough samples to vote.
func (q *quarantine) pair(s, p int) (med, mad int64, ok bool) {
	a, b, sign := s, p, int64(1)
	if a > b {
		a, b, sign = b, a, -1
	}
	r := &q.pairs[a*q.n+b]
	k := min(r.n, pairSamples)
	if k < pairMin {
		return 0, 0, false
	}
	if k == 5 {
		// as below, without sorting (and its mispredicted branches)
		v := &r.v
		med = median5(v[0], v[1], v[2], v[3], v[4])
		mad = median5(abs64(v[0]-med), abs64(v[1]-med), abs64(v[2]-med), abs64(v[3]-med), abs64(v[4]-med))
		return sign * med, mad, true
	}
	var buf [pairSamples]int64
	v := buf[:k]
	copy(v, r.v[:k])
	slices.Sort(v)
	med = v[k/2]
	for i := range v {
		v[i] = abs64(v[i] - med)
	}
	slices.Sort(v)
	return sign * med, v[k/2], true
}

// judge decides sensor s's clock state from its partners' votes.
func (q *quarantine) judge(s int) {
	var agree, erratic int
	var offsets [64]int64
	off := offsets[:0]
	for p := 0; p < q.n; p++ {
		if p == s {
			continue
		}
		med, mad, ok := q.pair(s, p)
		switch {
		case !ok:
		case mad >= coarseLimit:
			erratic++
		case abs64(med) >= coarseLimit:
			off = append(off, med)
		default:
			agree++
		}
	}
	q.agree[s] = agree
	switch {
	case len(off) >= 2 && len(off) > agree+erratic && spread(off) < coarseLimit:
		slices.Sort(off)
		q.coarse[s] += off[len(off)/2]
		q.state[s] = ClockCorrected
		q.forget(s)
	case erratic >= 1 && erratic > agree, len(off) > 0 && agree == 0:
		q.state[s] = ClockQuarantined
	case agree > 0:
		if q.coarse[s] != 0 {
			q.state[s] = ClockCorrected
		} else {
			q.state[s] = ClockOK
		}
	}
}

// forget drops the samples of s's pairs after its clock was corrected.
func (q *quarantine) forget(s int) {
	for p := 0; p < q.n; p++ {
		a, b := min(s, p), max(s, p)
		q.pairs[a*q.n+b] = pairRing{}
	}
}

// upperMedian is v[len(v)/2] of v sorted (v not empty; it may be
// reordered): the usual one to three values without sorting.
func upperMedian(v []int64) int64 {
	switch len(v) {
	case 1:
		return v[0]
	case 2:
		return max(v[0], v[1])
	case 3:
		a, b, c := v[0], v[1], v[2]
		return max(min(a, b), min(max(a, b), c))
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// median5 is the median of five values (the third of them sorted):
// max(min(a,b), min(c,d)) and min(max(a,b), max(c,d)) bound the median of
// a to d's middle two, and the median of those two bounds and e is the
// median of all five.
func median5(a, b, c, d, e int64) int64 {
	f := max(min(a, b), min(c, d))
	g := min(max(a, b), max(c, d))
	return max(min(e, f), min(max(e, f), g))
}

func spread(v []int64) int64 { return slices.Max(v) - slices.Min(v) }

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
