package locate

import "math"

// What a Tracker learns from the bursts: the site-wide exponent shift,
// the store's level and the sensors' gains, set on its Solver
// (corrections.go), and their getters.

// learnExponent moves the site-wide exponent correction towards what the
// last least-squares fix suggests: a stochastic approximation (step α,
// bounded to ±1.5) of the correction that leaves the residuals without a
// trend over distance. The site file's exponents are often off, and an
// exponent too small pushes every fix outwards.
func (t *Tracker) learnExponent() {
	if t.opt.NoSelfCalibration {
		return
	}
	est, ok := t.solver.ExponentEstimate()
	if !ok {
		return
	}
	const alpha = 0.005
	dn := t.solver.ExponentShift() + alpha*math.Max(-2, math.Min(2, est))
	t.solver.SetExponentShift(math.Max(-1.5, math.Min(1.5, dn)))
}

// burstExponentSigma is the uncertainty of the exponents that the grid
// posterior integrates out burst by burst on sites of three sensors or
// more (the model's ExponentSigma, 0.4 by default, where it is smaller; on
// fewer sensors the model's). The exponent's error is one fixed value of
// the site, which the tracker learns (4 sensors or more, see
// learnExponent); integrated afresh at every burst with its whole prior
// spread it lets cells far from the sensors fit by a flatter exponent and
// moves a shopper's mass onto the street (narrow, seed 2: 92.1% of bursts
// on the right side with 0.4, 92.3% with the true exponent given, 94.4%
// with 0.15). With two sensors (corner) 0.15 put 4 to 7 points more of
// the street's bursts in the store, and footfall's visitors went from -1%
// to +18%: there the front's loss alone tells the sides apart, and the
// exponent's spread is what keeps the street's mirror image plausible.
const burstExponentSigma = 0.15

// ExponentShift returns the exponent correction learned so far.
func (t *Tracker) ExponentShift() float64 { return t.solver.ExponentShift() }

// learnLevel moves the mean received offset of phones in the store (the
// sensors' mean gain error; phones' own transmit offsets average out)
// towards the transmit offsets of the last fix at the most probable cell
// of each side, weighted by the side's posterior: a stochastic
// approximation. The front's loss (Model.FrontDB) stays between the
// sides: learning the street's offset on its own drifts, as bursts that
// look faint are put on the street and make it look fainter.
//
// An update on the store's side (its posterior of the store 0.5 or more)
// is weighted, as learnGains weighs its own, by how much of the phone's
// shadowing is new since its track's last update (renewed), over the
// running mean of those weights: a phone that stays put repeats one draw
// of its transmit offset and its shadowing at every burst. Staff phones
// stand in the store all day and sent 10-52% of its bursts (11 h, the
// four simulated shops, seeds 1-12); the level learned per burst took on
// their offsets, -2.1 to +1.7 dB between days, and the shops' visitors
// followed (corner -5.8% per dB; docs/footfall.md, "2026-12-06"). The
// street's updates keep their weight: the balance between the sides is
// levelEdgeShare's.
func (t *Tracker) learnLevel(tr *track, post Sides, now int64) {
	if t.opt.NoSelfCalibration {
		return
	}
	b, ok := t.solver.OffsetEstimates()
	if !ok {
		return
	}
	var num, den float64
	for i, v := range b {
		if !math.IsNaN(v) {
			num += post[i] * math.Max(-6, math.Min(6, v))
			den += post[i]
		}
	}
	if !(den > 0) {
		return
	}
	// An update whose likeliest side had no estimate (its cell on the
	// grid's edge: a phone beyond the bounds) rests on a side it is
	// hardly on; its weight is capped so that such updates are at most
	// levelEdgeShare of all, once the fast start is over (see
	// levelEdgeShare).
	edge := den < 0.5
	t.levelRecent[0] *= levelShareDecay
	t.levelRecent[1] *= levelShareDecay
	if edge {
		t.levelRecent[1]++
	} else {
		t.levelRecent[0]++
	}
	w := 1.0
	if edge && t.levelN >= levelFastN {
		w = math.Min(1, levelEdgeShare/(1-levelEdgeShare)*t.levelRecent[0]/t.levelRecent[1])
	}
	x, y := t.trackPlace(tr)
	if pw := renewed(&tr.levelMark, x, y, now); post[sideStore] >= 0.5 {
		ls := &t.levelStore
		ls.n++
		ls.w += (pw - ls.w) / float64(min(ls.n, gainWeightN))
		if ls.w > 0 {
			w *= pw / ls.w
		}
	}
	alpha := 0.01
	if t.levelN < levelFastN {
		t.levelN++
		alpha = levelFastAlpha
	}
	t.solver.SetLevel(math.Max(-10, math.Min(10, t.solver.Level()+w*alpha*num/den)))
}

// levelEdgeShare caps the weight of the level's updates from bursts whose
// likeliest side had no offset estimate (its most probable cell on the
// grid's edge, NaN in OffsetEstimates: mostly passers-by beyond the
// bounds). Such an update is the offset at the most probable cell of a
// side the burst is hardly on, normalised to full weight: -1 to -4 dB on
// average, against +0.4 to +1.3 dB for the others. At 240 passers-by an
// hour they are 22-32% of the updates and the two pulls balance near the
// level that locates best (without them the level settles 2-3 dB higher
// and corner's visitors fall by a quarter); at 960 they are 32-44%, and
// the level sinks 1-3 dB (small, seed 1: -0.9 -> -4.0 dB), so that
// window-shoppers and passers-by near the front fit the store. Capping
// their share at 0.3 (over the last ~1,000 updates, levelShareDecay) keeps
// normal traffic where it was and part of the busy street's drift out
// (docs/locate.md, "Busy streets, the level").
const (
	levelEdgeShare  = 0.3
	levelShareDecay = 0.999
)

// The store's level moves by levelFastAlpha instead of 0.01 for its first
// levelFastN updates: a site whose sensors all read several dB off the
// site file (corner, seed 2: 8.6 dB low) otherwise puts most shoppers on
// the street for the first hour or two, while the level and the sides'
// priors settle together.
const (
	levelFastN     = 1000
	levelFastAlpha = 0.05
)

// sideShrink draws the learned side priors (the EM steps of Tracker.Add)
// towards the zones' areas at every burst: a Dirichlet prior on the
// mixture weights, in effect. Where the sides cannot be told apart well
// (corner: two sensors on the front wall; a cell beside the store and its
// mirror image on the street fit alike) the EM steps alone run along the
// ridge: over a shop day corner's prior of all bursts went from 0.36 to
// 0.8 for the store and to its floor of 0.02 for the street, new tracks'
// to 0.5 for "elsewhere" (beside the shop), and the street's bursts right
// fell from 86% in the first hour to 15-30% in the last.
const sideShrink = 0.005

// learnSides is one EM step of a side prior towards the posterior of the
// last burst, kept off the extremes and drawn towards the areas.
func (t *Tracker) learnSides(prior, post *Sides) {
	for i := range prior {
		v := math.Max(0.99*prior[i]+0.01*post[i], 0.02)
		prior[i] = (1-sideShrink)*v + sideShrink*t.areas[i]
	}
}

// Level returns the learned mean received offset of phones in the store, dB.
func (t *Tracker) Level() float64 { return t.solver.Level() }

// SideOffset returns the learned mean offset of a side of the front, dB.
func (t *Tracker) SideOffset(side int) float64 { return t.solver.SideOffset(side) }

// learnGains moves each sensor's gain error g_i by a step of its residual
// (gainResiduals: the reading against the model at the burst's expected
// log-distance under its posterior over the whole grid, centred over the
// burst's readings), keeping their mean at 0: the common part is the
// store's level (learnLevel). The solver takes g_i off every reading of
// sensor i. Site files give one rssi_1m for all sensors, and real sensors
// differ by a few dB (the simulator: σ 2 dB); a sensor that reads low
// pushes every fix away from itself.
//
// Each update is weighted by how much of the phone's shadowing is new
// since its track's last one, 1 - ρ², ρ = exp(-moved/gainDecorrM -
// dt/gainDecorrS) (a new track: 1), the step scaled by the weights' running
// mean: a phone that stays put (the staff at the till, for half an hour)
// repeats one draw of its shadowing at every burst, and two such phones
// were half of all updates. Until December 2026 the residuals were those
// of the least-squares fix, only where its point lay inside the sensors'
// hull, unweighted: that choice is a selection (a phone at the till,
// outside the hull, is used only when its noise pulls the point inside),
// and the point itself absorbs part of a gain error, so the learning
// wandered along the modes a shift of everyone's position explains (front
// row against back row). TestTrackerLearnsGains (sim) measures it on
// `large` over 3 h, seeds 1-4: the learned gains leave 24, 37, 20 and 28%
// of the true ones' spread (RMS about their mean); before, 14, 76, 23 and
// 60% (docs/locate.md, "The sensors' gains").
func (t *Tracker) learnGains(tr *track, now int64) {
	if t.opt.NoSelfCalibration {
		return
	}
	idx, res, ok := t.solver.gainResiduals(&t.global)
	if !ok {
		return
	}
	x, y := t.trackPlace(tr)
	w := renewed(&tr.gain, x, y, now)
	gs := &t.gains
	if gs.g == nil {
		gs.g = make([]float64, t.sensors)
		t.solver.SetGains(gs.g)
	}
	gs.n++
	gs.w += (w - gs.w) / float64(min(gs.n, gainWeightN))
	if !(gs.w > 0) {
		return
	}
	step := gainAlpha * w / gs.w
	for j, i := range idx {
		gs.g[i] += step * math.Max(-8, math.Min(8, res[j]))
	}
	var m float64
	for _, g := range gs.g {
		m += g
	}
	m /= float64(len(gs.g))
	for i := range gs.g {
		gs.g[i] = math.Max(-10, math.Min(10, gs.g[i]-m))
	}
}

// The gains' learning: the step (scaled by an update's weight over the
// weights' running mean, taken over the last gainWeightN updates) and the
// distance walked and time over which a phone's shadowing is taken to
// renew itself. The figures are not tuned: 3 or 5 m, 300, 600 or 1,200 s
// give the same learned gains within 2 points of the true spread (large
// and small, seeds 1-16).
const (
	gainAlpha   = 0.005
	gainWeightN = 500
	gainDecorrM = 5.0
	gainDecorrS = 600.0
)

// gainState is what learnGains keeps: the gain errors (the solver's, set
// by SetGains) and the running mean of its updates' weights.
type gainState struct {
	g []float64
	w float64
	n int
}

// trackPlace returns where tr is for renewed: its filtered position, or
// for a new track (whose filter starts at this fix) the last fix.
func (t *Tracker) trackPlace(tr *track) (x, y float64) {
	if tr.last == 0 {
		return t.last.X, t.last.Y
	}
	return tr.x.p, tr.y.p
}

// renewed returns how much of a phone's shadowing is new since its track's
// last update mark (at (x, y) at event time now, ms), 1 − ρ² with
// ρ = exp(−moved/gainDecorrM − dt/gainDecorrS), 1 when there was none,
// and moves the mark there.
func renewed(mark *gainMark, x, y float64, now int64) float64 {
	w := 1.0
	if m := *mark; m.t > 0 {
		rho := math.Exp(-math.Hypot(x-m.x, y-m.y)/gainDecorrM - math.Max(float64(now-m.t), 0)/1000/gainDecorrS)
		w = 1 - rho*rho
	}
	*mark = gainMark{t: now, x: x, y: y}
	return w
}

// gainMark is a track's last update of the gains: when (event time, ms)
// and where (its filtered position, or its first fix). It also marks a
// track's last update of the store's level (learnLevel).
type gainMark struct {
	t    int64
	x, y float64
}

// sideMemory is a track's belief over the sides as the memory its next
// burst's prior starts from: "elsewhere" (cells in no zone: walls, the
// neighbours' premises) is where a fix may land but nobody stays, so its
// mass is not carried over but goes to the store and the street in the
// proportions of the prior of all bursts. Carried over, it made a young
// track whose first bursts fell beyond a side wall keep its next ones
// there (large, seed 2: shoppers by the right-hand wall put beyond it).
func (t *Tracker) sideMemory(s Sides) Sides {
	o := s[sideOther]
	tot := t.global[sideStore] + t.global[sideOutside]
	if !(o > 0) || !(tot > 0) {
		return s
	}
	s[sideOther] = 0
	s[sideStore] += o * t.global[sideStore] / tot
	s[sideOutside] += o * t.global[sideOutside] / tot
	return s
}

// Gains returns the gain error learned per sensor, dB about their mean
// (nil before the first); see learnGains.
func (t *Tracker) Gains() []float64 { return append([]float64(nil), t.gains.g...) }
