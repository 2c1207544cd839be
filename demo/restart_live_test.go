package demo

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/web"
)

// TestRestartWarmupAfterTheLastRun: a demo started again on its data
// plays its warm-up from where the last run's event time stopped, not
// again over minutes the server has processed. Before, the warm-up began
// at now − 10 min whatever the last run had sent, so after a restart the
// sensors' first minutes came late: not located live, and counted in each
// sensor's "rejected" on the Sensors page (hundreds an afternoon, 70 at
// night in the tour of 2026-12-06).
func TestRestartWarmupAfterTheLastRun(t *testing.T) {
	dir := t.TempDir()
	// run runs the demo on dir until its sensors have sent n batches (at
	// most 3 min: a wait, not a measure of speed; on a loaded machine the
	// first run's 80 took over 60 s).
	run := func(n float64) (late int64, sensors []web.SensorHealth) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		base, done := startDemo(t, ctx, Config{DataDir: dir, Seed: 13, Warmup: 2 * time.Minute, AlwaysOpen: true})
		const wait = 3 * time.Minute
		for start := time.Now(); time.Since(start) < wait; time.Sleep(500 * time.Millisecond) {
			if got, _ := metric(base, "passant_batches_received_total"); got >= n {
				break
			}
		}
		if got, _ := metric(base, "passant_batches_received_total"); got < n {
			t.Fatalf("the sensors sent %.0f batches in %s, want %.0f", got, wait, n)
		}
		l, ok := metric(base, `passant_observations_late_total{site="`+site+`"}`)
		if !ok {
			t.Fatal("no passant_observations_late_total for the site")
		}
		if err := get(base+"/api/sites/"+site+"/sensors", &sensors); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; err != nil && err != context.Canceled {
			t.Fatal(err)
		}
		return int64(l), sensors
	}
	// The first run plays its 2 min warm-up in 13 s, then runs live; the
	// second starts a few seconds after its stop.
	if late, _ := run(80); late != 0 {
		t.Fatalf("first run: %d observations late", late)
	}
	time.Sleep(3 * time.Second)
	late, sensors := run(8) // the restarted shop starts empty: a few batches a minute at first
	rejected := 0
	for _, s := range sensors {
		rejected += int(s.Rejected)
	}
	if late != 0 || rejected != 0 {
		t.Fatalf("after the restart: %d observations late, %d rejected on the sensors' page; want none", late, rejected)
	}
}

// metric reads one line of the demo's /metrics, by its name and labels.
func metric(base, name string) (float64, bool) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}
