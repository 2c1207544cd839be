package locate

// The side of the shop's front a fix takes: a window fix checked against
// the coarse grid (wideSides), a fix redone under a track's side prior
// (Resides, GridSides), and the whole grid's fix (wholeFix).

// Resides redoes the last fix of LocateSides under another side prior, at
// the cost of one pass over the grid; ok is false when the last fix did not
// come from the grid (a least-squares fix does not depend on the prior).
//
// After a window fix that wideSides let stand, the window is checked
// against the coarse grid again, under this prior (the track's memory, or
// new tracks' prior, where wideSides had the prior of all bursts): where
// the coarse posterior puts at least wideGate on another side than the
// window's, the fix is the whole grid's under prior; else it is the
// window's, and post as wideSides gives it (standingSides).
func (s *Solver) Resides(prior, post *Sides) (Fix, bool) {
	if !s.gridFix && !s.winFix {
		return Fix{}, false
	}
	g, p := s.last()
	fine := s.grid
	s.grid = g
	var wpost Sides
	f := p.choose(s, prior, &wpost, true)
	s.grid = fine
	if !s.winStood {
		if post != nil {
			*post = wpost
		}
		return f, true
	}
	var cpost Sides
	s.grid = s.coarse
	s.cpost.choose(s, prior, &cpost, false)
	s.grid = fine
	if wi, ci := bestSide(&wpost), bestSide(&cpost); ci != wi && cpost[ci] >= wideGate {
		s.winStood = false
		return s.wholeFix(prior, post), true
	}
	s.winSides = wpost
	if post != nil {
		*post = s.standingSides(&wpost, &cpost)
	}
	return f, true
}

// standingSides is the posterior of the sides that a window fix that stood
// gives (wideSides, Resides): the window's own, wpost, where the window
// weighed both sides of the front (a cell of each within the cutoff of its
// best), else the coarse grid's over the whole bounds, cpost. A window
// without the street's cells is sure of the store by its construction, not
// by the readings.
func (s *Solver) standingSides(wpost, cpost *Sides) Sides {
	if s.post.bestC[sideStore] >= 0 && s.post.bestC[sideOutside] >= 0 {
		return *wpost
	}
	return *cpost
}

// bestSide returns the side of greatest posterior (the first of equals).
func bestSide(p *Sides) int {
	b := 0
	for i := range p {
		if p[i] > p[b] {
			b = i
		}
	}
	return b
}

// learnedSides returns the sides' posterior that the tracker's learning of
// the sides' priors and the store's level takes from the last fix: post,
// except after a window fix that stood, where it is the window's own (as
// before December 2026; the coarse grid's sides, given for the track's
// memory, moved the sensors' learned gains in TestTrackerLearnsGainsRing,
// and the level's offsets are the window's cells anyway).
func (s *Solver) learnedSides(post *Sides) *Sides {
	if s.winStood {
		return &s.winSides
	}
	return post
}

// SideAreas returns the prior mass of each side of the front, normalised:
// the sides' prior when one density holds everywhere.
func (s *Solver) SideAreas() Sides {
	if s.grid == nil {
		return Sides{1, 0, 0}
	}
	a := Sides(s.grid.area)
	t := a[0] + a[1] + a[2]
	for i := range a {
		a[i] /= t
	}
	return a
}

// GridSides redoes the last fix on the grid under a side prior (used when
// a track's past contradicts a least-squares fix's side); false when the
// site has no grid or the last burst had no usable reading.
func (s *Solver) GridSides(prior, post *Sides) (Fix, bool) {
	if s.grid == nil || s.k == 0 {
		return Fix{}, false
	}
	s.gridFix, s.winStood = true, false
	return s.wholeFix(prior, post), true
}

// last returns the grid and workspace of the last grid fix: the mid grid's
// after a whole-grid fix on it, the grid's otherwise.
func (s *Solver) last() (*Grid, *posterior) {
	if s.midFix {
		return s.mid, &s.mpost
	}
	return s.grid, &s.post
}

// wholeFix is the posterior over the whole grid: on the mid grid where the
// site has one, on the grid otherwise.
func (s *Solver) wholeFix(prior, post *Sides) Fix {
	if s.mid == nil {
		return s.post.fix(s, prior, post)
	}
	fine := s.grid
	s.grid = s.mid
	f := s.mpost.fix(s, prior, post)
	s.grid = fine
	s.midFix = true
	return f
}

// midCells bounds the cells of the grid of whole-grid fixes (Solver.mid)
// where the sensors span an area (the grid's maxCells; lineCells sites
// keep their grid). A whole-grid fix is one of few readings or a phone
// outside the sensors' hull, whose posterior spreads over metres to tens
// of metres (in the 10 h replays two thirds of its cells lie within 12
// nats of the best): cells of 1.2 m (`small`) and 2 m (`large`) instead of
// 0.64 and 1.33 m give the same accuracy tables within noise (`small`'s
// inside/outside 0.1-0.4 points lower, as with a fine grid of 1,000 cells)
// for a third to a half of the cells (docs/locate.md, "Eleventh round").
// Windows around a least-squares point stay on the fine grid.
const midCells = 400

// wideSides checks the side of the window fix just made (wfix, under
// prior) against the whole grid: a window around a least-squares point
// inside the sensors' hull may hold no cell of the other side of the
// front, and a phone on the street often fits best at its mirror image
// inside the hull (in `large`, 211 of 1,943 street bursts, seed 1; 185 of
// them were put in the store). The check runs on a coarse copy of the grid
// (coarseCells cells; the side's mass is an integral, smooth over metres);
// where it puts at least wideGate of the posterior on another side than
// the window's, the fix is the whole grid's posterior instead. Below that
// the window stands: where the sensors' gains are off by a few dB, a
// shopper deep inside the hull can look like the street to the whole grid
// (`large`, seed 2) while no cell near the point does.
//
// Where the window stands but holds no cell of the street (standingSides),
// post receives the coarse grid's posterior of the sides, not the
// window's: such a window puts the burst in the store with a certainty
// that the readings never gave (a loud passer-by whose least-squares point
// lies inside the hull: 1.00 for the store where the whole grid gives the
// street 0.7). Carried in the track's memory, that certainty put the same
// passer-by's next bursts in the store too (`large`, seed 1: 65 of the
// street's 191 bursts put in the store, besides the 72 window fixes
// themselves; docs/locate.md, "2026-12-05 evening: the side at the
// front"). A window that holds cells of both sides keeps its own: the
// coarse grid's cells (1.5-2.5 m) blur a phone 1-2 m inside the front,
// and a staff phone at `small`'s till, given them, lost its track
// (TestStaffPhoneOneTrack).
func (s *Solver) wideSides(wfix Fix, prior, post *Sides) Fix {
	var wpost Sides
	s.post.choose(s, prior, &wpost, false)
	fine := s.grid
	s.grid = s.coarse
	s.cpost.all(s.coarse)
	var cpost Sides
	s.cpost.fix(s, prior, &cpost)
	s.grid = fine
	s.cOK = true
	if wi, ci := bestSide(&wpost), bestSide(&cpost); ci != wi && cpost[ci] >= wideGate {
		return s.wholeFix(prior, post)
	}
	s.winStood, s.winSides = true, wpost
	if post != nil {
		*post = s.standingSides(&wpost, &cpost)
	}
	return wfix
}

// wideGate is the whole grid's least posterior of another side than the
// window's for it to overrule the window's side.
const wideGate = 0.9

// coarseCells bounds the cells of the coarse grid of wideSides.
const coarseCells = 256
