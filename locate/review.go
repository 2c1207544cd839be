package locate

import "math"

// Reviewing a loose link on its whole scan. A phone that takes a new
// address for every channel of a scan (iPhones; seqCounts false) is linked
// loosely by the first address of each scan: one channel's frames at each
// sensor, compared with the track's last scan pooled over all its channels
// (keepSignature). The channels of one phone differ by frequency-selective
// multipath, a per-channel offset per sensor that stays while the phone
// stands (docs/sim.md, Radio), so one channel against the pool is a noisy
// comparison: a standing phone's own track and another phone's standing
// beside it score alike. Once the scan is over (no address of it for
// ScanGap), its own pool holds the same channels as the track's last
// scan, and for a phone that stood the channels' offsets cancel between
// the two: what is left is the frames' fading and the slow change of the
// shadowing. The review scores the scan's pool against the track's state
// before the link and against the link's other likeliest candidates that
// have not sent since, and where another fits better it undoes the link
// and gives the scan to that one (takeBack, as a contest does).

// scanReview is a loosely linked scan waiting for its review.
type scanReview struct {
	tr    *track
	start int64 // the scan's first address, the link's time
	last  int64 // its last address so far
	// the first address's fix and its posterior of the store, for the
	// position term and the side prior
	x, y  float64
	cov   [3]float64
	post  float64
	cands heirList // the link's likeliest candidates (deferTo)
	n     int      // the candidates it compared (the bar's n)
}

// startReview queues the review of the scan whose first address b was
// just linked loosely to tr, for fingerprints whose phones take a new
// address for every channel.
func (t *Tracker) startReview(tr *track, b *Burst, fix Fix) {
	if b.FP == "" || t.seqCounts(b.FP) || t.deferTo.num[1] == 0 {
		return // no other candidate to weigh
	}
	if e := tr.before; e == nil || e.n == 0 || e.at[e.n-1] != b.T {
		return
	}
	t.reviews = append(t.reviews, scanReview{tr: tr, start: b.T, last: b.T,
		x: fix.X, y: fix.Y, cov: fix.Cov, post: t.post[SideStore], cands: t.deferTo, n: t.nLoose})
}

// extendReview notes another address, at time at, of the scan under
// review on tr (a scan link).
func (t *Tracker) extendReview(tr *track, at int64) {
	for i := range t.reviews {
		if t.reviews[i].tr == tr {
			t.reviews[i].last = at
		}
	}
}

// reviewDue reviews, at event time now, the scans that are over.
func (t *Tracker) reviewDue(now int64) {
	gap := t.opt.ScanGap.Milliseconds()
	for i := 0; i < len(t.reviews); {
		if now-t.reviews[i].last <= gap {
			i++
			continue
		}
		r := t.reviews[i]
		t.reviews = append(t.reviews[:i], t.reviews[i+1:]...)
		t.review(&r, now)
	}
}

// review decides a loose link again on the scan's pooled signature: the
// scan goes to the candidate with the highest evidence (reviewScore), if
// that is not the linked track's state before the link, and if it
// reaches a loose link's bar (minLooseLLR + log n, n the candidates the
// link compared).
func (t *Tracker) review(r *scanReview, now int64) {
	tr := r.tr
	e := tr.before
	if t.byNum[tr.num] != tr || e == nil || e.n == 0 || e.at[e.n-1] != r.start {
		return // contested or merged since
	}
	var best *track
	bestL := minLooseLLR + math.Log(float64(max(r.n, 1)))
	for _, n := range r.cands.num {
		if n == 0 {
			break
		}
		if n == tr.num {
			continue
		}
		if a := t.byNum[n]; a != nil && a.last < r.start {
			if l := t.reviewScore(r, a); l > bestL {
				best, bestL = a, l
			}
		}
	}
	if best == nil || bestL <= t.reviewScore(r, e.state[e.n-1]) {
		return
	}
	if t.opt.LinkTrace != nil {
		t.opt.LinkTrace(LinkCandidate{Track: t.name(tr.num), Into: t.name(best.num), Stage: "review"})
	}
	t.takeBack(tr, e.n-1, now, best)
}

// reviewScore is the evidence that the scan under review, pooled on r.tr,
// came from the phone of track x (its state before the scan) rather than
// from another phone of the model: sameLLR's terms with the scan's pool
// for the burst, per sensor that heard both an RSSI change of N(0,
// sigSameDB² + b(1/n₀ + 1/n₁)) against N(0, sigOtherDB² + b(1/n₀ +
// 1/n₁)), b the per-frame fading (learnFade) and no channels' part (both
// pools span the same channels); the position term of the first address's
// fix; and the side prior under that address's posterior.
func (t *Tracker) reviewScore(r *scanReview, x *track) float64 {
	s := r.tr
	var l float64
	if x.rssi != nil && s.rssi != nil {
		for i, v := range s.rssi {
			w := x.rssi[i]
			if v != v || w != w {
				continue
			}
			f := t.fadeB * (1/float64(max(x.frames[i], 1)) + 1/float64(max(s.frames[i], 1)))
			l += signalTerm(float64(v-w), f)
		}
	}
	sig2 := (x.x.pp+x.y.pp)/2 + (r.cov[0]+r.cov[2])/2
	l += placeTerm(math.Hypot(r.x-x.x.p, r.y-x.y.p), sig2)
	return l + storeBonus*x.side[SideStore]*r.post
}
