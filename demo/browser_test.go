package demo

// Browser tests of the dashboard against the real server: `passant demo`
// runs in-process (embedded broker, embedded store, the simulated shop
// publishing over MQTT) and headless Chromium drives the heatmap, the
// footfall view, the site editor and the calibration page. The web
// package's own browser tests run the same views against an in-memory fake
// backend; these show that the real server gives them what they need.
//
// Run: PASSANT_TEST_CHROMIUM=/usr/bin/chromium PASSANT_TEST_ARTIFACTS=/tmp/art \
//   go test -count=1 -run Browser ./demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

const site = "sim-small"

// shared is one demo for all the browser tests of this package: the shop's
// warm-up is what takes time, so it is played once. TestMain stops it.
var shared struct {
	once   sync.Once
	base   string
	err    error
	cancel context.CancelFunc
	done   chan error
	dir    string
	// started is when the demo was started: its warm-up starts after
	// started - sharedWarmup, once the history is through.
	started time.Time
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
		select {
		case <-shared.done:
		case <-time.After(10 * time.Second):
		}
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// The shared demo's history: the evenings of the last 4 days and the last
// 3 hours of today before the warm-up (history.go, today.go).
const (
	sharedHistory      = 4
	sharedHistoryHours = 3
	sharedWarmup       = 4 * time.Minute
)

// sharedDemo returns the base URL of the running demo, once the shop's
// history and warm-up have produced passers-by and visitors in today's
// report and a heatmap. It needs no browser (TestDemoHistory uses it too).
func sharedDemo(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "passant-demo-browser-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dir = dir
		ctx, cancel := context.WithCancel(context.Background())
		shared.cancel = cancel
		shared.done = make(chan error, 1)
		urls := make(chan string, 1)
		shared.started = time.Now()
		go func() {
			shared.done <- Run(ctx, Config{HTTP: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", DataDir: dir, Seed: 5,
				Warmup: sharedWarmup, History: sharedHistory, HistoryHours: sharedHistoryHours, AlwaysOpen: true,
				Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
				Ready: func(u string) { urls <- u }})
		}()
		select {
		case shared.base = <-urls:
		case err := <-shared.done:
			shared.err = fmt.Errorf("demo stopped: %v", err)
			return
		case <-time.After(60 * time.Second):
			shared.err = fmt.Errorf("demo did not start")
			return
		}
		// Wait until the history is through (the pipeline's event time is
		// past its end, where the warm-up begins: people in today's report
		// alone came from the history's first minutes) and the warm-up has
		// put people in the report and the heatmap.
		start, seam := time.Now(), shared.started.Add(-sharedWarmup)
		for time.Since(start) < 120*time.Second {
			var rep wire.Report
			var hm struct {
				Max float64 `json:"max"`
			}
			if lag, ok := lagSeconds(shared.base); ok && lag < time.Since(seam).Seconds() &&
				get(shared.base+"/api/sites/"+site+"/report", &rep) == nil && rep.Totals.Passersby > 0 && rep.Totals.Visitors > 0 &&
				get(shared.base+"/api/sites/"+site+"/heatmap", &hm) == nil && hm.Max > 0 {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		shared.err = fmt.Errorf("after 120 s (history and warm-up) the demo's report has no passers-by or visitors, or its heatmap is empty")
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.base
}

// lagSeconds reads the demo site's passant_lag_seconds (wall clock minus
// the event time its pipeline has processed) from /metrics.
func lagSeconds(base string) (float64, bool) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, false
	}
	prefix := `passant_lag_seconds{site="` + site + `"} `
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// get GETs a JSON endpoint.
func get(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(b))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func timeout(t *testing.T, ctx context.Context, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(ctx, d)
	t.Cleanup(cancel)
	return c
}
