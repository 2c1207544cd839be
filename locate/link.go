package locate

import "math"

// Linking a new randomised pseudonym to the live track it most likely
// continues (see also rhythm.go, contest.go and defer.go).

// linkCands returns the indices of the live tracks link has to look at, in
// order: those a burst b could continue (randomised, heard before b within
// window, b's fingerprint), and with trace the others of b's fingerprint
// too (link notes them). A loop of its own: most live tracks fail this
// test (the small 10 h replay: 79 of 83 per call), and in link's loop,
// whose many variables live on the stack across its iterations, each
// rejected track cost a round of stores and loads.
func (t *Tracker) linkCands(b *Burst, window int64, trace bool) []int32 {
	c := t.cands[:0]
	if trace {
		for i, tr := range t.live {
			if tr.rand && tr.fp == b.FP {
				c = append(c, int32(i))
			}
		}
	} else {
		for i, tr := range t.live {
			// The three tests on numbers as one branch (each alone is
			// about as good as random; together they are mostly false).
			if b2i(tr.rand)&b2i(tr.last < b.T)&b2i(b.T-tr.last <= window) != 0 && tr.fp == b.FP {
				c = append(c, int32(i))
			}
		}
	}
	t.cands = c
	return c
}

// b2i is 1 for true, 0 for false (a SETcc, no branch).
func b2i(c bool) int {
	i := 0
	if c {
		i = 1
	}
	return i
}

// link returns the live track that a new randomised pseudonym most likely
// continues, or nil. A candidate's last pseudonym is randomised and silent
// since before b, within the link window, with the same fingerprint, and
// the track could have walked to b's fix in the time between.
//
//   - Another address of the same scan (within ScanGap): the candidate
//     whose signal and position fit best (sameLLR), unless even that one
//     fits far worse than another phone would.
//   - Sequence continuity (a step of 1..SeqGap mod 4096, after a silence
//     not shorter than the fingerprint's shortest probe interval): the best
//     score -dt/60 s - ½ d² / (σ² + 1 m²) wins, d the distance from the
//     track to the fix and σ² their combined variance; unless the loose
//     link below has more evidence than this one with its sequence
//     continuity counted as evidence (seqEvidence), not as proof (phones
//     that restart their counter with each MAC continue another phone's
//     by chance one time in 128), and at least as much as a sequence link
//     (minLooseLLR + seqEvidence): a phone that walked fits its own track
//     badly by signal, and a chance fit of another should not take it.
//     Not for a fingerprint whose phones start every address of a scan on
//     a fresh sequence number (seqCounts: iPhones), where continuity is
//     always chance.
//   - Otherwise (phones that restart the counter with each MAC): among the
//     tracks whose silence fits the fingerprint's probing rhythm, the one
//     with the highest log-likelihood ratio of "same phone" (sameLLR plus
//     the store prior), when it reaches minLooseLLR + log n, n the
//     candidates compared (the best of n chance fits scores about log n
//     higher than one); failing that, the single candidate within 1σ
//     (σ < 4 m). The best candidates, however weak, are kept for a
//     deferred link (defer.go).
//   - Before either: b may continue a track's state from before one of its
//     last loose links, undoing that link (contest.go), when that is
//     likelier than leaving it and than any link above.
func (t *Tracker) link(b *Burst, fix Fix, ok bool) *track {
	var best, loose *track
	bestScore := math.Inf(-1)
	seqLLR := math.Inf(1) // the evidence for best, when linked by sequence
	looseLLR := minLooseLLR
	var only *track
	onlyN, nLoose := 0, 0
	onlyLLR := math.Inf(-1)
	// the best contest of an earlier link (contest.go): b continues
	// backTr's earlier state back, with evidence backV against leaving it
	// and backRaw for the link itself
	var backTr *track
	back, backV, backRaw := -1, 0.0, 0.0
	t.deferTo, t.heirsTo = heirList{}, heirList{}
	window := t.opt.LinkWindow.Milliseconds()
	trace := t.opt.LinkTrace != nil
	live := t.live
	for _, li := range t.linkCands(b, window, trace) {
		tr := live[li]
		if !tr.rand || tr.last >= b.T || b.T-tr.last > window || tr.fp != b.FP {
			if trace && tr.rand && tr.fp == b.FP {
				st := "later"
				if tr.last < b.T {
					st = "window"
				}
				t.note(tr, st, float64(b.T-tr.last)/1000, 0, 0, 0, 0)
			}
			continue
		}
		dt := float64(b.T-tr.last) / 1000
		if b.FP != "" && b.T-tr.last <= t.opt.ScanGap.Milliseconds() {
			// Another address in the same scan: phones that change
			// their MAC (and sequence number) with every few frames.
			// Among several phones of the model scanning at once, the
			// one whose signal and position fit best; none that fits
			// far worse than another phone would.
			score := 10 - dt
			if ok {
				l := t.sameLLR(tr, b, math.Hypot(fix.X-tr.x.p, fix.Y-tr.y.p),
					(tr.x.pp+tr.y.pp)/2+(fix.Cov[0]+fix.Cov[2])/2)
				if l < minScanLLR {
					t.note(tr, "scan-unfit", dt, 0, 0, l, 0)
					continue
				}
				score = 10 + l
			}
			t.note(tr, "scan", dt, 0, 0, 0, 0)
			if score > bestScore {
				best, bestScore = tr, score
				seqLLR = math.Inf(1)
			}
			continue
		}
		var d, sig2 float64
		if ok {
			sig2 = (tr.x.pp+tr.y.pp)/2 + (fix.Cov[0]+fix.Cov[2])/2
			d = math.Hypot(fix.X-tr.x.p, fix.Y-tr.y.p)
			if d > t.opt.MaxSpeed*dt+3*math.Sqrt(sig2) {
				if trace {
					t.note(tr, "speed", dt, d, sig2, t.sameLLR(tr, b, d, sig2), t.sidePrior(tr))
				}
				continue // it could not have walked there
			}
		}
		if b.SeqFirst >= 0 && tr.seqLast >= 0 && t.seqCounts(b.FP) {
			gap := (b.SeqFirst - tr.seqLast + 4096) % 4096
			if gap > 0 && gap <= t.opt.SeqGap && t.rhythmAbove(b.FP, b.T-tr.last) {
				score := -dt/60 - 0.5*d*d/(sig2+1)
				t.note(tr, "seq", dt, d, sig2, 0, 0)
				if score > bestScore {
					best, bestScore = tr, score
					seqLLR = math.Inf(1)
					if ok && b.FP != "" {
						seqLLR = t.sameLLR(tr, b, d, sig2) + t.sidePrior(tr) + t.seqEvidence()
					}
				}
				continue
			}
		}
		if b.FP != "" && t.opt.NoSeqWindow > 0 && ok && tr.before != nil {
			// b may continue the track's state from before one of its
			// last loose links, which then was a mistake (contest.go).
			l := math.Inf(-1)
			if t.rhythmFits(b.FP, b.T-tr.last) {
				l = t.sameLLR(tr, b, d, sig2) + t.sidePrior(tr)
			}
			if v, raw, i := t.bestContest(tr, b, fix, l); v > backV {
				backTr, backV, backRaw, back = tr, v, raw, i
			}
		}
		// No sequence continuity (phones that restart the counter with
		// each MAC): the likeliest track of the same known fingerprint
		// whose silence fits the model's probing rhythm, when the burst's
		// signal and position say "same phone" clearly enough.
		if b.FP != "" && t.opt.NoSeqWindow > 0 && ok && t.rhythmFits(b.FP, b.T-tr.last) {
			nLoose++
			l := t.sameLLR(tr, b, d, sig2) + t.sidePrior(tr)
			if trace {
				t.note(tr, "loose", dt, d, sig2, l-t.sidePrior(tr), t.sidePrior(tr))
			}
			if l > looseLLR {
				loose, looseLLR = tr, l
			}
			if l > minDeferLLR {
				t.deferTo.add(tr.num, l)
				if tr.side[SideStore] >= deferSide {
					t.heirsTo.add(tr.num, l)
				}
			}
			if d <= math.Sqrt(sig2) && sig2 < 16 {
				only, onlyLLR = tr, l
				onlyN++
			}
		} else if trace && b.FP != "" && ok {
			t.note(tr, "rhythm", dt, d, sig2, t.sameLLR(tr, b, d, sig2), t.sidePrior(tr))
		}
	}
	t.nLoose = nLoose
	if trace {
		t.opt.LinkTrace(LinkCandidate{Stage: "end", N: nLoose})
	}
	if backTr != nil && (loose == nil || backV > looseLLR) {
		// Undoing an earlier link makes no more links than leaving it
		// does (one of the two pseudonyms is a new phone either way):
		// it needs only to be likelier.
		if best == nil || backV > seqLLR {
			t.linkedBy = LinkBack
			// The undone link's pseudonyms were most likely the phone
			// of its likeliest other candidate, if that one has not
			// sent since and was likelier than a new phone.
			var alt *track
			if a, al := t.altOf(backTr, back); a != nil && al > 0 {
				alt = a
			}
			t.takeBack(backTr, back, b.T, alt)
			t.keepBefore(backTr, backRaw, b.T)
			return backTr
		}
	}
	if best != nil && !(loose != nil && looseLLR > seqLLR && looseLLR > minLooseLLR+t.seqEvidence()) {
		t.linkedBy = LinkSeq
		if best.last >= b.T-t.opt.ScanGap.Milliseconds() {
			t.linkedBy = LinkScan
			if b.FP != "" && b.SeqFirst >= 0 && best.seqLast >= 0 {
				t.learnScanSeq(b.FP, (b.SeqFirst-best.seqLast+4096)%4096)
			}

		}
		return best
	}
	if loose != nil && looseLLR < minLooseLLR+math.Log(float64(nLoose)) {
		// The best of n candidates that are all other phones scores
		// about log n above a single one by chance alone: the bar rises
		// with the candidates (a busy street's), not only the evidence.
		loose = nil
	}
	if loose != nil {
		t.linkedBy = LinkLoose
		t.keepBefore(loose, looseLLR, b.T)
		return loose
	}
	if onlyN == 1 {
		t.linkedBy = LinkLoose
		t.keepBefore(only, onlyLLR, b.T)
		return only
	}
	return nil
}

// seqEvidence is the log-likelihood ratio that sequence continuity gives
// for "the same phone": a step of 1..SeqGap (mod 4096) comes from a phone
// that keeps its counter across addresses almost surely, and from another
// phone (or one that restarts its counter with each address) with
// probability SeqGap/4096:
//
//	log(4096 / SeqGap)  (4.85 at the default 32)
func (t *Tracker) seqEvidence() float64 {
	return math.Log(4096 / float64(t.opt.SeqGap))
}

// How a burst's pseudonym was linked to its track (Tracker.LinkedBy).
const (
	LinkNone  = ""      // a known pseudonym, or a new track
	LinkScan  = "scan"  // another address of the same scan
	LinkSeq   = "seq"   // the sequence number continues
	LinkLoose = "loose" // the single close candidate of its fingerprint
	LinkLater = "later" // a deferred link: a new track took an old one's name
	LinkBack  = "back"  // a contest: an earlier loose link of the track undone
)

// LinkedBy says how the last burst given to Add joined its track when its
// pseudonym was new to the tracker: LinkScan, LinkSeq, LinkLoose or
// LinkBack; or LinkLater when its track took the name of an older one (a
// deferred link); LinkNone otherwise.
func (t *Tracker) LinkedBy() string { return t.linkedBy }
