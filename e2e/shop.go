package e2e

import (
	"bufio"
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// Item is one batch a simulated sensor sent.
type Item struct {
	Sensor  string
	Batch   *wire.Batch
	Payload []byte // the MQTT payload: the batch encoded
}

// Recording is what a simulated shop's sensors sent over a span of time, in
// sending order, with the raw MAC addresses the simulation used (for the
// privacy scan).
type Recording struct {
	Site  *wire.Site
	Items []Item
	Obs   int64
	MACs  map[[6]byte]struct{}
}

// Record simulates layout over [from, from+d) as fast as it can.
func Record(t testing.TB, layout string, cfg sim.Config, from time.Time, d time.Duration) *Recording {
	t.Helper()
	shop := simtest.Shop(t, layout, cfg)
	r := &Recording{Site: shop.Site(), MACs: map[[6]byte]struct{}{}}
	emit := func(sensor string, b *wire.Batch) error {
		r.Items = append(r.Items, Item{Sensor: sensor, Batch: b, Payload: wire.AppendBatch(nil, b)})
		r.Obs += int64(len(b.Obs))
		shop.EachMAC(func(m [6]byte) { r.MACs[m] = struct{}{} })
		return nil
	}
	simtest.Run(t, shop, from, from.Add(d), nil, emit)
	return r
}

// Rename gives the recording's site another id (for many sites at once).
func (r *Recording) Rename(id string) {
	s := *r.Site
	s.Site = id
	r.Site = &s
}

// WriteSite writes the recording's site file into dir and returns its path.
func (r *Recording) WriteSite(t testing.TB, dir string) string {
	t.Helper()
	return simtest.WriteSite(t, dir, r.Site)
}

// WriteInput writes items as replay input (one batch a line) to path.
func WriteInput(t testing.TB, path string, items []Item) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, it := range items {
		w.Write(it.Payload)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// Publisher plays simulated sensors over MQTT the way the contract asks of
// a sensor: QoS 1, in order, each batch sent again until the broker
// acknowledges it, so a broker outage delays batches but loses none (a
// batch may arrive twice; the server drops it by boot and id).
type Publisher struct {
	client paho.Client
	prefix string

	Acked  atomic.Int64 // batches the broker acknowledged
	Resent atomic.Int64 // publish attempts that failed or timed out and were repeated
}

// NewPublisher connects a publisher (it keeps reconnecting on its own).
func NewPublisher(t testing.TB, brokerURL, clientID string) *Publisher {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(clientID).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(200 * time.Millisecond).SetMaxReconnectInterval(time.Second).
		SetConnectTimeout(2 * time.Second).SetWriteTimeout(2 * time.Second)
	p := &Publisher{client: paho.NewClient(opts), prefix: "passant"}
	tok := p.client.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect %s: %v", brokerURL, tok.Error())
	}
	t.Cleanup(func() { p.client.Disconnect(100) })
	return p
}

// Send publishes items of site in order, keeping up to window batches in
// flight, and returns once the broker acknowledged every one (or ctx ends).
func (p *Publisher) Send(ctx context.Context, site string, items []Item, window int) error {
	if window < 1 {
		window = 1
	}
	type flight struct {
		it  *Item
		tok paho.Token
	}
	var inflight []flight
	settle := func(f flight) error {
		for {
			if f.tok.WaitTimeout(3*time.Second) && f.tok.Error() == nil {
				p.Acked.Add(1)
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			p.Resent.Add(1)
			time.Sleep(100 * time.Millisecond)
			f.tok = p.client.Publish(wire.Topic(p.prefix, site, f.it.Sensor, "obs"), 1, false, f.it.Payload)
		}
	}
	for i := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		it := &items[i]
		inflight = append(inflight, flight{it, p.client.Publish(wire.Topic(p.prefix, site, it.Sensor, "obs"), 1, false, it.Payload)})
		if len(inflight) >= window {
			if err := settle(inflight[0]); err != nil {
				return err
			}
			inflight = inflight[1:]
		}
	}
	for _, f := range inflight {
		if err := settle(f); err != nil {
			return err
		}
	}
	return nil
}

// Raw publishes one payload on a topic with QoS 1 and waits for the ack.
func (p *Publisher) Raw(t testing.TB, topic string, payload []byte) {
	t.Helper()
	tok := p.client.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}
