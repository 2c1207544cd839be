package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// TestJournalTailLeavesForgotten: a cluster instance killed after an
// erasure (Server.Forget) left its journal's open files with the person's
// observations, their erasure pending (forget-pending.json). At its next
// start it stores the journal's unstored tail (storeJournalTails): the
// person's observations must not be stored back from it.
func TestJournalTailLeavesForgotten(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	dataDir := t.TempDir()
	jdir := filepath.Join(dataDir, "journal")
	const gone, kept = wire.Dev(0x1111), wire.Dev(0x2222)
	j, err := ingest.OpenJournal(jdir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour).UnixMilli()
	for id := int64(1); id <= 3; id++ {
		b := wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: id, Sent: t0 + id}
		for _, d := range []wire.Dev{gone, kept} {
			b.Obs = append(b.Obs, wire.Observation{T: t0 + id, Dev: d, RSSI: -60, Kind: "probe"})
		}
		if err := j.Append("s", t0+id, &b); err != nil {
			t.Fatal(err)
		}
	}
	// The erasure, with the file open: pending.
	if _, _, left, err := ingest.ForgetPending(jdir, "s", []wire.Dev{gone}, func(string) bool { return true }); err != nil || len(left) == 0 {
		t.Fatalf("want the erasure pending: %v %v", left, err)
	}
	j.Close() // the instance killed

	j, err = ingest.OpenJournal(jdir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := newWriter(st, 0, log)
	w.dir, w.journal = jdir, j
	s := &Server{cfg: Config{DataDir: dataDir, Cluster: true}, store: st, journal: j, writer: w, log: log}
	if err := s.storeJournalTails(ctx); err != nil {
		t.Fatal(err)
	}
	n := map[wire.Dev]int{}
	err = st.ScanBatches(ctx, "s", 0, t0+3600_000, func(b *store.RawBatch) error {
		for _, o := range b.Batch.Obs {
			n[o.Dev]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n[kept] != 3 {
		t.Fatalf("the tail stored %d observations of the person kept, want 3", n[kept])
	}
	if n[gone] != 0 {
		t.Errorf("the tail stored %d observations of the person erased", n[gone])
	}
}
