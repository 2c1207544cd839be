package wire

import (
	"testing"
	"time"
)

// benchHours are a site's opening hours with three ranges.
var benchHours = OpenHours{"mon-fri": {"09:00", "20:00"}, "sat": {"10:00", "18:00"}, "sun": {"12:00", "16:00"}}

// askWeek asks isOpen about every quarter hour of a week (672 questions).
func askWeek(b *testing.B, isOpen func(time.Time) bool) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	n := 0
	for b.Loop() {
		for q := range 7 * 96 {
			if isOpen(t0.Add(time.Duration(q) * 15 * time.Minute)) {
				n++
			}
		}
	}
	if n == 0 {
		b.Fatal("never open")
	}
}

// BenchmarkHoursIsOpen asks the hours compiled once.
func BenchmarkHoursIsOpen(b *testing.B) { askWeek(b, benchHours.Compile().IsOpen) }

// BenchmarkOpenHoursIsOpen asks the site's opening hours as they are.
func BenchmarkOpenHoursIsOpen(b *testing.B) { askWeek(b, benchHours.IsOpen) }
