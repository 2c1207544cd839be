package broker

import (
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// lateAcker connects to b as the server does (a persistent session that
// acknowledges each message itself, when it likes) and disconnects at the
// test's end.
func lateAcker(t *testing.T, b *Broker) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("server").SetCleanSession(false).
		SetAutoAckDisabled(true).SetOrderMatters(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

// TestLaggingSubscriberLosesNothing: the broker acknowledges a sensor's
// QoS 1 publish at once, so a server that acknowledges late (its journal
// behind, its machine busy) can have many thousands of messages outstanding
// after a burst (sensors flushing their spools after an outage). The broker
// must hold them, not drop them: with mochi-mqtt's default limits it
// dropped every message past 8,192 outstanding for one subscriber
// (TestManySites at 10 minutes lost 662–1,694 of 73,110 batches under load).
func TestLaggingSubscriberLosesNothing(t *testing.T) {
	b, err := Start(Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := lateAcker(t, b)
	const n = 20_000
	var mu sync.Mutex
	var held []paho.Message // received, not yet acknowledged
	if tok := srv.Subscribe("passant/#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		held = append(held, m)
		mu.Unlock()
	}); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("sensor"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(50)
	for i := range n {
		if tok := pub.Publish("passant/shop/s1/obs", 1, false, fmt.Appendf(nil, `{"i":%d}`, i)); tok.WaitTimeout(5*time.Second) && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	// The server acknowledges nothing until it has all of them.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got := len(held)
		mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the unacknowledging subscriber received %d of %d messages", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	for _, m := range held {
		m.Ack()
	}
	mu.Unlock()
}
