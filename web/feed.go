package web

import (
	"context"
	"sync"
	"sync/atomic"
)

// Feed fans live events of many sites out to subscribers without ever
// blocking the publisher: each subscriber has a bounded channel, and an event
// a full channel cannot take is dropped and counted. A Backend can implement
// Subscribe with a Feed and call Publish from the pipeline.
type Feed struct {
	// Buffer is the capacity of each subscriber's channel (default 4096).
	Buffer int

	mu      sync.RWMutex
	subs    map[string]map[*feedSub]struct{}
	dropped atomic.Int64
	sent    atomic.Int64
}

type feedSub struct {
	ch chan Event
}

// Subscribe returns a channel of the site's events until ctx is done; then
// the channel is closed.
func (f *Feed) Subscribe(ctx context.Context, site string) (<-chan Event, error) {
	n := f.Buffer
	if n <= 0 {
		n = 4096
	}
	s := &feedSub{ch: make(chan Event, n)}
	f.mu.Lock()
	if f.subs == nil {
		f.subs = make(map[string]map[*feedSub]struct{})
	}
	if f.subs[site] == nil {
		f.subs[site] = make(map[*feedSub]struct{})
	}
	f.subs[site][s] = struct{}{}
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.subs[site], s)
		if len(f.subs[site]) == 0 {
			delete(f.subs, site)
		}
		close(s.ch)
		f.mu.Unlock()
	}()
	return s.ch, nil
}

// Publish hands ev to every subscriber of site without waiting.
func (f *Feed) Publish(site string, ev Event) {
	f.mu.RLock()
	for s := range f.subs[site] {
		select {
		case s.ch <- ev:
			f.sent.Add(1)
		default:
			f.dropped.Add(1)
		}
	}
	f.mu.RUnlock()
}

// Dropped returns how many events subscribers' full channels refused.
func (f *Feed) Dropped() int64 { return f.dropped.Load() }

// Sent returns how many events were handed to subscribers.
func (f *Feed) Sent() int64 { return f.sent.Load() }

// Subscribers returns the number of subscriptions to site.
func (f *Feed) Subscribers(site string) int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.subs[site])
}
