package footfall

import (
	"cmp"
	"math"
	"slices"

	"github.com/passant/passant/wire"
)

// Street fragments joined by count. On the street a phone that takes a new
// random address with every scan reaches the server as several tracks, and
// no single link between two of them is likely enough to make (a
// per-scan randomiser's next scan looks like another phone of its model
// walking by; docs/locate.md, "Street splits: why they stay"). But the
// contract counts tracks, and the number of tracks depends only on how
// many links are made, not on which: tracks = persons + continuations
// left unlinked − wrong links. The passers-by estimate (estimate.go)
// measures, per model and day, the probability q that a track begun within
// W of the end of another of the model continues it; of the model's near
// pairs (each track begun within W of an end, with the latest such end)
// that join street fragments,
//
//	x = q · near_street
//
// are expected to be one phone. joinStreet makes that many joins, rounded
// with the fractions carried from one model-day to the next (so that the
// day's total is the sum of the expectations, rounded once), and chooses
// them by one assignment over all of the model-day's candidate pairs, not
// one decision at a time: pairs (a, b) of fragments of the model's
// randomised tracks with
//
//	a.last < b.first ≤ a.last + W
//
// (never overlapping) are taken in order of the probability that their
// gap b.first − a.last is a continuation's (score), each fragment followed by at most one and following at
// most one, while the chain they make spans at most joinSpanMs (a walk
// past, never a stay: it can never become staff nor look like a dwelling
// person). The joins are right in number, not one by one: the claim is the
// count of passers-by, not who they were (docs/footfall.md, "street
// fragments joined by count").
//
// A street fragment is a passer-by track-day that was never in the store
// (no store visit, not even a bounce) and spans at most joinSpanMs. With
// joinVisitors, a street fragment may also be joined to a visitor whose
// track it approaches (ends within W before the visitor's track begins) or
// leaves (begins within W after it ends): such near pairs count in x, and
// a chain holds at most one visitor, its street part spans at most
// joinSpanMs and the whole less than staff_min_dwell_s.
//
// A joined chain is one track: it keeps the name of its visitor, or else
// of its first fragment, and spans from the first detection of its first
// fragment to the last of its last; the other fragments are not counted
// again.
const joinSpanMs = 5 * 60_000

// joinVisitors lets street fragments join visitors' tracks as their
// approach or leaving.
var joinVisitors = true

// joinStreet joins street fragments of the models in stats (passerWeights)
// and returns, for each track-day, the index of the track-day it was joined
// into, or -1; the keepers' first and last detections span their chains.
func joinStreet(tds []trackDay, stats []modelStat, staffMs int64) []int {
	var carry float64
	return joinStreetAfter(tds, stats, staffMs, &carry)
}

// joinStreetAfter is joinStreet after earlier model-days (Past) that left
// *carry expected joins not yet made; it leaves there those of stats too.
func joinStreetAfter(tds []trackDay, stats []modelStat, staffMs int64, carryp *float64) []int {
	into := make([]int, len(tds))
	for i := range into {
		into[i] = -1
	}
	var j joiner
	carry := *carryp // expected joins not yet made, of earlier model-days
	defer func() { *carryp = carry }()
	for _, st := range stats {
		var eligible int
		for _, p := range st.near {
			if j.kind(tds, p[0], p[1]) != pairNone {
				eligible++
			}
		}
		x := carry + st.q*float64(eligible)
		k := int(math.Floor(x + 0.5))
		carry = x - float64(k)
		if k > 0 {
			made := j.join(tds, st.group, k, staffMs, into)
			carry += float64(k - made) // joins that found no pair stay expected
			carry = min(carry, 0.5)    // but not beyond this model-day's rounding
		}
	}
	return into
}

// The kinds of pair joinStreet may join.
const (
	pairNone   = iota
	pairStreet // two street fragments
	pairVisit  // a street fragment and a visitor's track
)

// joiner holds one model-day's chains: per track-day, the one that follows
// it and the one it follows (-1: none); its maps are reused.
type joiner struct {
	next, prev map[int]int
	cands      []joinPair
	byLast     []int
}

// joinPair is a candidate pair: b begins gap ms after a ends; p is the
// probability that b continues a, by its gap (score).
type joinPair struct {
	a, b int
	gap  int64
	p    float64
}

// gapBins is how many bins of W/gapBins the gaps of candidate pairs are
// counted in.
const gapBins = 6

// score gives each candidate pair the probability p that it is one phone,
// by its gap: of the model-day's F candidates, k are expected to be
// continuations and F − k chance pairs, whose gaps spread evenly over
// [0, W] (another phone's track ends at a time unrelated to this one's
// start); the continuations' gaps follow the model's scan interval. Of
// the f_i candidates in gap bin i, f_i − (F − k)/gapBins are then
// continuations, and
//
//	p_i = max(f_i − (F − k)/gapBins, 0) / f_i.
func (j *joiner) score(k int) {
	var f [gapBins]float64
	bin := func(gap int64) int { return min(int(gap*gapBins/splitWindow), gapBins-1) }
	for _, c := range j.cands {
		f[bin(c.gap)]++
	}
	chance := float64(max(len(j.cands)-k, 0)) / gapBins
	for i := range j.cands {
		c := &j.cands[i]
		n := f[bin(c.gap)]
		c.p = max(n-chance, 0) / n
	}
}

// streetPart reports whether td is a street fragment.
func streetPart(td *trackDay) bool {
	return td.class == Passerby && td.visits == 0 && td.last-td.first <= joinSpanMs
}

// kind says whether a and b (a ending before b begins, within W) may be
// joined, and as what.
func (j *joiner) kind(tds []trackDay, a, b int) int {
	ta, tb := &tds[a], &tds[b]
	switch {
	case streetPart(ta) && streetPart(tb):
		return pairStreet
	case !joinVisitors:
		return pairNone
	case streetPart(ta) && tb.class == Visitor, ta.class == Visitor && streetPart(tb):
		return pairVisit
	}
	return pairNone
}

// join makes up to k joins among the model-day's track-days g, the pairs
// with the smallest gaps first, and returns how many it made.
func (j *joiner) join(tds []trackDay, g []int, k int, staffMs int64, into []int) int {
	j.byLast = append(j.byLast[:0], g...)
	byLast := j.byLast
	slices.SortFunc(byLast, func(x, y int) int {
		if c := cmp.Compare(tds[x].last, tds[y].last); c != 0 {
			return c
		}
		return cmp.Compare(tds[x].track, tds[y].track)
	})
	j.cands = j.cands[:0]
	for _, b := range g {
		t := tds[b].first
		// The fragments that ended within W before b began.
		lo, _ := slices.BinarySearchFunc(byLast, t-splitWindow, func(i int, t int64) int { return cmp.Compare(tds[i].last, t) })
		for _, a := range byLast[lo:] {
			if tds[a].last >= t {
				break
			}
			if a != b && j.kind(tds, a, b) != pairNone {
				j.cands = append(j.cands, joinPair{a: a, b: b, gap: t - tds[a].last})
			}
		}
	}
	j.score(k)
	slices.SortFunc(j.cands, func(x, y joinPair) int {
		// Early returns: cmp.Or would compare the names of every pair.
		if c := cmp.Compare(y.p, x.p); c != 0 {
			return c
		}
		if c := cmp.Compare(x.gap, y.gap); c != 0 {
			return c
		}
		if c := cmp.Compare(tds[x.b].first, tds[y.b].first); c != 0 {
			return c
		}
		if c := cmp.Compare(tds[x.a].track, tds[y.a].track); c != 0 {
			return c
		}
		return cmp.Compare(tds[x.b].track, tds[y.b].track)
	})
	if j.next == nil {
		j.next, j.prev = map[int]int{}, map[int]int{}
	}
	clear(j.next)
	clear(j.prev)
	made := 0
	for _, c := range j.cands {
		if made == k {
			break
		}
		if _, ok := j.next[c.a]; ok {
			continue
		}
		if _, ok := j.prev[c.b]; ok {
			continue
		}
		if !j.fits(tds, c.a, c.b, staffMs) {
			continue
		}
		j.next[c.a], j.prev[c.b] = c.b, c.a
		made++
	}
	// Each chain goes into its visitor, or else its first fragment.
	for _, i := range g {
		if _, ok := j.prev[i]; ok {
			continue
		}
		if _, ok := j.next[i]; !ok {
			continue
		}
		keep := i
		for m := i; ; {
			if tds[m].class == Visitor {
				keep = m
			}
			n, ok := j.next[m]
			if !ok {
				break
			}
			m = n
		}
		for m := i; ; {
			if m != keep {
				into[m] = keep
				tds[keep].first = min(tds[keep].first, tds[m].first)
				tds[keep].last = max(tds[keep].last, tds[m].last)
			}
			n, ok := j.next[m]
			if !ok {
				break
			}
			m = n
		}
	}
	return made
}

// fits reports whether joining a's chain to b's keeps the chain a walk
// past: at most one visitor, a street part of at most joinSpanMs, the whole
// shorter than staffMs.
func (j *joiner) fits(tds []trackDay, a, b int, staffMs int64) bool {
	head, tail := a, b
	for {
		p, ok := j.prev[head]
		if !ok {
			break
		}
		head = p
	}
	for {
		n, ok := j.next[tail]
		if !ok {
			break
		}
		tail = n
	}
	first, last := tds[head].first, tds[tail].last
	var visitors int
	var visit int64
	for m := head; ; {
		if tds[m].class == Visitor {
			visitors++
			visit = tds[m].last - tds[m].first
		}
		if m == tail {
			break
		}
		if n, ok := j.next[m]; ok {
			m = n
		} else {
			m = b // a's chain ends at a; b's begins at b
		}
	}
	return visitors <= 1 && last-first-visit <= joinSpanMs && last-first < staffMs
}

// Join says that the track-day of Track from First to Last (its first and
// last detection that day, Unix ms) counts as track Into's: a street
// fragment joined by count (joinStreet).
type Join struct {
	Track, Into string
	First, Last int64
}

// Joins returns the joins of street fragments that Build makes of the same
// summaries, in the order of the track-days: what renames the fragments'
// positions to the tracks they count as (positions.jsonl's track). A
// caller that builds the report too takes them from BuildJoins, which
// classifies the summaries once for both (as replay does).
func Joins(site *wire.Site, days []TrackDay, visits []Visit) []Join {
	tds, _ := classify(site, days, visits)
	spans := detections(tds)
	_, stats := passerWeights(tds)
	return joinsOf(tds, spans, joinStreet(tds, stats, staffMillis(site)))
}

// detections returns each track-day's first and last detection (before
// joinStreet spans the keepers over their chains).
func detections(tds []trackDay) [][2]int64 {
	out := make([][2]int64, len(tds))
	for i := range tds {
		out[i] = [2]int64{tds[i].first, tds[i].last}
	}
	return out
}

// joinsOf lists the joins of joinStreet's into, with the joined track-days'
// own detections (spans, from detections).
func joinsOf(tds []trackDay, spans [][2]int64, into []int) []Join {
	var out []Join
	for i, k := range into {
		if k >= 0 {
			out = append(out, Join{Track: tds[i].track, Into: tds[k].track, First: spans[i][0], Last: spans[i][1]})
		}
	}
	return out
}
