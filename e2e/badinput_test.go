package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/broker"
	"github.com/passant/passant/ingest"
	"github.com/passant/passant/server"
	"github.com/passant/passant/wire"
)

// TestBadInputOverMQTT sends every kind of bad message the contract names
// between good batches: each is rejected, dropped or de-duplicated, counted
// in /metrics and logged without the identifiers it carried, and the good
// batches around them are all taken and stored exactly once.
func TestBadInputOverMQTT(t *testing.T) {
	rec := Record(t, "small", busy(5), simFrom, 3*time.Minute)
	site := rec.Site.Site
	dir := t.TempDir()
	srv := StartServer(t, server.Config{DataDir: dir, SiteFiles: []string{rec.WriteSite(t, t.TempDir())}})
	pub := NewPublisher(t, srv.Broker, "e2e-bad")
	ctx := context.Background()
	s1 := rec.Site.Sensors[0].ID
	topic := func(site, sensor string) string { return wire.Topic("passant", site, sensor, "obs") }
	// A raw MAC address and a bare 12-hex one, in places where a careless
	// log line would repeat them.
	const mac, bare = "a4:5e:60:c2:19:7f", "a45e60c2197f"
	huge := `{"v":1,"sensor":"` + s1 + `","sent":1,"obs":[` + strings.Repeat(`{"t":1,"dev":"0123456789abcdef","rssi":-50},`, 96_000) + `{"t":1,"dev":"0123456789abcdef","rssi":-50}]}`
	// Over the largest batch, under the embedded broker's packet limit
	// (which cuts off a client sending more: TestHugePacketRefusedBeforeLogin),
	// so that the server's check rejects it.
	if len(huge) <= wire.MaxBatchLen || len(huge)+100 > broker.MaxPacket {
		t.Fatalf("the too large batch is %d bytes, want over %d and under %d", len(huge), wire.MaxBatchLen, broker.MaxPacket-100)
	}

	rejects := []struct {
		name, topic, payload string
	}{
		{"not JSON", topic(site, s1), "hello " + mac},
		{"truncated", topic(site, s1), `{"v":1,"sensor":"` + s1 + `","sent":1,"obs":[{"t":1,"dev":"` + bare},
		{"no v", topic(site, s1), `{"sensor":"` + s1 + `","sent":1,"obs":[]}`},
		{"v 2", topic(site, s1), `{"v":2,"sensor":"` + s1 + `","sent":1,"obs":[]}`},
		{"no obs", topic(site, s1), `{"v":1,"sensor":"` + s1 + `","sent":1}`},
		{"NaN literal", topic(site, s1), `{"v":1,"sensor":"` + s1 + `","sent":1,"obs":[{"t":1,"dev":"0123456789abcdef","rssi":NaN}]}`},
		{"sensor differs from topic", topic(site, s1), `{"v":1,"sensor":"s2","sent":1,"obs":[]}`},
		{"unknown sensor", topic(site, "nosuch"), `{"v":1,"sensor":"nosuch","sent":1,"obs":[]}`},
		{"unknown site", topic("nosuchsite", s1), `{"v":1,"sensor":"` + s1 + `","sent":1,"obs":[]}`},
		{"too large", topic(site, s1), huge},
	}
	// Observations the checks drop, in otherwise good batches.
	drops := []string{
		`{"t":%d,"dev":"0123456789abcdef","rssi":1e999}`,
		`{"t":%d,"dev":"0123456789abcdef","rssi":-1e999}`,
		`{"t":%d,"dev":"0123456789abcdef","rssi":-130}`,
		`{"t":%d,"dev":"0123456789abcdef","rssi":3}`,
		`{"t":%d,"dev":"` + bare + `","rssi":-60}`,
		`{"t":%d,"dev":"` + mac + `","rssi":-60}`,
		`{"t":%d,"dev":"0123456789ABCDEF","rssi":-60}`,
		`{"t":%d,"dev":"0123456789abcdef","rssi":-60,"seq":4096}`,
		`{"t":%d,"rssi":-60}`,
		`{"dev":"0123456789abcdef","rssi":-60,"x":%d}`,
	}

	half := len(rec.Items) / 2
	if err := pub.Send(ctx, site, rec.Items[:half], 8); err != nil {
		t.Fatal(err)
	}
	for _, r := range rejects {
		pub.Raw(t, r.topic, []byte(r.payload))
	}
	// Every good batch again (QoS 1 redelivery): dropped by boot and id.
	if err := pub.Send(ctx, site, rec.Items[:half], 8); err != nil {
		t.Fatal(err)
	}
	// A good batch carrying the bad observations, with its own boot.
	t0 := rec.Items[half].Batch.Sent
	var obs []string
	for _, d := range drops {
		obs = append(obs, fmt.Sprintf(d, t0))
	}
	obs = append(obs, fmt.Sprintf(`{"t":%d,"dev":"0123456789abcdef","rssi":-61.5}`, t0))
	pub.Raw(t, topic(site, s1), []byte(fmt.Sprintf(`{"v":1,"sensor":"%s","boot":7,"id":1,"sent":%d,"obs":[%s]}`, s1, t0, strings.Join(obs, ","))))
	if err := pub.Send(ctx, site, rec.Items[half:], 8); err != nil {
		t.Fatal(err)
	}
	sent := int64(len(rec.Items)) + 1
	srv.WaitBatches(t, site, sent, time.Minute)

	if got, want := srv.Metric("passant_batches_rejected_total"), float64(len(rejects)); got != want {
		t.Errorf("passant_batches_rejected_total = %g, want %g", got, want)
	}
	if got, want := srv.Metric("passant_observations_dropped_total"), float64(len(drops)); got != want {
		t.Errorf("passant_observations_dropped_total = %g, want %g", got, want)
	}
	if got, want := srv.Metric("passant_batches_duplicate_total"), float64(half); got != want {
		t.Errorf("passant_batches_duplicate_total = %g, want %g", got, want)
	}
	if !srv.Ready() {
		t.Fatal("server not ready after bad input")
	}
	srv.Stop()

	logs := srv.Logs.String()
	if testing.Verbose() {
		t.Log(grepLines(logs, "rejected"))
	}
	if n := strings.Count(logs, "batch rejected"); n == 0 {
		t.Error("no rejected batch was logged")
	}
	for _, id := range []string{mac, bare, strings.ToUpper(bare), "0123456789abcdef"} {
		if strings.Contains(strings.ToLower(logs), strings.ToLower(id)) {
			t.Errorf("the log repeats an identifier from a payload (%s):\n%s", id, grepLines(logs, id))
		}
	}
	// The log keeps at most ten rejects a second: check every reject's
	// error, which is what gets logged, directly.
	known := func(s, sensor string) bool { return s == site && rec.Site.SensorIndex(sensor) >= 0 }
	for _, r := range rejects {
		parts := strings.Split(r.topic, "/")
		_, _, err := ingest.Check(parts[1], parts[2], []byte(r.payload), known)
		if err == nil {
			t.Errorf("%s: accepted", r.name)
			continue
		}
		for _, id := range []string{mac, bare} {
			if strings.Contains(err.Error(), id) {
				t.Errorf("%s: the error repeats an identifier from the payload: %v", r.name, err)
			}
		}
	}
	st := OpenStore(t, "", dir)
	n, err := st.CountObservations(ctx, site, 0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	if want := rec.Obs + 1; n != want {
		t.Errorf("stored %d observations, want each good one once: %d", n, want)
	}
}

func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(strings.ToLower(l), strings.ToLower(s)) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
