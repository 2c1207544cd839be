package server

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/store"
)

// failingScan is a store whose ScanBatches fails after a number of
// batches while armed: the database going away in the middle of a
// re-processing.
type failingScan struct {
	store.Store
	armed atomic.Bool
	after int
}

var errScanCut = errors.New("test: the database went away during the scan")

func (f *failingScan) ScanBatches(ctx context.Context, site string, from, to int64, fn func(*store.RawBatch) error) error {
	if !f.armed.Load() {
		return f.Store.ScanBatches(ctx, site, from, to, fn)
	}
	n := 0
	return f.Store.ScanBatches(ctx, site, from, to, func(b *store.RawBatch) error {
		if n++; n > f.after {
			return errScanCut
		}
		return fn(b)
	})
}

// TestReprocessFailureKeepsLiveState re-processes today while the site runs
// and the database fails half-way through the scan of the stored batches:
// the re-processing reports the failure, and the live pipeline holds what
// it held before (the same track days and visits), not the half it had
// read again. Before, the runner kept the half-rebuilt pipeline: today's
// visits and dwell in memory were cut at the failure, and the writer then
// stored those truncated summaries over the right ones.
func TestReprocessFailureKeepsLiveState(t *testing.T) {
	skipNearMidnight(t)
	fs := &failingScan{}
	shop := simtest.Shop(t, "small", sim.Config{Seed: 5, ShoppersPerHour: 120, PassersPerHour: 400})
	site := shop.Site()
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir,
		wrapStore: func(st store.Store) store.Store { fs.Store = st; return fs }})
	defer stop()
	sent := publishShop(t, srv, shop, time.Now().Add(-40*time.Minute), time.Now())
	eventually(t, "every batch accepted", func() bool { return srv.sub.C.Accepted.Load() == int64(sent) })
	r := srv.runner(site.Site)
	eventually(t, "every batch processed", func() bool { return processed(r) == int64(sent) })
	ctx := context.Background()
	if err := srv.SyncJournal(); err != nil {
		t.Fatal(err)
	}
	srv.writer.drain(ctx)
	days0, visits0 := summariesSorted(r)
	if len(visits0) == 0 {
		t.Fatal("no visits in 40 simulated minutes")
	}
	fs.after = sent / 2
	fs.armed.Store(true)
	now := time.Now()
	_, err := srv.Reprocess(ctx, site.Site, now.Add(-2*time.Hour).UnixMilli(), now.Add(time.Hour).UnixMilli())
	fs.armed.Store(false)
	if !errors.Is(err, errScanCut) {
		t.Fatalf("re-processing with the scan cut half-way: err %v, want the scan's", err)
	}
	days1, visits1 := summariesSorted(r)
	sameDays := slices.EqualFunc(days0, days1, func(a, b footfall.TrackDay) bool { return a == b })
	sameVisits := slices.EqualFunc(visits0, visits1, func(a, b footfall.Visit) bool { return a == b })
	if !sameDays || !sameVisits {
		t.Fatalf("after the failed re-processing the runner holds %d track days and %d visits (before: %d and %d, equal: %v, %v)",
			len(days1), len(visits1), len(days0), len(visits0), sameDays, sameVisits)
	}
}

// summariesSorted returns the runner's track days and visits in a fixed
// order.
func summariesSorted(r *siteRunner) ([]footfall.TrackDay, []footfall.Visit) {
	d, v := r.summaries()
	return mergeSummaries(nil, nil, d, v)
}
