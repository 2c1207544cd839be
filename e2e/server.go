package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/passant/passant/server"
	"github.com/passant/passant/wire"
)

// LogBuffer collects a server's log lines (for the privacy scan and for
// failures).
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything logged so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Running is a server run in-process.
type Running struct {
	*server.Server
	HTTP   string // host:port
	Broker string // tcp:// URL
	Logs   *LogBuffer

	cancel context.CancelFunc
	done   chan error
}

// StartServer runs a server in-process on free ports of 127.0.0.1 (an
// embedded broker unless cfg.MQTT is set) and waits until it is ready.
func StartServer(t testing.TB, cfg server.Config) *Running {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.HTTP = "127.0.0.1:0"
	if cfg.MQTT == "" {
		cfg.BrokerAddr = "127.0.0.1:0"
	}
	if cfg.ClientID == "" {
		cfg.ClientID = fmt.Sprintf("passant-e2e-%d", time.Now().UnixNano())
	}
	logs := &LogBuffer{}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r := &Running{Logs: logs, done: make(chan error, 1)}
	ready := make(chan struct{})
	cfg.Ready = func(h, b string) { r.HTTP, r.Broker = h, b; close(ready) }
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.Server = srv
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- srv.Run(ctx) }()
	select {
	case <-ready:
	case err := <-r.done:
		cancel()
		t.Fatalf("server did not start: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("server not ready after 60 s\n%s", logs.String())
	}
	t.Cleanup(r.Stop)
	return r
}

// Stop shuts the server down in order and waits for it.
func (r *Running) Stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.cancel = nil
}

// Batches returns the batches the site's pipeline took (redeliveries not
// counted) and the redeliveries it dropped.
func (r *Running) Batches(t testing.TB, site string) (batches, dupes int64) {
	t.Helper()
	hs, err := r.Sensors(context.Background(), site)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		batches += h.Batches
	}
	return batches, 0
}

// WaitBatches waits until the site's pipeline has taken n batches.
func (r *Running) WaitBatches(t testing.TB, site string, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, _ := r.Batches(t, site)
		if got >= n {
			if got > n {
				t.Fatalf("site %s: pipeline took %d batches, more than the %d sent", site, got, n)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("site %s: pipeline took %d of %d batches within %s", site, got, n, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Metric returns the value of a metric (summed over labels).
func (r *Running) Metric(name string) float64 {
	var v float64
	for _, m := range r.Metrics() {
		if m.Name == name {
			v += m.Value
		}
	}
	return v
}

// WaitMetric waits until a metric reaches at least v.
func (r *Running) WaitMetric(t testing.TB, name string, v float64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for r.Metric(name) < v {
		if time.Now().After(deadline) {
			t.Fatalf("metric %s = %g, want ≥ %g within %s", name, r.Metric(name), v, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// DayReport returns the server's report for the local day of t.
func (r *Running) DayReport(t testing.TB, site *wire.Site, at time.Time) *wire.Report {
	t.Helper()
	from, to := Day(site, at)
	rep, err := r.Report(context.Background(), site.Site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Day returns the local day of site around at, as Unix ms [from, to).
func Day(site *wire.Site, at time.Time) (from, to int64) {
	loc := site.Location()
	l := at.In(loc)
	d0 := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	return d0.UnixMilli(), d0.AddDate(0, 0, 1).UnixMilli()
}

// GetJSON fetches url into v.
func GetJSON(t testing.TB, url string, v any) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return body
}

// SameJSON fails the test unless a and b marshal to the same JSON.
func SameJSON(t testing.TB, what string, a, b any) {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("%s differ:\n got  %s\n want %s", what, ja, jb)
	}
}
