package locate

import "math"

// Contested links. A loose link (no sequence continuity) is decided when
// the new pseudonym's first burst arrives, on the evidence of that burst
// alone. Sometimes the evidence misleads: a shopper's phone first heard
// beside the till looks like a continuation of the staff phone there,
// whose track it then takes; when the staff phone's own next pseudonym
// comes, the track stands where the shopper went, and the staff phone
// starts a new track. A phone in the store all day takes hundreds of
// links, so even a small chance of this splits its day (and none of the
// pieces lasts long enough to count as staff).
//
// One phone cannot become two pseudonyms at once. So a track keeps its
// states from before its last few loose links, each with the evidence of
// the link made on it (its log-likelihood ratio, the claim). When a later
// new pseudonym fits such an earlier state better than the link's own
// pseudonym did, jointly (see contest), the link was most likely the
// mistake: the track goes back to that state and continues with the new
// pseudonym, and the pseudonyms heard on it since leave with the state
// they made, as a track of their own. Positions already given keep their
// names; from then on each phone has its own track.

// maxBefore is how many earlier states a track keeps: a phone that changes
// its address with every burst makes a loose link with each, so the
// mistaken link may be a few links back when the rightful phone sends
// again.
const maxBefore = 3

// earlier holds a track's states before its last loose links, oldest
// first, each with the evidence of the link made on it (the claim).
type earlier struct {
	state [maxBefore]*track
	claim [maxBefore]float64
	// the likeliest candidates of each link (the linked track among
	// them) and the event time of the link
	cands [maxBefore]heirList
	at    [maxBefore]int64
	n     int
}

// keepBefore remembers tr's state before a loose link whose evidence was
// l, for a later contest; the oldest goes when maxBefore are kept.
func (t *Tracker) keepBefore(tr *track, l float64, at int64) {
	c := &track{}
	*c = *tr
	c.before = nil
	if tr.rssi != nil {
		c.rssi = append([]float32(nil), tr.rssi...)
		c.frames = append([]uint8(nil), tr.frames...)
	}
	e := tr.before
	if e == nil {
		e = &earlier{}
		tr.before = e
	}
	if e.n == maxBefore {
		copy(e.state[:], e.state[1:])
		copy(e.claim[:], e.claim[1:])
		copy(e.cands[:], e.cands[1:])
		copy(e.at[:], e.at[1:])
		e.n--
	}
	e.state[e.n], e.claim[e.n], e.at[e.n] = c, l, at
	e.cands[e.n] = t.deferTo
	e.n++
}

// contest returns the evidence for undoing the link made on tr's earlier
// state c (whose link had the evidence claim) so that b continues c,
// against leaving it (b a new phone): the joint log-likelihood ratio of
// the two assignments
//
//	v = l_c − claim − max(0, l)
//
// with l_c the evidence (sameLLR and the side prior) that b continues c,
// and l that b continues tr as it is now (the linked phone, had the link
// been right; -Inf when its silence does not fit); and l_c. v is -Inf when
// b's silence since c does not fit the rhythm or the phone could not have
// walked to fix.
func (t *Tracker) contest(c *track, claim float64, b *Burst, fix Fix, l float64) (v, lc float64) {
	if c.last >= b.T || !t.rhythmFits(b.FP, b.T-c.last) {
		return math.Inf(-1), math.Inf(-1)
	}
	dt := float64(b.T-c.last) / 1000
	sig2 := (c.x.pp+c.y.pp)/2 + (fix.Cov[0]+fix.Cov[2])/2
	d := math.Hypot(fix.X-c.x.p, fix.Y-c.y.p)
	if d > t.opt.MaxSpeed*dt+3*math.Sqrt(sig2) {
		return math.Inf(-1), math.Inf(-1)
	}
	lc = t.sameLLR(c, b, d, sig2) + t.sidePrior(c)
	return lc - claim - math.Max(0, l), lc
}

// bestContest returns, of tr's earlier states, the one b most likely
// continues instead of tr: its index and contest's v and l_c (-1 and
// -Inf when none). Where the link's likeliest other candidate has not sent
// since (altOf), undoing gives it the link's pseudonyms, so v gains their
// evidence for it, max(0, l_alt): the two phones' assignments are weighed
// jointly (a shopper's scan that took the staff phone's track 4 s before
// the staff phone's own, which then fitted the shopper's track no worse
// than a new phone would).
func (t *Tracker) bestContest(tr *track, b *Burst, fix Fix, l float64) (v, lc float64, at int) {
	v, lc, at = math.Inf(-1), math.Inf(-1), -1
	e := tr.before
	for i := 0; i < e.n; i++ {
		x, y := t.contest(e.state[i], e.claim[i], b, fix, l)
		if a, al := t.altOf(tr, i); a != nil {
			// Undone, the link's pseudonyms go to its likeliest other
			// candidate (takeBack), with the evidence they had for it.
			x += math.Max(0, al)
		}
		if x > v {
			v, lc, at = x, y, i
		}
	}
	return v, lc, at
}

// takeBack undoes the link made on tr's earlier state i: the pseudonyms
// heard on tr since that state leave, with tr's present state, as a new
// track, and tr goes back to it (keeping the states before it). With alt
// (the link's likeliest other candidate, silent since) the pseudonyms go
// to alt instead, which takes that state (a Merge of the new track into
// alt): the phone that made the undone link was most likely alt's, whose
// track would otherwise be left behind as a split.
func (t *Tracker) takeBack(tr *track, i int, now int64, alt *track) {
	e := tr.before
	c := e.state[i]
	t.next++
	split := &track{}
	*split = *tr
	split.num, split.before, split.heirs, split.born = t.next, nil, [maxHeirs]int32{}, 0
	t.live = append(t.live, split)
	t.byNum[split.num] = split
	for i := range t.devList {
		if de := &t.devList[i]; de.track == tr.num && de.last > c.last {
			de.track = split.num
		}
	}
	num := tr.num
	*tr = *c
	tr.num = num
	if i > 0 {
		for j := i; j < e.n; j++ {
			e.state[j] = nil
		}
		e.n = i
		tr.before = e
	}
	if alt != nil {
		// The undone link's pseudonyms were most likely the phone of the
		// link's likeliest other candidate, silent since: it takes them.
		t.merge(split, alt, now)
	}
}

// altOf returns the likeliest other candidate of the link made on tr's
// earlier state i that is still live and has not sent since, and its
// evidence then; nil when none.
func (t *Tracker) altOf(tr *track, i int) (*track, float64) {
	e := tr.before
	h := &e.cands[i]
	for k, n := range h.num {
		if n == 0 {
			break
		}
		if n == tr.num {
			continue
		}
		if a := t.byNum[n]; a != nil && a.last < e.at[i] {
			return a, h.llr[k]
		}
	}
	return nil, 0
}
