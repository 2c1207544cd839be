package locate

import (
	"math"

	"github.com/passant/passant/wire"
)

// A phone's own transmit offset, learned by its track (docs/locate.md, "The
// sides at the shop's front" and the section after it). The model draws
// every phone's offset from N(0, TxSigmaDB²) and a fix integrates it out;
// a weak phone a few metres inside the front then fits a normal one on the
// street as well. A track learns its phone's offset from its confident
// in-store bursts and
//
//   - gives it as the offset prior to its pseudonym's next bursts
//     (txPrior; learned from that pseudonym's own bursts: a pseudonym
//     linked to the track may be another phone's, and the prior would
//     then place its bursts by a stranger's offset), and
//   - weighs it in the link of a new pseudonym (txEvidence, txPass): a
//     candidate track whose offset fits the new burst gains evidence, one
//     whose offset places the burst elsewhere loses it.

const (
	// txLearnSide is the least posterior of the store for a burst to
	// teach its track's offset; only in-store bursts whose most probable
	// cell lies inside the sensors' hull teach it (on the strip between
	// the front wall and the front row of sensors a burst is confident
	// because it is strong, and its offset biased high).
	txLearnSide = 0.9
	// txMinReadings is the fewest readings of a burst whose offset is
	// estimated (with two, the offset and the place trade freely).
	txMinReadings = 3
	// txMaxPrec caps the learned precision, 1/dB², on top of the model's
	// 1/TxSigmaDB²: the shadowing of a standing phone repeats, so its
	// bursts' estimates are not independent.
	txMaxPrec = 0.3
	// txPassMinDB is the least shift of a candidate's offset (its
	// posterior mean, dB) for which the link locates the burst again under
	// it (txPass); below it the fix hardly moves.
	txPassMinDB = 2
)

// setTxPrior sets the prior of the next fixes' transmit offset: mean shift
// dB about the side's offset and precision prec 1/dB² added to the model's
// 1/TxSigmaDB². 0, 0: the model's prior.
func (s *Solver) setTxPrior(shift, prec float64) { s.txShift, s.txPrec = shift, prec }

// dataOffset returns the transmit offset of the last grid fix at side's
// most probable cell from the readings alone (no prior on it), about the
// side's offset, and its precision (1/dB²); ok is false without a grid
// fix, with fewer than txMinReadings readings, or where the cell lies on
// the grid's edge.
func (s *Solver) dataOffset(side int) (db, prec float64, ok bool) {
	if !s.gridFix && !s.winFix {
		return 0, 0, false
	}
	g := s.grid
	c := s.post.bestC[side]
	if c < 0 || s.post.pData[side] <= 0 {
		return 0, 0, false
	}
	if x, y := c%g.NX, c/g.NX; x == 0 || y == 0 || x == g.NX-1 || y == g.NY-1 {
		return 0, 0, false
	}
	return s.post.bData[side], s.post.pData[side], true
}

// txOffset is tr's phone's offset: the posterior mean m and variance v
// under the model's prior and the track's learned precision.
func (t *Tracker) txOffset(tr *track) (m, v float64) {
	ib := 1 / (t.solver.m.TxSigmaDB * t.solver.m.TxSigmaDB)
	return tr.txS / (ib + tr.txP), 1 / (ib + tr.txP)
}

// txPrior gives b's fix its phone's offset as the prior when b's pseudonym
// is known and has taught its track one (txSd, txPd).
func (t *Tracker) txPrior(b *Burst) {
	t.solver.setTxPrior(0, 0)
	e, ok := t.devs[b.Dev]
	if !ok {
		return
	}
	tr := t.byNum[e.track]
	if tr == nil || tr.txPd <= 0 || tr.txDev != b.Dev {
		return
	}
	ib := 1 / (t.solver.m.TxSigmaDB * t.solver.m.TxSigmaDB)
	t.solver.setTxPrior(tr.txSd/(ib+tr.txPd), tr.txPd)
}

// txLearn adds the last fix's offset from the readings alone to tr's, when
// the fix puts the burst in the store (post at least txLearnSide) at a
// most probable cell inside the sensors' hull: Σ p b̂ and Σ p, p the
// estimate's precision, capped at txMaxPrec; the same for dev's bursts
// alone, restarted when the track's pseudonym changes.
func (t *Tracker) txLearn(tr *track, dev wire.Dev, post Sides) {
	if post[sideOutside] > post[sideStore] || post[sideStore] < txLearnSide {
		return
	}
	db, pr, ok := t.solver.dataOffset(sideStore)
	if !ok {
		return
	}
	g := t.solver.grid
	if x, y := g.Center(t.solver.post.bestC[sideStore]); !pointInPolygon(wire.Point{x, y}, t.solver.hull) {
		return
	}
	tr.txS += pr * db
	tr.txP += pr
	if tr.txP > txMaxPrec {
		tr.txS *= txMaxPrec / tr.txP
		tr.txP = txMaxPrec
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

// txEvidence is the log-likelihood ratio that the last fix's burst (a new
// pseudonym's, located under the model's offset prior) has tr's offset
// rather than another phone's: its offset from the readings alone at each
// side's most probable cell, b̂ₛ with precision Pₛ, mixed over the sides by
// the posterior πₛ,
//
//	log Σ πₛ N(b̂ₛ; m, 1/Pₛ + v) - log Σ πₛ N(b̂ₛ; 0, 1/Pₛ + τ²)
//
// m, v the track's offset's posterior mean and variance (txOffset), τ the
// model's TxSigmaDB. 0 while tr has learned no offset. A burst's own
// estimate is worth about the model's prior (P ≈ 0.14 /dB²), so the term
// stays within about ±1 nat.
func (t *Tracker) txEvidence(tr *track) float64 {
	if tr.txP <= 0 || !(t.solver.gridFix || t.solver.winFix) {
		return 0
	}
	ib := 1 / (t.solver.m.TxSigmaDB * t.solver.m.TxSigmaDB)
	m, v := t.txOffset(tr)
	var same, other, w float64
	for _, sd := range []int{sideStore, sideOutside} {
		db, pr, ok := t.solver.dataOffset(sd)
		if !ok || t.post[sd] <= 0 {
			continue
		}
		vs, vo := 1/pr+v, 1/pr+1/ib
		ds, do := db-m, db
		same += t.post[sd] * math.Exp(-ds*ds/(2*vs)) / math.Sqrt(vs)
		other += t.post[sd] * math.Exp(-do*do/(2*vo)) / math.Sqrt(vo)
		w += t.post[sd]
	}
	if w < 0.5 || same <= 0 || other <= 0 {
		return 0
	}
	return math.Log(same / other)
}

// txPass is the change in a loose candidate's position and side terms
// (sameLLR's place, sidePrior) when the burst is located under the
// candidate's offset rather than the model's prior, both on the coarse
// grid: a weak phone's next pseudonym, placed on the street without its
// offset, moves back in beside its track. Only for a shift of at least
// txPassMinDB; the pass under the model's prior is made once per burst.
func (t *Tracker) txPass(tr *track) float64 {
	if tr.txP <= 0 {
		return 0
	}
	m, _ := t.txOffset(tr)
	if math.Abs(m) < txPassMinDB {
		return 0
	}
	if !t.txBase {
		f, p, ok := t.solver.coarseBase(&t.global)
		if !ok {
			return 0
		}
		t.txBase, t.txFix0, t.txPost0 = true, f, p
	}
	f, p, ok := t.solver.coarseFixTx(m, tr.txP, &t.global)
	if !ok {
		return 0
	}
	pp := (tr.x.pp + tr.y.pp) / 2
	f0 := t.txFix0
	l1 := placeLLR(math.Hypot(f.X-tr.x.p, f.Y-tr.y.p), pp+(f.Cov[0]+f.Cov[2])/2) + storeBonus*tr.side[SideStore]*p[SideStore]
	l0 := placeLLR(math.Hypot(f0.X-tr.x.p, f0.Y-tr.y.p), pp+(f0.Cov[0]+f0.Cov[2])/2) + storeBonus*tr.side[SideStore]*t.txPost0[SideStore]
	return l1 - l0
}

// placeLLR is sameLLR's term of the place: a fix at distance d from the
// track's, their combined variance sig2,
//
//	log(vo/vs) - d²/2vs + d²/2vo,  vs = sig2 + 1 m², vo = posSpreadM² + vs.
func placeLLR(d, sig2 float64) float64 {
	vs := sig2 + 1
	vo := posSpreadM*posSpreadM + vs
	return math.Log(vo/vs) - d*d/(2*vs) + d*d/(2*vo)
}

// coarseFixTx locates the last burst again on the coarse grid under the
// offset prior (shift, prec) (0, 0: the model's) and the side prior, in a
// workspace of its own (the fine and coarse posteriors of the burst stay
// as they were); ok is false without a grid fix of the burst.
func (s *Solver) coarseFixTx(shift, prec float64, prior *Sides) (Fix, Sides, bool) {
	var post Sides
	if s.coarse == nil || s.k == 0 || !(s.gridFix || s.winFix) {
		return Fix{}, post, false
	}
	sh, pr := s.txShift, s.txPrec
	s.txShift, s.txPrec = shift, prec
	fine := s.grid
	s.grid = s.coarse
	s.tpost.all(s.coarse)
	f := s.tpost.fix(s, prior, &post)
	s.grid = fine
	s.txShift, s.txPrec = sh, pr
	if math.IsNaN(f.X) || f.Err <= 0 {
		return f, post, false
	}
	return f, post, true
}

// coarseBase is coarseFixTx under the model's offset prior, taken from the
// coarse posterior that wideSides made of the burst when it did (under the
// same side prior: the tracker's global one).
func (s *Solver) coarseBase(prior *Sides) (Fix, Sides, bool) {
	if !s.cOK {
		return s.coarseFixTx(0, 0, prior)
	}
	var post Sides
	fine := s.grid
	s.grid = s.coarse
	f := s.cpost.choose(s, prior, &post, false)
	s.grid = fine
	if math.IsNaN(f.X) || f.Err <= 0 {
		return f, post, false
	}
	return f, post, true
}
