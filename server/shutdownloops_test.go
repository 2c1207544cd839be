package server

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passant/passant/store"
)

// healthInFlight is a store whose sensor-health write, once armed, is
// under way when the server shuts down: it returns when its context ends
// (as a database call does) but not before the shutdown has either closed
// the store or said that it waits for the housekeeping round; it records
// whether the store was closed under it.
type healthInFlight struct {
	store.Store
	logs     *logBuffer
	armed    atomic.Bool
	entered  chan struct{}
	done     chan struct{}
	closed   atomic.Bool
	closedIn atomic.Bool // Close came while the write was under way
}

func (h *healthInFlight) UpsertSensorHealth(ctx context.Context, hs []store.SensorHealth) error {
	if !h.armed.CompareAndSwap(true, false) {
		return h.Store.UpsertSensorHealth(ctx, hs)
	}
	close(h.entered)
	<-ctx.Done()
	for !h.closed.Load() && !strings.Contains(h.logs.String(), "waiting for the housekeeping and hours loops") {
		time.Sleep(time.Millisecond)
	}
	h.closedIn.Store(h.closed.Load())
	close(h.done)
	return ctx.Err()
}

func (h *healthInFlight) Close() error {
	h.closed.Store(true)
	return h.Store.Close()
}

// TestShutdownAwaitsHousekeeping shuts the server down while a
// housekeeping round is in the store: the store is closed only once the
// round is over. Before, shutdown did not await the housekeeping and hours
// loops: a round under way went on with a cancelled context and reached
// the store after Close.
func TestShutdownAwaitsHousekeeping(t *testing.T) {
	dir := t.TempDir()
	var logs logBuffer
	h := &healthInFlight{logs: &logs, entered: make(chan struct{}), done: make(chan struct{})}
	h.armed.Store(true)
	_, stop := startServer(t, Config{SiteFiles: []string{testSiteFile(t, dir, "shop")}, DataDir: dir,
		Log:            slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		housekeepEvery: 20 * time.Millisecond,
		wrapStore:      func(st store.Store) store.Store { h.Store = st; return h }})
	<-h.entered
	stop()
	<-h.done
	if h.closedIn.Load() {
		t.Fatal("the store was closed while a housekeeping round was still writing to it")
	}
	if !h.closed.Load() {
		t.Fatal("the store was not closed")
	}
}
