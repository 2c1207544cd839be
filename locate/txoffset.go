package locate

import "github.com/passant/passant/wire"

// A phone's own transmit offset, learned from its pseudonym's bursts. The
// model draws every phone's offset from N(0, τ²) (Model.TxSigmaDB) and a
// fix integrates it out, so a quiet phone a few metres inside the front
// fits a normal one on the street as well, and a loud one on the street a
// shopper just inside. A track learns its phone's offset from its
// pseudonym's confident in-store bursts and gives it to that pseudonym's
// next bursts as the offset's prior: mean m and precision P added to the
// model's 1/τ², so that the closed form's A₀₀ = Σw + 1/τ² + P and the
// residuals are taken about the side's level plus m; the silent sensors'
// term, judged at the offset's posterior mean and variance (b̂, V), follows.
// Learned from the pseudonym's own bursts only: a pseudonym linked to the
// track may be another phone's (TestStaffPhoneOneTrack), and a stranger's
// offset would place it. (docs/locate.md, "The sides at the shop's front",
// and "2026-12-05 evening: the side at the front".)

const (
	// txLearnSide is the least posterior of the store (the fix's own sides,
	// learnedSides) for a burst to teach its track's offset; only bursts
	// whose most probable cell in the store lies inside the sensors' hull
	// teach it (on the strip between the front wall and the front row of
	// sensors a burst is confident because it is strong, and its offset
	// biased high).
	txLearnSide = 0.9
	// txMinReadings is the fewest readings of a burst whose offset is
	// estimated (with two, the offset and the place trade freely).
	txMinReadings = 3
	// txMaxPrec caps the learned precision, 1/dB², on top of the model's
	// 1/τ²: the shadowing of a standing phone repeats, so its bursts'
	// estimates are not independent.
	txMaxPrec = 0.3
)

// txPrior sets the offset prior of b's fix: its pseudonym's learned
// offset where the pseudonym is known and has taught its track one, else
// the model's (shift and precision 0). It returns what it looked up for
// assign (nothing between the two changes the pseudonyms or the tracks):
// the pseudonym's slot in devList and whether it is known, and its track
// (nil if the track is gone).
func (t *Tracker) txPrior(b *Burst) (i int32, seen bool, tr *track) {
	t.solver.txShift, t.solver.txPrec = 0, 0
	i, seen = t.devs[b.Dev]
	if !seen {
		return i, seen, nil
	}
	tr = t.byNum[t.devList[i].track]
	if tr == nil || tr.txPd <= 0 || tr.txDev != b.Dev {
		return i, seen, tr
	}
	ib := 1 / (t.solver.m.TxSigmaDB * t.solver.m.TxSigmaDB)
	t.solver.txShift, t.solver.txPrec = tr.txSd/(ib+tr.txPd), tr.txPd
	return i, seen, tr
}

// txLearn adds the last fix's offset from the readings alone (storeData)
// to tr's, for its pseudonym dev, where the fix's own sides give the
// store at least txLearnSide and the store's most probable cell lies in
// the sensors' hull: Σ P b̂ and Σ P, P the estimate's precision, the sum
// capped at txMaxPrec and restarted when the track's pseudonym changes.
func (t *Tracker) txLearn(tr *track, dev wire.Dev, post *Sides) {
	ls := t.solver.learnedSides(post)
	if ls[sideOutside] > ls[sideStore] || ls[sideStore] < txLearnSide {
		return
	}
	db, pr, c, ok := t.solver.storeData()
	if !ok {
		return
	}
	if x, y := t.solver.grid.Center(c); !pointInPolygon(wire.Point{x, y}, t.solver.hull) {
		return
	}
	if tr.txDev != dev {
		tr.txDev, tr.txSd, tr.txPd = dev, 0, 0
	}
	tr.txSd += pr * db
	tr.txPd += pr
	if tr.txPd > txMaxPrec {
		tr.txSd *= txMaxPrec / tr.txPd
		tr.txPd = txMaxPrec
	}
}

// storeData returns the transmit offset at the store's most probable cell
// of the last grid or window fix (the fine grid's cell under the mid
// grid's best after a whole-grid fix) from the readings alone, its
// precision (the offset prior taken out of A₀₀:
// b = (A₁₁ Σwr - Σwl Σwlr)/det A', P = det A'/A₁₁, A' = A - diag(1/τ² + P_prior, 0)),
// and that cell; ok is false without such a fix, with fewer than
// txMinReadings readings, or where the cell lies on the grid's edge.
func (s *Solver) storeData() (db, prec float64, c int, ok bool) {
	if !s.gridFix && !s.winFix {
		return 0, 0, -1, false
	}
	g, p := s.grid, &s.post
	if s.midFix {
		p = &s.mpost
		mc := p.bestC[sideStore]
		if mc < 0 {
			return 0, 0, -1, false
		}
		c = g.cellAt(s.mid.Center(mc))
	} else if c = p.bestC[sideStore]; c < 0 {
		return 0, 0, -1, false
	}
	if g.onEdge(c) {
		return 0, 0, -1, false
	}
	p.dataWant = true
	p.offsetAt(s, g, c, sideStore)
	p.dataWant = false
	return p.dataB, p.dataP, c, p.dataOK
}
