package server

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passant/passant/store"
)

// slowScan is a store whose scans of stored batches take a while when
// armed: an instance rebuilding sites it takes over from a day and a half
// of a busy shop's observations.
type slowScan struct {
	store.Store
	armed atomic.Bool
	delay time.Duration
}

func (s *slowScan) ScanBatches(ctx context.Context, site string, from, to int64, fn func(*store.RawBatch) error) error {
	if s.armed.Load() {
		time.Sleep(s.delay)
	}
	return s.Store.ScanBatches(ctx, site, from, to, fn)
}

// TestClusterTakeOverKeepsLeases: an instance that takes over the sites of
// one that died rebuilds each from storage, which takes time; meanwhile the
// leases it holds (its own sites', the new ones', its heartbeat) must not
// lapse, or a third instance could take them and two would run one site.
// Before, balance renewed them once, then rebuilt the sites one after the
// other: with two rebuilds of a second each and leases of 1.5 s, they
// lapsed for half a second each round.
func TestClusterTakeOverKeepsLeases(t *testing.T) {
	ca, cb := clusterPair(t, "pk")
	a := startInstance(t, ca)
	slow := &slowScan{delay: time.Second}
	cb.wrapStore = func(st store.Store) store.Store { slow.Store = st; return slow }
	b := startInstance(t, cb)
	defer b.stop()
	eventually(t, "the sites shared two and two", func() bool {
		return len(a.srv.Running()) == 2 && len(b.srv.Running()) == 2
	})
	ctx := context.Background()
	st, err := store.Open(ctx, ca.DB, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// a freezes and goes; b takes its two sites, a second's rebuild each.
	slow.armed.Store(true)
	a.srv.leasePaused.Store(true)
	a.stop()
	deadline := time.Now().Add(20 * time.Second)
	for len(b.srv.Running()) < 4 || time.Now().Before(deadline.Add(-15*time.Second)) {
		if time.Now().After(deadline) {
			t.Fatalf("b runs %v", b.srv.Running())
		}
		ls, err := st.ListLeases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UnixMilli()
		for _, l := range ls {
			if l.Owner == "b" && l.Expires < now-100 {
				t.Fatalf("b's lease of %s lapsed %d ms ago while it took a's sites over", l.Site, now-l.Expires)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := b.srv.Running(); !slices.Equal(got, []string{"shop1", "shop2", "shop3", "shop4"}) {
		t.Fatalf("b runs %v", got)
	}
}
