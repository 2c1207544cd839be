package server

import (
	"io"
	"log/slog"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/wire"
)

// TestAnonymousBrokerClientsCannotRead: `passant serve` (logins on)
// without --broker-users let anyone who reached the embedded broker
// subscribe to passant/# and read every sensor's observations as they came
// (pseudonyms, signal strengths, times: the tracking data the privacy
// section keeps for at most 24 h or a month), with no word in the log.
// Sensors still publish without logging in; nobody but the server reads.
func TestAnonymousBrokerClientsCannotRead(t *testing.T) {
	dir := t.TempDir()
	in := startInstance(t, Config{HTTP: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", SiteFiles: []string{testSiteFile(t, dir, "shop")},
		DataDir: dir, Auth: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer in.stop()
	srv := in.srv
	c := paho.NewClient(paho.NewClientOptions().AddBroker(srv.broker.URL()).SetClientID("anon").SetConnectTimeout(5 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("an anonymous sensor connects: %v", tok.Error())
	}
	defer c.Disconnect(50)
	got := make(chan string, 10)
	sub := c.Subscribe("passant/#", 1, func(_ paho.Client, m paho.Message) { got <- m.Topic() })
	if !sub.WaitTimeout(10 * time.Second) {
		t.Fatal("no answer to the subscription")
	}
	if code := sub.(*paho.SubscribeToken).Result()["passant/#"]; code < 0x80 {
		t.Errorf("an anonymous client subscribed to passant/# (granted QoS %d)", code)
	}
	now := time.Now().UnixMilli()
	b := wire.AppendBatch(nil, &wire.Batch{V: 1, Sensor: "a", Boot: 1, ID: 1, Sent: now,
		Obs: []wire.Observation{{T: now, Dev: 7, RSSI: -60, Seq: 1}}})
	if tok := c.Publish(wire.Topic("passant", "shop", "a", "obs"), 1, false, b); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("an anonymous sensor publishes: %v", tok.Error())
	}
	eventually(t, "the anonymous sensor's batch taken", func() bool { return srv.sub.C.Accepted.Load() == 1 })
	select {
	case topic := <-got:
		t.Errorf("an anonymous client read the observations on %s", topic)
	default:
	}
}
