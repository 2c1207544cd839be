package server

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestPersistsInOrder: two hand-overs of a runner's summaries to the writer
// (housekeeping's, a heatmap query's, the runner's end) reach it in the
// order they were taken. Before, each took its snapshot under the runner's
// lock and handed it over after letting go, so an older snapshot could
// overwrite a newer one in the writer's queue: here a staff phone's track
// day went back to its earlier last detection (found by helper review4).
func TestPersistsInOrder(t *testing.T) {
	srv, r, day0, stop := heatServer(t, Config{housekeepEvery: time.Hour}, 2)
	defer stop()
	last := feedHeatDays(r, day0, 1, 1)
	ctx := context.Background()

	reached, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	persistSnapshotHook = func() {
		if first.CompareAndSwap(false, true) {
			close(reached)
			<-release
		}
	}
	defer func() { persistSnapshotHook = nil }()
	var wg sync.WaitGroup
	wg.Go(func() { r.persist(ctx) }) // the older snapshot, held after it is taken
	<-reached

	// The staff phone is seen again later that day; a second hand-over.
	later := last + 3*3_600_000
	r.mu.Lock()
	p := wire.Position{T: later, Dev: 1000, Track: "till0", X: 8.5, Y: 1.5, Err: 1, N: 4}
	p.Zone = r.plan.Innermost(p.X, p.Y)
	r.Position(p)
	r.Advance(later + 60_000)
	r.mu.Unlock()
	second := make(chan struct{})
	wg.Go(func() { r.persist(ctx); close(second) })
	select {
	case <-second: // it did not wait for the first: the first then overwrites it
	case <-time.After(time.Second): // it waits for the first (or is slow): either way, release
	}
	close(release)
	wg.Wait()

	w := srv.writer
	w.mu.Lock()
	defer w.mu.Unlock()
	found := false
	for k, d := range w.days {
		if k.track == "till0" {
			found = true
			if d.Last != later {
				t.Errorf("the writer holds till0's day %s with its last detection at %d, want %d (the later hand-over's)", k.day, d.Last, later)
			}
		}
	}
	if !found {
		t.Fatal("the writer holds no day of till0")
	}
}
