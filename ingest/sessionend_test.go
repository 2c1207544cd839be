package ingest

import (
	"runtime"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestClosedSubscribersEnd: a cluster instance makes a subscriber for each
// site it takes and closes it when the site moves on, so a closed
// subscriber's goroutines (decoders, sequencer, acknowledgements) must end.
// Before, they waited on their channels for ever: a leak at every handover.
func TestClosedSubscribersEnd(t *testing.T) {
	before := runtime.NumGoroutine()
	var subs []*Subscriber
	for range 20 {
		s, err := NewSubscriber(Config{Broker: "tcp://127.0.0.1:1", Decoders: 2,
			Known:   func(string, string) bool { return true },
			Deliver: func(string, int64, *wire.Batch, wire.Drops, At) {}})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	if n := runtime.NumGoroutine(); n < before+20*4 {
		t.Fatalf("%d goroutines with 20 subscribers, %d before", n, before)
	}
	for _, s := range subs {
		s.Close(10 * time.Millisecond)
	}
	n := 0
	for range 300 {
		if n = runtime.NumGoroutine(); n <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d goroutines after closing the 20 subscribers, %d before", n, before)
}
