package server

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passant/passant/store"
)

// slowWrites is a store whose writes of raw batches wait while it is held:
// a database that takes its time.
type slowWrites struct {
	store.Store
	held    atomic.Bool
	release chan struct{}
}

func (s *slowWrites) WriteBatches(ctx context.Context, bs []store.RawBatch) error {
	if s.held.Load() {
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Store.WriteBatches(ctx, bs)
}

// TestClusterHandOverAtShutdown stops an instance whose last batches are
// still being written (a slow database): the instance that takes its sites
// over rebuilds them from the stored observations, so the stopping one must
// hold its leases (renewing them) until the writer has stored everything,
// and only then give them back. Before, it gave them back the moment its
// context ended, and the other instance took the sites and rebuilt them
// without the batches still on their way to the database.
func TestClusterHandOverAtShutdown(t *testing.T) {
	ca, cb := clusterPair(t, "ph")
	ttl := ca.LeaseTTL
	slow := &slowWrites{release: make(chan struct{})}
	ca.wrapStore = func(st store.Store) store.Store { slow.Store = st; return slow }
	a := startInstance(t, ca)
	b := startInstance(t, cb)
	defer b.stop()
	eventually(t, "the sites shared two and two", func() bool {
		return len(a.srv.Running()) == 2 && len(b.srv.Running()) == 2
	})
	mine := a.srv.Running()

	slow.held.Store(true)
	want := publishEach(t, ca, mine, 20)
	eventually(t, "a's sites took every batch", func() bool {
		for _, site := range mine {
			if r := a.srv.runner(site); r == nil || processed(r) != want {
				return false
			}
		}
		return true
	})
	stopped := make(chan struct{})
	go func() { a.stop(); close(stopped) }()
	// The database takes two leases' lengths to store a's last batches.
	time.Sleep(2 * ttl)
	close(slow.release)
	<-stopped
	eventually(t, "b runs every site", func() bool { return len(b.srv.Running()) == 4 })
	for _, site := range mine {
		if !slices.Contains(b.srv.Running(), site) {
			t.Fatalf("b does not run %s", site)
		}
		if n := processed(b.srv.runner(site)); n != want {
			t.Errorf("%s: b rebuilt it from %d stored batches; a took %d", site, n, want)
		}
	}
}
