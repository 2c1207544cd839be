package ingest

import (
	"testing"
	"time"
)

// TestBusy: ingest is busy within busyGap of a message, and through a
// pause of up to busyWindow in a burst, but not after a pause in a steady
// stream of a few hundred messages a second.
func TestBusy(t *testing.T) {
	ms := int64(time.Millisecond)
	var s Subscriber
	if s.busyAt(time.Now().UnixNano()) {
		t.Fatal("busy before any message")
	}
	// A burst: a message every 0.3 ms.
	now := int64(1e18)
	for range 100 {
		now += 3 * ms / 10
		s.arrived(now)
	}
	for _, c := range []struct {
		after int64
		busy  bool
	}{{1 * ms, true}, {5 * ms, true}, {15 * ms, true}, {25 * ms, false}} {
		if got := s.busyAt(now + c.after); got != c.busy {
			t.Errorf("%d ms after a burst: busy %v, want %v", c.after/ms, got, c.busy)
		}
	}
	// A steady stream of 300 messages a second.
	for range 100 {
		now += 10 * ms / 3
		s.arrived(now)
	}
	for _, c := range []struct {
		after int64
		busy  bool
	}{{1 * ms, true}, {4 * ms, false}} {
		if got := s.busyAt(now + c.after); got != c.busy {
			t.Errorf("%d ms after a message of a steady stream: busy %v, want %v", c.after/ms, got, c.busy)
		}
	}
}
