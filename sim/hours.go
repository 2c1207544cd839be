package sim

// Opening hours (Config.Open): shoppers come only while the shop is open,
// and the staff work from each opening to a little after its closing, so
// that a live shop run across days is empty at night but for the street.

import (
	"math"
	"time"
)

// open reports whether the shop is open at t (always without
// Config.Open).
func (s *Shop) open(t float64) bool { return s.cfg.Open == nil || s.cfg.Open(int64(t)) }

// shifts starts the staff's shifts when the shop opens at t (or is open at
// the run's first step): each arrives within ten minutes of the opening
// and leaves 5 to 20 minutes after the closing (at the latest at the
// run's end t1). A shop that does not close within a day (24/7) has
// crews round the clock (roundTheClock), each coming when the last one's
// shift ends.
func (s *Shop) shifts(t, t1 float64) {
	if s.cfg.Open == nil {
		return
	}
	open := s.cfg.Open(int64(t))
	if open && (!s.wasOpen || t >= s.nextShift) {
		start, leave := t, 0.0
		if closes, ok := s.closing(t); ok {
			end := math.Min(closes+5*60e3, t1)
			s.nextShift = math.Inf(1) // the next opening
			leave = end
		} else {
			end := s.roundTheClock(t)
			s.nextShift = end
			leave = math.Min(end, t1) - 16*60e3 // then 0 to 15 minutes more: before the next crew's hour
		}
		for i := 0; i < s.cfg.Staff; i++ {
			start := start + uniform(s.rng, 0, 10)*60e3
			leave := leave + uniform(s.rng, 0, 15)*60e3
			if leave-start > 20*60e3 {
				s.add(newStaff(s.rng, s.layout, start, leave), t)
			}
		}
	}
	s.wasOpen = open
}

// shiftHours are the hours of the local clock at which the crews of a
// shop open round the clock change: three shifts of 8 hours, none across
// midnight (a shift across it would count, on each of the two days, as
// a visitor shorter than the site's staff_min_dwell_s).
var shiftHours = []int{8, 16, 24}

// roundTheClock returns when the shift that begins at t ends: the next
// change of crews at least an hour after t.
func (s *Shop) roundTheClock(t float64) float64 {
	loc := s.layout.Site.Location()
	lt := time.UnixMilli(int64(t)).In(loc)
	for day := 0; ; day++ {
		for _, h := range shiftHours {
			end := float64(time.Date(lt.Year(), lt.Month(), lt.Day()+day, h, 0, 0, 0, loc).UnixMilli())
			if end >= t+3600e3 {
				return end
			}
		}
	}
}

// closing returns when the shop that is open at t closes: the first
// closed minute after t; ok is false when there is none within a day.
func (s *Shop) closing(t float64) (float64, bool) {
	end := t + 24*3600e3
	for c := t + 60e3; c < end; c += 60e3 {
		if !s.cfg.Open(int64(c)) {
			return c, true
		}
	}
	return end, false
}
