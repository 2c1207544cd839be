package demo

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

// TestDemoMapShowsTheAPIsFixes runs `passant demo` in-process and opens its
// live floor map in headless Chromium: within 15 s the map shows dots, they
// are the fixes the API reports, the fixes came in over MQTT through the
// embedded broker, and the dots move.
func TestDemoMapShowsTheAPIsFixes(t *testing.T) {
	tab := webtest.Browser(t) // skips without PASSANT_TEST_CHROMIUM
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startDemo(t, ctx, Config{DataDir: t.TempDir(), Seed: 3, Warmup: 10 * time.Minute, AlwaysOpen: true})
	site := "sim-small"

	start := time.Now()
	dots, err := webtest.LiveDots(tab, base, site, 3, 15*time.Second)
	if err != nil {
		webtest.Failed(t, tab, "live")
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
	t.Logf("%d dots on the map after %s", len(dots), time.Since(start).Round(time.Millisecond))
	webtest.Screenshot(t, tab, "live")

	// The map's dots are the API's fixes: where the map and the API hold the
	// same fix of a track (same t), they agree on the position; the map never
	// has a fix the API has not had. The shop plays its warm-up fast, so a
	// track's fix may move on between the two reads: try a few times.
	same := 0
	for try := 0; try < 20 && same == 0; try++ {
		var snap struct {
			Tracks []wire.Position `json:"tracks"`
		}
		getJSON(t, base+"/api/sites/"+site+"/live", &snap)
		api := map[string]wire.Position{}
		for _, p := range snap.Tracks {
			api[p.Track] = p
		}
		dots, err = webtest.MapDots(tab, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dots {
			p, ok := api[d.Track]
			if !ok || p.T != d.T {
				continue // a newer fix reached the map after the API was read
			}
			if math.Abs(p.X-d.X) > 0.001 || math.Abs(p.Y-d.Y) > 0.001 { // the stream carries millimetres
				t.Fatalf("track %s at t=%d: map (%.3f,%.3f), API (%.3f,%.3f)", d.Track, d.T, d.X, d.Y, p.X, p.Y)
			}
			same++
		}
		if same == 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if same == 0 {
		t.Fatalf("none of the %d dots matches the API's fixes exactly", len(dots))
	}
	t.Logf("%d dots match the API's fixes exactly", same)

	// The fixes came through the broker: the server counted MQTT batches.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "passant_batches_received_total") || strings.Contains(string(body), "passant_batches_received_total 0\n") {
		t.Fatalf("no batches came over MQTT:\n%s", body)
	}

	// The dots move: within a few more seconds some track has a newer fix.
	moved := false
	deadline := time.Now().Add(30 * time.Second)
	for !moved && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		later, err := webtest.MapDots(tab, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range later {
			for _, e := range dots {
				if d.Track == e.Track && d.T > e.T {
					moved = true
				}
			}
		}
	}
	if !moved {
		t.Fatal("no dot moved within 30 s")
	}
	webtest.Screenshot(t, tab, "live-later")
	cancel()
	if err := <-done; err != nil && err != context.Canceled {
		t.Fatal(err)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// startDemo runs the demo with cfg on free ports, logging nothing, until
// ctx ends, and returns its dashboard's URL once it serves and the channel
// that gets Run's error.
func startDemo(t *testing.T, ctx context.Context, cfg Config) (base string, done <-chan error) {
	t.Helper()
	cfg.HTTP, cfg.BrokerAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	urls, errs := make(chan string, 1), make(chan error, 1)
	cfg.Ready = func(u string) { urls <- u }
	go func() { errs <- Run(ctx, cfg) }()
	select {
	case base = <-urls:
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(60 * time.Second):
		t.Fatal("demo did not start")
	}
	return base, errs
}
