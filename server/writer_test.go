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
)

// A track merged into another leaves no summaries in the store: neither
// those written before the merge nor those of a snapshot taken before it
// and handed over after.
func TestWriterMergedTrack(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Skip(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
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
	w.merged("s", "k-b", t0+90_000, t0+120_000)
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
