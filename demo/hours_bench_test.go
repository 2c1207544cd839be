package demo

import (
	"testing"
	"time"

	"github.com/passant/passant/sim"
)

// BenchmarkSiteOpen asks the live shop's opening hours (sim.Config.Open)
// about every minute of a week, as the simulator does every step and, at
// each opening, minute by minute for its closing.
func BenchmarkSiteOpen(b *testing.B) {
	layout, err := sim.LayoutNamed("small")
	if err != nil {
		b.Fatal(err)
	}
	open := siteOpen(&layout.Site)
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC).UnixMilli()
	n := 0
	for b.Loop() {
		for m := range int64(7 * 24 * 60) {
			if open(t0 + m*60e3) {
				n++
			}
		}
	}
	if n == 0 {
		b.Fatal("never open")
	}
}
