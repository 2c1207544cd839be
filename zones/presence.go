package zones

import "math"

// MinEnterP is the least probability of the store's side with which a fix
// brings a track into the store, and with which a fix of a track in the
// store counts as a fix in the store (SureOfStore). Measured on the
// simulated shops (docs/footfall.md): 0.6 to 0.8 all cut the corner shop's
// overcount of passers-by at the window, and higher bars lose true visitors
// whose new tracks start unsure; judged per track by the truth, with both
// uses of the bar, 0.65 misclassified fewest over six seeds (0.6 and 0.7
// each made some shop clearly worse).
const MinEnterP = 0.65

// SureEnterP is the store side's probability under which a fix that brings
// a track into the store starts only a provisional stay: footfall counts it
// in the store once it has lasted two minutes (a window-shopper's track
// that grows sure of the store while its phone stands at the glass stays
// a minute or so; docs/footfall.md, "2026-12-05 evening: visitors").
const SureEnterP = 0.7

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
// Entering the store takes more: pin, the probability that the device is
// on the store's side of the shop's front (the locator's side posterior,
// wire.Position.PStore; 0 when unknown, which skips this test), must be
// at least MinEnterP. Where the sensors cannot tell a phone at the window
// from its mirror image inside (two sensors on the front wall), a fix can
// lie deep in the store while the locator holds the street about as
// likely; such a fix keeps a track that is in the store in, but does not
// bring one in, and is not itself a fix in the store (SureOfStore): it
// neither starts nor extends a visit.
//
// The zero Presence is outside the store and in no area.
type Presence struct {
	InStore bool
	Area    string // innermost area the track is in, "" when none
}

// SureOfStore reports whether a fix after which a track is in the store,
// with the store side's probability pin (0 when unknown), counts as a fix
// in the store: the same bar as entering, pin >= MinEnterP. A window-shopper
// whose fixes are put inside the front is in the store by the hysteresis
// while the locator holds the street as likely; counting those fixes would
// stretch a short stay at the glass to a visit.
func SureOfStore(pin float64) bool { return pin <= 0 || pin >= MinEnterP }

// Step moves the presence by one fix (x, y, its error err and its store
// side's probability pin, 0 when unknown) and returns the new state.
func (s *Presence) Step(p *Plan, x, y, err, pin float64) Presence {
	st, _, _ := s.StepStore(p, x, y, err, pin)
	return st
}

// StepStore is Step, and returns the store's depth at (x, y) and its margin
// for err as Step took them (Plan.Depth and Plan.Margin of Plan.Store; -Inf
// and 0 when the plan has no store), for a caller that needs them too.
func (s *Presence) StepStore(p *Plan, x, y, err, pin float64) (_ Presence, depth, margin float64) {
	depth = math.Inf(-1)
	if id := p.Store(); id != "" {
		depth, margin = p.Depth(id, x, y), p.Margin(id, err)
		switch d, m := depth, margin; {
		case d >= m && (s.InStore || pin <= 0 || pin >= MinEnterP):
			s.InStore = true
		case d < -m:
			s.InStore = false
		}
	}
	if !s.InStore {
		s.Area = ""
		return *s, depth, margin
	}
	raw := p.InnermostArea(x, y)
	if raw == s.Area {
		return *s, depth, margin
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
	return *s, depth, margin
}
