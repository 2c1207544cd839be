package calibration

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestSelfRefitIgnoresClockAhead: self-calibration refits every hour of
// event time, catching up hour by hour; the server feeds it every accepted
// batch under the site runner's lock, before the pipeline's clock checks.
// One observation from a sensor whose clock is a year ahead (accepted: the
// contract bounds t only below) made it refit 8,760 times there and then,
// each hour's snapshot kept, and then refit nothing for a year; a clock
// at 2100 held the runner for good. Times far ahead of the service's
// clock no longer drive the refits.
func TestSelfRefitIgnoresClockAhead(t *testing.T) {
	w, svc, anchors, clock := newSelfClock()
	rng := rand.New(rand.NewPCG(8, 9))
	ls := linkShadows(rng, len(anchors), 2)
	*clock = selfT0 + 3*3600_000
	selfShop(w, svc, rng, anchors, ls, selfT0, 0, 3, func(int, int) float64 { return 0 })
	before := len(svc.SelfFitter("sim").History())
	if before == 0 {
		t.Fatal("no refit in 3 hours")
	}
	year := int64(365 * 24 * 3600_000)
	svc.Observe("sim", &wire.Batch{V: 1, Sensor: "s1", Obs: []wire.Observation{{T: *clock + year, Dev: anchors[1].Dev, RSSI: -60, Seq: -1}}})
	if n := len(svc.SelfFitter("sim").History()); n > before+1 {
		t.Fatalf("a batch a year ahead made %d refits", n-before)
	}
	// Time goes on: the hourly refits go on.
	*clock = selfT0 + 6*3600_000
	selfShop(w, svc, rng, anchors, ls, selfT0, 3, 6, func(int, int) float64 { return 0 })
	if n := len(svc.SelfFitter("sim").History()); n < before+3 {
		t.Errorf("%d refits in the 3 hours after the batch ahead, want 3", n-before)
	}
}

// TestSelfHistoryBounded: the live service keeps a refit snapshot every
// hour; the history grew for as long as the server ran (about 1 kB an
// hour for six sensors), and every poll of the drift endpoint copied and
// sent all of it (a year: some 15 MB per poll). It keeps the last
// SelfHistory now; the drift is still measured from the first fit.
func TestSelfHistoryBounded(t *testing.T) {
	_, svc, anchors, clock := newSelfClock()
	hours := SelfHistory + 200
	for h := range int64(hours) {
		*clock = selfT0 + h*3600_000
		rssi := -60.0
		if h >= int64(hours)-10 {
			rssi = -64 // s1 hears s2 4 dB weaker at the end
		}
		svc.Observe("sim", &wire.Batch{V: 1, Sensor: "s1", Obs: []wire.Observation{{T: *clock, Dev: anchors[1].Dev, RSSI: rssi, Seq: -1}}})
	}
	f := svc.SelfFitter("sim")
	if n := len(f.History()); n > SelfHistory {
		t.Errorf("%d snapshots after %d hours, want at most %d", n, hours, SelfHistory)
	}
	if d := f.Drift()["s1"]; d > -1 {
		t.Errorf("s1's drift %.2f dB since the first fit, want about -4", d)
	}
}

const selfT0 = 1764806400000

// newSelfClock returns a service self-calibrating the world's site by
// hourly windows, with the world's sensors as anchors, on a clock (Unix
// ms, from selfT0) that the test moves.
func newSelfClock() (*world, *Service, []Anchor, *int64) {
	w := newWorld()
	svc := NewService(&memSites{versions: []*wire.Site{cloneSite(w.site)}})
	svc.SelfWindow = 3600_000
	clock := new(int64(selfT0))
	svc.Now = func() time.Time { return time.UnixMilli(*clock) }
	anchors := sensorAnchors(w.site, 0xa0)
	svc.SetAnchors("sim", anchors)
	return w, svc, anchors, clock
}
