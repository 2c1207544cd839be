package zones

// Presence is where one track is, with hysteresis: whether it is in the
// store and in which area. A fix near a boundary with a large error does not
// flip the state back and forth.
//
// Per zone z and fix (x, y) with 1-sigma error err per axis: depth d = the
// signed distance to z's boundary (positive inside), margin m =
// min(err, A/P, MaxMargin) (Plan.Margin).
//
//   - The store: a track enters with a fix in the store polygon (d >= 0,
//     the contract's "fix in the store", edges inside) and leaves only with
//     a fix confidently outside (d < -m). Between, it keeps its state.
//   - Areas: a track enters an area with a fix confidently inside it
//     (d >= m) and leaves it with a fix confidently outside it (d < -m) or
//     confidently inside another area.
//
// The store's rule is one-sided because the contract's visit already
// absorbs fixes that stray outside (a visit ends only after visit_gap_s
// without a fix in the store), while demanding a confident fix to enter
// lost real visitors whose fixes the locator pulls toward the shop front;
// see docs/footfall.md. With err = 0 both rules are the plain polygon test.
//
// The zero Presence is outside the store and in no area.
type Presence struct {
	InStore bool
	Area    string // innermost area the track is in, "" when none
}

// Step moves the presence by one fix and returns the new state.
func (s *Presence) Step(p *Plan, x, y, err float64) Presence {
	if id := p.Store(); id != "" {
		switch d := p.Depth(id, x, y); {
		case d >= 0:
			s.InStore = true
		case d < -p.Margin(id, err):
			s.InStore = false
		}
	}
	if !s.InStore {
		s.Area = ""
		return *s
	}
	raw := p.InnermostArea(x, y)
	if raw == s.Area {
		return *s
	}
	// Leave the current area only when confidently out of it, or when
	// confidently in another one.
	leave := s.Area == "" || p.Depth(s.Area, x, y) < -p.Margin(s.Area, err)
	enter := raw != "" && p.Depth(raw, x, y) >= p.Margin(raw, err)
	switch {
	case enter:
		s.Area = raw
	case leave:
		if raw == "" {
			s.Area = ""
		} else if s.Area != "" {
			// Confidently out of the old area, ambiguous in the new one:
			// the fix is where the plan puts it.
			s.Area = raw
		}
	}
	return *s
}
