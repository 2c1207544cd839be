package server

import (
	"slices"
	"testing"
	"time"

	"github.com/passant/passant/store"
)

// TestClusterSiteChangeKeepsUnstoredBatches changes a site on a cluster
// instance whose last batches are still on their way to a slow database:
// in a cluster the runner is rebuilt from the stored observations (the
// journal may be another instance's), so it must wait for the writer to
// store what it took first. Before, the rebuild left out every batch the
// writer still held.
func TestClusterSiteChangeKeepsUnstoredBatches(t *testing.T) {
	cfg, _ := clusterPair(t, "pr", "shop1")
	slow := &slowWrites{release: make(chan struct{})}
	cfg.wrapStore = func(st store.Store) store.Store { slow.Store = st; return slow }
	a := startInstance(t, cfg)
	defer a.stop()
	eventually(t, "a runs the site", func() bool { return slices.Equal(a.srv.Running(), []string{"shop1"}) })

	slow.held.Store(true)
	want := publishEach(t, cfg, []string{"shop1"}, 20)
	r := a.srv.runner("shop1")
	eventually(t, "every batch taken", func() bool { return processed(r) == want })

	// The database stores the held batches half a second into the change.
	go func() { time.Sleep(500 * time.Millisecond); close(slow.release) }()
	putTillZone(t, a.srv, a.srv, "shop1")
	if n := processed(a.srv.runner("shop1")); n != want {
		t.Fatalf("after the site change the runner holds %d batches of the %d it took", n, want)
	}
}
