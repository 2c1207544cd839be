package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// mergeStore holds a flush in WritePositions until released (when hold is
// set) and fails RenameTrack the first fail times.
type mergeStore struct {
	store.Store
	hold             bool
	entered, release chan struct{}
	fail             int
}

func (m *mergeStore) WritePositions(ctx context.Context, site string, ps []wire.Position) error {
	if m.hold {
		m.hold = false
		m.entered <- struct{}{}
		<-m.release
	}
	return m.Store.WritePositions(ctx, site, ps)
}

func (m *mergeStore) RenameTrack(ctx context.Context, site, from, to string, since, until int64) error {
	if m.fail > 0 {
		m.fail--
		return errors.New("database away")
	}
	return m.Store.RenameTrack(ctx, site, from, to, since, until)
}

// A track merged into another leaves no fix under its name within the
// merge's span: not the stored ones, not those queued, not those a flush
// in flight writes as the merge happens, and not after a failed rename; a
// later track of the same name (after the span) keeps it.
func TestWriterMergedTrackFixes(t *testing.T) {
	ctx := context.Background()
	st := &mergeStore{Store: sqliteStore(t), entered: make(chan struct{}), release: make(chan struct{}), fail: 1}
	w := newWriter(st, 1000, slog.New(slog.NewTextHandler(io.Discard, nil)))
	const t0 = 1_796_374_800_000
	fix := func(track string, dt int64) wire.Position {
		return wire.Position{T: t0 + dt, Track: track, Dev: 7, Zone: "store", N: 3}
	}
	w.positions("s", []wire.Position{fix("k-a", 0), fix("k-b", 90_000)})
	if err := w.flush(ctx); err != nil { // stored
		t.Fatal(err)
	}
	w.positions("s", []wire.Position{fix("k-b", 100_000)})
	st.hold = true
	done := make(chan error, 1)
	go func() { done <- w.flush(ctx) }() // in flight
	<-st.entered
	w.positions("s", []wire.Position{fix("k-b", 105_000)}) // queued
	w.merged("s", "k-b", "k-a", t0+90_000, t0+120_000)
	w.positions("s", []wire.Position{fix("k-b", 200_000)}) // a later k-b
	close(st.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.flush(ctx); err == nil { // the rename fails: kept
		t.Fatal("the failing rename did not fail the flush")
	}
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	ps, err := st.Positions(ctx, "s", 0, t0+3_600_000)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Track)
	}
	if strings.Join(got, " ") != "k-a k-a k-a k-a k-b" {
		t.Fatalf("stored fixes of %v, want k-a k-a k-a k-a k-b", got)
	}
}
