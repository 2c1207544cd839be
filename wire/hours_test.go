package wire

import (
	"testing"
	"time"
)

// TestHoursAgreeWithOpenHours: the compiled hours answer as the site's
// opening hours do at every minute of a week, for ranges over the week's
// end, several ranges a day, a closing at 24:00, none (open at all times)
// and a range that does not parse (left out).
func TestHoursAgreeWithOpenHours(t *testing.T) {
	for _, o := range []OpenHours{
		nil,
		{"mon-fri": {"09:00", "20:00"}, "sat": {"10:00", "18:00"}},
		{"fri-mon": {"00:00", "24:00"}, "wed": {"07:30", "12:15"}, "wed,thu": {"14:00", "22:45"}},
		{"mon-sun": {"00:00", "24:00"}},
		{"someday": {"09:00", "17:00"}, "tue": {"09:00", "17:00"}},
	} {
		h := o.Compile()
		t0 := time.Date(2026, 12, 7, 0, 0, 30, 0, time.UTC) // a Monday
		open := 0
		for m := range 7 * 24 * 60 {
			at := t0.Add(time.Duration(m) * time.Minute)
			if got, want := h.IsOpen(at), o.IsOpen(at); got != want {
				t.Fatalf("%v at %s: compiled %v, want %v", o, at.Format("Mon 15:04"), got, want)
			}
			if h.IsOpen(at) {
				open++
			}
		}
		t.Logf("%v: open %d minutes a week", o, open)
	}
}
