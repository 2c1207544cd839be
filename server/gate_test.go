package server

import (
	"testing"
	"time"
)

// The runner's wait for ingest is bounded: a burst that keeps ingest busy
// holds it for gateMax at most, after which it waits only for the budget
// that gateShare of the time passed has brought back.
func TestIngestGate(t *testing.T) {
	clock := time.Unix(1000, 0)
	now := func() time.Time { return clock }
	sleep := func() { clock = clock.Add(time.Millisecond) }
	always := func() bool { return true }

	var g ingestGate
	start := clock
	g.wait(now, sleep, always)
	if waited := clock.Sub(start); waited != gateMax {
		t.Fatalf("a burst held the runner for %v, want %v", waited, gateMax)
	}
	// At once again: nothing left.
	start = clock
	g.wait(now, sleep, always)
	if waited := clock.Sub(start); waited != 0 {
		t.Fatalf("with the budget spent the runner waited %v", waited)
	}
	// A second later it may wait a fifth of it.
	clock = clock.Add(time.Second)
	start = clock
	g.wait(now, sleep, always)
	if waited := clock.Sub(start); waited != time.Duration(gateShare*float64(time.Second)) {
		t.Fatalf("a second later the runner waited %v, want %v", waited, time.Duration(gateShare*float64(time.Second)))
	}
	// Over a steady minute of busy ingest, waits take at most about
	// gateShare of the runner's time.
	var waited time.Duration
	end := clock.Add(time.Minute)
	for clock.Before(end) {
		clock = clock.Add(5 * time.Millisecond) // locating a batch
		s := clock
		g.wait(now, sleep, always)
		waited += clock.Sub(s)
	}
	if share := float64(waited) / float64(time.Minute+waited); share > gateShare+0.01 {
		t.Fatalf("waits took %.2f of the time, want at most %v", share, gateShare)
	}
	// Not busy: no wait, and the budget refills to gateMax.
	clock = clock.Add(time.Hour)
	start = clock
	g.wait(now, sleep, func() bool { return false })
	if clock != start || g.budget != gateMax {
		t.Fatalf("idle: waited %v, budget %v", clock.Sub(start), g.budget)
	}
}
