package server

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/sensor"
	"github.com/passant/passant/wire"
)

// TestQuietSensorStaysOnline: a sensor that is connected and says so in
// its status (republished every StatusEvery) is online while it hears
// nobody, and offline once both its batches and its status have stopped.
// Before, online meant a batch in the last 30 s, so at night, with a
// handful of passers-by, the demo's four sensors flickered between online
// and offline on the Sensors page, and the chain showed a closed shop's
// working sensors as "0 / 4" online.
func TestQuietSensorStaysOnline(t *testing.T) {
	dir := t.TempDir()
	srv, stop := startServer(t, Config{SiteFiles: []string{testSiteFile(t, dir, "shop")}, DataDir: dir})
	defer stop()
	pub, err := sensor.NewPublisher(sensor.PublisherConfig{Broker: srv.BrokerURL(), Site: "shop", Sensor: "b", ClientID: "test-b",
		Version: "test", StatusEvery: time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(t.Context())
	now := time.Now().UnixMilli()
	if err := pub.Publish(&wire.Batch{V: 1, Sensor: "b", Boot: now - 1000, ID: 1, Sent: now,
		Obs: []wire.Observation{{T: now - 100, Dev: 0x1234567890abcdef, RSSI: -60, Ch: 6, Seq: -1}}}); err != nil {
		t.Fatal(err)
	}
	r := srv.runner("shop")
	b := func(at int64) (online bool, state string, seen int64) {
		for _, h := range r.health(at) {
			if h.ID == "b" {
				return h.Online, h.State, h.LastSeen
			}
		}
		t.Fatal("no sensor b")
		return
	}
	// Its batch and a status or two arrive.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, state, seen := b(time.Now().UnixMilli()); seen > 0 && state == "online" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sensor b's batch and status did not arrive in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // statuses come on, batches do not
	if on, _, seen := b(time.Now().UnixMilli() + 40_000); !on {
		t.Errorf("40 s after its last batch (%d ms ago), its status fresh: sensor b is not online", time.Now().UnixMilli()-seen)
	}
	// Neither batches nor a status for a long while: offline.
	if on, _, _ := b(time.Now().UnixMilli() + 5*60_000); on {
		t.Error("5 min after its last batch and status: sensor b is still online")
	}
}

// TestRetainedStatusIsNoSignOfLife: a status the broker hands over because
// it was retained (at the server's subscription, after its restart) says
// what the sensor last said, not that it is there now: it alone does not
// make a sensor online. Before, a sensor that died while the broker was
// down (so its last will never went out) showed online for 75 s after every
// server restart (docs/reliability.md, review4). A status the sensor sends
// while the server is subscribed does.
func TestRetainedStatusIsNoSignOfLife(t *testing.T) {
	dir := t.TempDir()
	srv, stop := startServer(t, Config{SiteFiles: []string{testSiteFile(t, dir, "shop")}, DataDir: dir})
	defer stop()
	r := srv.runner("shop")
	online := func() bool {
		for _, h := range r.health(time.Now().UnixMilli()) {
			if h.ID == "c" {
				return h.Online
			}
		}
		t.Fatal("no sensor c")
		return false
	}
	srv.status("shop", "c", ingest.Status{V: 1, State: "online", Retained: true})
	if online() {
		t.Error("online on a retained status alone")
	}
	srv.status("shop", "c", ingest.Status{V: 1, State: "online"})
	if !online() {
		t.Error("not online on a status it sent now")
	}
}
