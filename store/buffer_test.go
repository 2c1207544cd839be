package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

// TestBufferOutage cuts the connection to PostgreSQL while the pipeline
// writes; the buffer keeps the writes and delivers every row when the
// database is back.
func TestBufferOutage(t *testing.T) {
	u := storetest.PostgresURL(t)
	direct, err := store.Open(context.Background(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	ctx := context.Background()
	if err := direct.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	px := storetest.StartProxy(t, pu.Host)
	pu.Host = px.Addr
	q := pu.Query()
	q.Set("connect_timeout", "2")
	pu.RawQuery = q.Encode()
	via, err := store.Open(ctx, pu.String(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer via.Close()

	buf := store.NewBuffer(via, 1_000_000, slog.New(slog.DiscardHandler))
	buf.MaxBackoff = 200 * time.Millisecond
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- buf.Run(runCtx) }()

	before := storetest.Batches(1, "demo", 20, 50, 40, storetest.Day0)
	buf.WriteBatches(before)
	flushCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := buf.Flush(flushCtx); err != nil {
		t.Fatal(err)
	}

	px.Cut()
	during := storetest.Batches(2, "demo", 30, 50, 40, storetest.Day0+3600_000)
	for i := range during {
		if !buf.WriteBatches(during[i : i+1]) {
			t.Fatal("buffer full")
		}
	}
	buf.WritePositions("demo", []wire.Position{{T: storetest.Day0 + 5, Track: "k1", X: 1, Y: 2}})
	buf.WriteVisits([]footfall.Visit{{Site: "demo", Track: "k1", Zone: "store", Start: storetest.Day0, End: storetest.Day0 + 90_000}})
	// Wait until the buffer has noticed the outage.
	for !buf.Stats().Down {
		if err := flushCtx.Err(); err != nil {
			t.Fatal("the outage was not noticed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n, _ := direct.CountObservations(ctx, "demo", storetest.Day0+3600_000, storetest.Day0+7200_000); n != 0 {
		t.Fatalf("%d observations written through a cut connection", n)
	}
	st := buf.Stats()
	if st.Pending != 30*50+2 || st.Retries == 0 {
		t.Fatalf("during the outage: %+v", st)
	}

	px.Restore()
	if err := buf.Flush(flushCtx); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done
	st = buf.Stats()
	if st.Down || st.Pending != 0 || st.Written != 50*50+2 || st.Failed != 0 || st.Dropped != 0 {
		t.Fatalf("after the outage: %+v", st)
	}
	if n, _ := direct.CountObservations(ctx, "demo", 0, storetest.Day0+dayMs); n != 50*50 {
		t.Fatalf("%d observations stored, want %d", n, 50*50)
	}
	var got []store.RawBatch
	direct.ScanBatches(ctx, "demo", storetest.Day0+3600_000, storetest.Day0+dayMs, func(b *store.RawBatch) error {
		c := *b
		c.Batch.Obs = append([]wire.Observation(nil), b.Batch.Obs...)
		got = append(got, c)
		return nil
	})
	if fmt.Sprint(got) != fmt.Sprint(during) {
		t.Fatal("the batches written after the outage differ from those given")
	}
	if vs, _ := direct.Visits(ctx, "demo", 0, storetest.Day0+dayMs); len(vs) != 1 {
		t.Fatalf("visits %v", vs)
	}
}

const dayMs = 24 * 3600 * 1000

func TestBufferFullAndBadData(t *testing.T) {
	s := storetest.OpenSQLite(t)
	ctx := context.Background()
	buf := store.NewBuffer(s, 100, slog.New(slog.DiscardHandler))
	bs := storetest.Batches(1, "demo", 3, 40, 10, storetest.Day0)
	if !buf.WriteBatches(bs[:1]) || !buf.WriteBatches(bs[1:2]) {
		t.Fatal("refused below the bound")
	}
	if buf.WriteBatches(bs[2:]) {
		t.Fatal("accepted beyond the bound")
	}
	if st := buf.Stats(); st.Pending != 80 || st.Dropped != 40 {
		t.Fatalf("stats %+v", st)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- buf.Run(runCtx) }()
	if err := buf.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done
	if n, _ := s.CountObservations(ctx, "demo", 0, storetest.Day0+dayMs); n != 80 {
		t.Fatalf("%d stored", n)
	}

	// A store without a schema fails for good: counted, dropped, not retried.
	bare := storetest.OpenSQLiteBare(t)
	buf = store.NewBuffer(bare, 1000, slog.New(slog.DiscardHandler))
	buf.WriteBatches(bs[:1])
	buf.WriteBatches(bs[1:2])
	if err := buf.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if st := buf.Stats(); st.Failed != 80 || st.Pending != 0 || st.Retries != 0 || st.LastError == "" {
		t.Fatalf("stats %+v", st)
	}
}

func TestTransient(t *testing.T) {
	s := storetest.OpenSQLiteBare(t)
	_, err := s.ListSites(context.Background())
	if err == nil || store.Transient(err) {
		t.Fatalf("a missing table is not transient: %v", err)
	}
	if store.Transient(context.Canceled) || store.Transient(nil) {
		t.Fatal("canceled or nil")
	}
	if !store.Transient(&net.OpError{Op: "dial", Err: errors.New("connection refused")}) {
		t.Fatal("a refused connection is transient")
	}
}
