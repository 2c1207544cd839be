package locate

import "math"

// Strays. A phone that takes a new address for every scan is linked anew
// at every scan, and a scan that the locator puts outside the store (a
// phone at the back, heard faintly) fits its track in the store no better
// than another phone would: it starts a track of one scan, and the phone's
// next scan, in the store again, continues the old track. A deferred link
// cannot take the stray back (its candidate has sent again since), and
// each stray counts as a passer-by.

// foldReach is how far from the track a stray may have been placed: a
// phone at the back of the store is placed at its mirror image just outside
// the front, a passer-by anywhere along the street.
const foldReach = 10.0 // m

// fold merges into tr, which b (a new pseudonym) has just continued by a
// loose link in the store, a stray: the one track of tr's fingerprint of a
// single scan heard in between, placed within foldReach of tr, whose
// silences since tr's last burst and until b both fit the model's rhythm
// (one phone, one scan per interval). The stray's pseudonyms go to tr and
// the tracker reports a Merge; tr keeps its own state. With two such
// strays neither is taken.
//
// 3 h, seeds 1-3, four shops: splits 3266 -> 3174, merged tracks 602 ->
// 604; without foldReach 3102 and 635 (and the passers-by estimate, which
// cannot undo wrong merges, 2-3 points lower); also on the street (tr
// outside the store) 3087 and 652.
func (t *Tracker) fold(tr *track, b *Burst) {
	if t.linkedBy != LinkLoose {
		return
	}
	if !tr.rand || tr.fp == "" || tr.side[SideStore] < deferSide {
		return
	}
	var s *track
	for _, o := range t.live {
		if o == tr || !o.rand || o.fp != tr.fp || o.first <= tr.last || o.last >= b.T ||
			o.last-o.first > 3*t.opt.ScanGap.Milliseconds() ||
			!t.rhythmFits(tr.fp, o.first-tr.last) || !t.rhythmFits(tr.fp, b.T-o.last) ||
			math.Hypot(o.x.p-tr.x.p, o.y.p-tr.y.p) > foldReach {
			continue
		}
		if s != nil {
			return // two strays: neither is sure
		}
		s = o
	}
	if s == nil {
		return
	}
	for d, e := range t.devs {
		if e.track == s.num {
			e.track = tr.num
			t.devs[d] = e
		}
	}
	t.drop(s)
	t.merges = append(t.merges, Merge{From: t.name(s.num), Into: t.name(tr.num), T: b.T})
}
