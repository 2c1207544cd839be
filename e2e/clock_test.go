package e2e

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/passant/passant/server"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// skewItems moves the clock of sensor in the items by shift(k) for its k-th batch.
func skewItems(items []Item, sensor string, shift func(k int) int64) []Item {
	out := make([]Item, len(items))
	k := 0
	for i, it := range items {
		out[i] = it
		if it.Sensor != sensor {
			continue
		}
		b := *it.Batch
		d := shift(k)
		k++
		b.Sent += d
		b.Obs = append([]wire.Observation(nil), it.Batch.Obs...)
		for j := range b.Obs {
			b.Obs[j].T += d
		}
		out[i] = Item{Sensor: sensor, Batch: &b, Payload: wire.AppendBatch(nil, &b)}
	}
	return out
}

// TestClockFaultsShownInSensorsView sends a shop whose sensor s2 runs ten
// minutes ahead and whose s3 jumps at random: the sensors view shows s2
// corrected by ten minutes, s3 quarantined and the others ok (or corrected
// by the fine alignment, within a second).
func TestClockFaultsShownInSensorsView(t *testing.T) {
	rec := Record(t, "small", busy(61), simFrom, 5*time.Minute)
	rng := rand.New(rand.NewPCG(3, 4))
	items := skewItems(rec.Items, "s2", func(int) int64 { return 600_000 })
	items = skewItems(items, "s3", func(int) int64 { return rng.Int64N(1200_000) - 600_000 })
	site := rec.Site.Site
	srv := StartServer(t, server.Config{SiteFiles: []string{rec.WriteSite(t, t.TempDir())}})
	pub := NewPublisher(t, srv.Broker, "e2e-sensors")
	if err := pub.Send(context.Background(), site, items, 16); err != nil {
		t.Fatal(err)
	}
	srv.WaitBatches(t, site, int64(len(items)), time.Minute)
	var hs []web.SensorHealth
	GetJSON(t, "http://"+srv.HTTP+"/api/sites/"+site+"/sensors", &hs)
	want := map[string]string{"s1": "ok", "s2": "corrected", "s3": "quarantined", "s4": "ok"}
	for _, h := range hs {
		fine := (h.ID == "s1" || h.ID == "s4") && h.Clock == "corrected" && math.Abs(h.ClockOffsetMs) < 1000
		if h.Clock != want[h.ID] && !fine {
			t.Errorf("sensor %s: clock %q, want %q (offset %.0f ms)", h.ID, h.Clock, want[h.ID], h.ClockOffsetMs)
		}
		if h.ID == "s2" && math.Abs(h.ClockOffsetMs-600_000) > 1000 {
			t.Errorf("s2 offset %.0f ms, want 600000 ± 1000", h.ClockOffsetMs)
		}
		t.Logf("%s: clock %s, offset %.0f ms", h.ID, h.Clock, h.ClockOffsetMs)
	}
	if got := srv.Metric("passant_fixes_total"); got == 0 {
		t.Error("no positions with two good clocks and one corrected")
	}
}
