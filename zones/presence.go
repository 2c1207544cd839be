package zones

// Presence is where one track is, with hysteresis: whether it is in the
// store and in which area. A fix near a boundary with a large error does not
// flip the state; only a confident fix does.
//
// The rule, per zone z and fix (x, y) with 1-sigma error err per axis:
// depth d = signed distance to z's boundary (positive inside), margin
// m = min(err, A/P, MaxMargin) (Plan.Margin). The fix is confidently in z
// when d >= m, confidently out when d < -m, and ambiguous otherwise; an
// ambiguous fix keeps the previous state. With err = 0 the rule is the
// plain polygon test (edges inside).
//
// The zero Presence is outside the store and in no area.
type Presence struct {
	InStore bool
	Area    string // innermost area the track is in, "" when none
}

// Step moves the presence by one fix and returns the new state.
func (s *Presence) Step(p *Plan, x, y, err float64) Presence {
	if id := p.Store(); id != "" {
		switch d, m := p.Depth(id, x, y), p.Margin(id, err); {
		case d >= m:
			s.InStore = true
		case d < -m:
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
