package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/wire"
)

// TestSubscriberQueuedWhileAway restarts a subscriber whose persistent
// session holds batches queued while it was away. The broker sends them as
// soon as it accepts the connection, before the subscriber has subscribed
// again (here held back until they came or 3 s passed): every one is still
// delivered. Without a default handler the MQTT client dropped them,
// unacknowledged, and the broker would send them again only at the next
// reconnect: the crash test's "server took 2231 batches, 2266 were sent".
func TestSubscriberQueuedWhileAway(t *testing.T) {
	url := brokerURL(t)
	prefix := fmt.Sprintf("passant-test-%d", time.Now().UnixNano())
	clientID := prefix + "-server"
	t.Cleanup(func() { dropSession(url, clientID) })
	const n = 20
	var got atomic.Int64
	var ids [n + 2]atomic.Int64
	all := func() bool {
		for id := 1; id <= n; id++ {
			if ids[id].Load() == 0 {
				return false
			}
		}
		return true
	}
	start := func(hold bool) (*Subscriber, func()) {
		t.Helper()
		j, err := OpenJournal(filepath.Join(t.TempDir(), "journal"), 0)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := NewSubscriber(Config{
			Broker: url, ClientID: clientID, Prefix: prefix, Journal: j,
			Known: func(site, sensor string) bool { return site == "shop" && sensor == "s1" },
			Deliver: func(_ string, _ int64, b *wire.Batch, _ wire.Drops, _ At) {
				if b.ID > 0 && b.ID < int64(len(ids)) {
					ids[b.ID].Add(1)
				}
				got.Add(1)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if hold {
			sub.beforeSubscribe = func() {
				for deadline := time.Now().Add(3 * time.Second); !all() && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		go sub.Run(ctx)
		waitFor(t, sub.Connected)
		return sub, func() { sub.Close(100 * time.Millisecond); cancel(); j.Close() }
	}

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(prefix + "-pub"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	send := func(id int64) {
		t.Helper()
		tok := pub.Publish(prefix+"/shop/s1/obs", 1, false, wire.AppendBatch(nil, testBatch("s1", id, 2)))
		if tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}

	// The first run makes the session and its subscription: a batch gets
	// through.
	_, stop := start(false)
	for got.Load() == 0 {
		send(n + 1)
		time.Sleep(50 * time.Millisecond)
	}
	stop()

	// Away: the broker queues these for the session.
	for id := int64(1); id <= n; id++ {
		send(id)
	}
	_, stop = start(true)
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for !all() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for id := 1; id <= n; id++ {
		if ids[id].Load() == 0 {
			t.Errorf("batch %d, queued while the subscriber was away, not delivered after the reconnect", id)
		}
	}
}

// dropSession ends the broker's persistent session of clientID.
func dropSession(url, clientID string) {
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(clientID).SetCleanSession(true))
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		c.Disconnect(100)
	}
}
