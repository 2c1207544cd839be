package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// A track merged into another leaves no summaries in the store: neither
// those written before the merge nor those of a snapshot taken before it
// and handed over after.
func TestWriterMergedTrack(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	w := newWriter(st, 1000, slog.New(slog.NewTextHandler(io.Discard, nil)))
	const t0 = 1_796_374_800_000
	days := []footfall.TrackDay{{Site: "s", Day: "2026-12-04", Track: "k-a", First: t0, Last: t0 + 60_000, Fixes: 3},
		{Site: "s", Day: "2026-12-04", Track: "k-b", First: t0 + 90_000, Last: t0 + 120_000, Fixes: 2}}
	visits := []footfall.Visit{{Site: "s", Track: "k-a", Zone: "store", Start: t0, End: t0 + 60_000, Fixes: 3},
		{Site: "s", Track: "k-b", Zone: "store", Start: t0 + 90_000, End: t0 + 120_000, Fixes: 2}}
	w.summaries(days, visits)
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	w.merged("s", "k-b", "k-a", t0+90_000, t0+120_000)
	// Before the deletion is written, a report leaves k-b out.
	if d, v := w.withoutMerged("s", slices.Clone(days), slices.Clone(visits)); len(d) != 1 || len(v) != 1 || d[0].Track != "k-a" {
		t.Errorf("without merged: %+v, %+v", d, v)
	}
	w.summaries(days, visits) // a snapshot from before the merge
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := st.TrackDays(ctx, "s", 0, t0+3_600_000)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := st.Visits(ctx, "s", 0, t0+3_600_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Track != "k-a" || len(vs) != 1 || vs[0].Track != "k-a" {
		t.Errorf("stored track days %+v, visits %+v; want k-a's only", ds, vs)
	}
}

// blockingStore holds a flush in WriteBatches until released.
type blockingStore struct {
	store.Store
	entered, release chan struct{}
}

func (b *blockingStore) WriteBatches(ctx context.Context, bs []store.RawBatch) error {
	b.entered <- struct{}{}
	<-b.release
	return b.Store.WriteBatches(ctx, bs)
}

// While a flush writes a large backlog of observations, the summaries it
// took are neither queued nor stored: unstored still gives them (a report
// adds them; the runner may have pruned them from memory), the queued ones
// over them, and none once written.
func TestWriterUnstoredDuringFlush(t *testing.T) {
	ctx := context.Background()
	st := &blockingStore{Store: sqliteStore(t), entered: make(chan struct{}), release: make(chan struct{})}
	w := newWriter(st, 1000, slog.New(slog.NewTextHandler(io.Discard, nil)))
	const t0 = 1_796_374_800_000
	day := footfall.TrackDay{Site: "s", Day: "2026-12-04", Track: "k1", First: t0, Last: t0 + 60_000, Fixes: 3}
	visit := footfall.Visit{Site: "s", Track: "k1", Zone: "store", Start: t0, End: t0 + 60_000, Fixes: 3}
	w.batch(store.RawBatch{Site: "s", Recv: t0, Batch: wire.Batch{V: 1, Sensor: "s1", Sent: t0,
		Obs: []wire.Observation{{T: t0, Dev: 1, RSSI: -60}}}})
	w.summaries([]footfall.TrackDay{day}, []footfall.Visit{visit})
	done := make(chan error, 1)
	go func() { done <- w.flush(ctx) }()
	<-st.entered
	later := day
	later.Last, later.Fixes = t0+90_000, 4
	w.summaries([]footfall.TrackDay{later}, nil) // queued while the flush runs
	d, v, n0 := w.unstored("s")
	if len(d) != 1 || d[0] != later || len(v) != 1 || v[0] != visit {
		t.Errorf("during the flush: unstored %+v, %+v; want the queued day and the visit being written", d, v)
	}
	if d, v, _ := w.unstored("other"); len(d)+len(v) != 0 {
		t.Errorf("another site's unstored: %+v, %+v", d, v)
	}
	close(st.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d, v, n1 := w.unstored("s"); len(d) != 1 || d[0] != later || len(v) != 0 || n1 <= n0 || w.storeCount() != n1 {
		t.Errorf("after the flush: unstored %+v, %+v, stores %d (during it %d); want the queued day only, the store count risen", d, v, n1, n0)
	}
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if d, v, _ := w.unstored("s"); len(d)+len(v) != 0 {
		t.Errorf("all written: unstored %+v, %+v", d, v)
	}
}

// sqliteStore opens a migrated embedded store for the test (it skips when
// the build has none).
func sqliteStore(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}
