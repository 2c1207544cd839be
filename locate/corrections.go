package locate

import "math"

// Corrections of the model that a Tracker learns from the bursts and sets
// on its Solver: the site-wide exponent shift, the sides' offsets, the
// store's level.

// SetExponentShift adds dn to every sensor's path-loss exponent (a site-wide
// correction learned from the bursts, see Tracker).
func (s *Solver) SetExponentShift(dn float64) { s.dn = dn }

// SetExponentSigma sets the uncertainty of the exponents that the grid
// posterior integrates out (the model's ExponentSigma until set; 0 resets
// to it): what is left uncertain once a correction has been learned.
func (s *Solver) SetExponentSigma(sd float64) { s.dnSigma = sd }

// exponentSigma is the exponent uncertainty in force.
func (s *Solver) exponentSigma() float64 {
	if s.dnSigma > 0 {
		return s.dnSigma
	}
	return s.m.ExponentSigma
}

// ExponentShift returns the correction in force.
func (s *Solver) ExponentShift() float64 { return s.dn }

// estimateDn regresses the residuals of a least-squares fix at (x, y) on
// the sensors' log-distances: with L_i = 10 log10 d_i and weights w_i,
//
//	Δn̂ = -Σ w_i (r_i - r̄)(L_i - L̄) / Σ w_i (L_i - L̄)²,
//
// the further exponent correction this burst suggests (r̄, L̄ weighted
// means: the transmit offset drops out). Only with 4 or more readings.
func (s *Solver) estimateDn(x, y float64) {
	if s.k < 4 {
		return
	}
	var sw, sl, sr float64
	for j := 0; j < s.k; j++ {
		se := &s.m.Sensors[s.idx[j]]
		dx, dy, dz := x-se.X, y-se.Y, s.m.PhoneZ-se.Z
		l := 5 * math.Log10(math.Max(dx*dx+dy*dy+dz*dz, 0.01))
		s.jx[j] = l // reuse as scratch: the Jacobian is not needed any more
		w := 1 / s.v[j]
		sw += w
		sl += w * l
		sr += w * s.r[j]
	}
	sl /= sw
	sr /= sw
	var num, den float64
	for j := 0; j < s.k; j++ {
		w := 1 / s.v[j]
		dl := s.jx[j] - sl
		num += w * (s.r[j] - sr) * dl
		den += w * dl * dl
	}
	if den < 1 { // the sensors are all about as far: no lever
		return
	}
	s.dnEst, s.dnOK = -num/den, true
}

// ExponentEstimate returns the exponent correction suggested by the last
// fix, when it was a least-squares fix of 4 or more readings.
func (s *Solver) ExponentEstimate() (float64, bool) { return s.dnEst, s.dnOK }

// SetSideOffset sets the mean offset, dB, of phones on one side of the
// front (SideStore, SideOutside, SideOther) in the grid posterior: a shop's
// front attenuates what the sensors inside hear of the street.
func (s *Solver) SetSideOffset(side int, db float64) { s.sideOff[side] = db }

// SetLevel sets the mean received offset of phones in the store, dB (the
// sensors' mean gain error, learned by a Tracker); phones outside it are
// Model.FrontDB fainter.
func (s *Solver) SetLevel(db float64) {
	s.level = db
	s.sideOff = [3]float64{sideOther: db - s.m.FrontDB, sideStore: db, sideOutside: db - s.m.FrontDB}
}

// Level returns the level set by SetLevel.
func (s *Solver) Level() float64 { return s.level }

// SideOffset returns the offset set for a side.
func (s *Solver) SideOffset(side int) float64 { return s.sideOff[side] }

// OffsetEstimates returns, per side of the front, the transmit offset about
// the side's offset at the side's most probable cell of the last grid fix;
// NaN where the side had no cell, or where that cell lies on the edge of
// the grid: a phone beyond the site's bounds is put there, nearer than it
// was, and its offset there is too low (passers-by are heard from far along
// the street). ok is false when the last fix was not a posterior over the
// grid or a window of it.
//
// After a fix on the mid grid (Solver.wholeFix) each side's most probable
// cell is taken at the fine grid's cell under its centre, and the edge is
// the fine grid's: taken on the mid grid's cells and edge, the offsets
// moved the learned level (`large`, seed 2, mid cells of 1.6-2 m: median
// 4.24-4.26 against 3.95 m, 90.9-91.3% of sides right against 93.3%;
// docs/locate.md, "Eleventh round").
func (s *Solver) OffsetEstimates() (db Sides, ok bool) {
	if !s.gridFix && !s.winFix {
		return Sides{}, false
	}
	if s.midFix {
		return s.midOffsets(), true
	}
	g := s.grid
	for i, c := range s.post.bestC {
		db[i] = s.post.bEst[i]
		if c < 0 {
			db[i] = math.NaN()
			continue
		}
		if g.onEdge(c) {
			db[i] = math.NaN()
		}
	}
	return db, true
}

// midOffsets is OffsetEstimates after a whole-grid fix on the mid grid:
// each side's offset at the fine grid's cell under the centre of the
// side's most probable mid cell; NaN where the side had no cell or that
// fine cell is on the fine grid's edge.
func (s *Solver) midOffsets() (db Sides) {
	g, p := s.grid, &s.mpost
	for i, c := range p.bestC {
		db[i] = math.NaN()
		if c < 0 {
			continue
		}
		if fc := g.cellAt(s.mid.Center(c)); !g.onEdge(fc) {
			db[i] = p.offsetAt(s, g, fc, uint8(i))
		}
	}
	return db
}
