package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

// BenchmarkWriterRefill stores a gap of 20,000 journaled batches of 8
// observations (the demo shop's batches; 160,000 observations, about
// three hours of the demo's shop or two minutes of a server with 100 of
// them) from the journal: the time the writer takes to store the write
// buffer's overflow once the database is back.
func BenchmarkWriterRefill(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var st *store.DB
			if backend == "sqlite" {
				st = storetest.OpenSQLite(b)
			} else {
				st = storetest.OpenPostgres(b)
			}
			benchRefill(b, st)
		})
	}
}

func benchRefill(b *testing.B, st store.Store) {
	const batches, per = 20_000, 8
	dir := b.TempDir()
	j, err := ingest.OpenJournal(dir, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	t0 := time.Now().Add(-time.Hour).UnixMilli()
	recvs := make([]int64, batches)
	for i := range batches {
		bt := wire.Batch{V: 1, Sensor: "s" + string(rune('1'+i%4)), Boot: 1, ID: int64(i/4 + 1), Sent: t0 + int64(i)*100}
		for k := range per {
			bt.Obs = append(bt.Obs, wire.Observation{T: bt.Sent - int64(k), Dev: wire.Dev(i*per + k), RSSI: -60 - float64(k),
				Ch: 6, Kind: "probe", Seq: k, FP: "fp"})
		}
		recvs[i] = t0 + int64(i)*100
		if _, err := j.AppendAsync("s", recvs[i], &bt); err != nil {
			b.Fatal(err)
		}
	}
	if err := j.Sync(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for b.Loop() {
		// Each round writes into a store without the round before's rows:
		// the deletion in place of a lost write finds nothing, as usual.
		b.StopTimer()
		if _, err := st.DeleteObservationsBefore(ctx, 1<<62); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		w := newWriter(st, 1, log)
		w.dir, w.journal = dir, j
		w.gaps["s"] = &gap{recvs: append([]int64(nil), recvs...),
			from: ingest.Pos{Day: time.UnixMilli(t0).UTC().Format(time.DateOnly)}, opened: time.Now()}
		if err := w.refill(ctx, time.Time{}); err != nil {
			b.Fatal(err)
		}
		if w.fromJournal.Load() != batches*per {
			b.Fatalf("%d observations stored from the journal, want %d", w.fromJournal.Load(), batches*per)
		}
	}
	b.ReportMetric(float64(b.N*batches*per)/b.Elapsed().Seconds(), "obs/s")
	b.ReportMetric(float64(b.N*batches)/b.Elapsed().Seconds(), "batches/s")
}
