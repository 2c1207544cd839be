package wire

import (
	"testing"
	"time"
)

// BenchmarkHoursIsOpen is BenchmarkOpenHoursIsOpen with the hours
// compiled once.
func BenchmarkHoursIsOpen(b *testing.B) {
	h := OpenHours{"mon-fri": {"09:00", "20:00"}, "sat": {"10:00", "18:00"}, "sun": {"12:00", "16:00"}}.Compile()
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	n := 0
	for b.Loop() {
		for q := range 7 * 96 {
			if h.IsOpen(t0.Add(time.Duration(q) * 15 * time.Minute)) {
				n++
			}
		}
	}
	if n == 0 {
		b.Fatal("never open")
	}
}

// BenchmarkOpenHoursIsOpen asks the opening hours of a site with three
// ranges about every quarter hour of a week.
func BenchmarkOpenHoursIsOpen(b *testing.B) {
	o := OpenHours{"mon-fri": {"09:00", "20:00"}, "sat": {"10:00", "18:00"}, "sun": {"12:00", "16:00"}}
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	n := 0
	for b.Loop() {
		for q := range 7 * 96 {
			if o.IsOpen(t0.Add(time.Duration(q) * 15 * time.Minute)) {
				n++
			}
		}
	}
	if n == 0 {
		b.Fatal("never open")
	}
}
