package sim

// Opening hours (Config.Open): shoppers come only while the shop is open,
// and the staff work from each opening to a little after its closing, so
// that a live shop run across days is empty at night but for the street.

import "math"

// open reports whether the shop is open at t (always without
// Config.Open).
func (s *Shop) open(t float64) bool { return s.cfg.Open == nil || s.cfg.Open(int64(t)) }

// shifts starts the staff's shifts when the shop opens at t (or is open at
// the run's first step): each arrives within ten minutes of the opening
// and leaves 5 to 20 minutes after the closing (at the latest at the
// run's end t1).
func (s *Shop) shifts(t, t1 float64) {
	if s.cfg.Open == nil {
		return
	}
	open := s.cfg.Open(int64(t))
	if open && !s.wasOpen {
		end := math.Min(s.closing(t)+5*60e3, t1)
		for i := 0; i < s.cfg.Staff; i++ {
			start := t + uniform(s.rng, 0, 10)*60e3
			leave := end + uniform(s.rng, 0, 15)*60e3
			if leave-start > 20*60e3 {
				s.add(newStaff(s.rng, s.layout, start, leave), t)
			}
		}
	}
	s.wasOpen = open
}

// closing returns when the shop that is open at t closes: the first
// closed minute after t, within a day.
func (s *Shop) closing(t float64) float64 {
	end := t + 24*3600e3
	for c := t + 60e3; c < end; c += 60e3 {
		if !s.cfg.Open(int64(c)) {
			return c
		}
	}
	return end
}
