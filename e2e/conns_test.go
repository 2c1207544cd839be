package e2e

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// compareConns is TestIngestVsSubscriber with PASSANT_COMPARE_ONLY=conns:
// the ceiling of the MQTT client on more than one connection. Each round
// drains the burst with mosquitto_sub and with do-nothing paho subscribers
// on N connections (PASSANT_COMPARE_CONNS, default "1,2,3"; N > 1 shares
// one subscription, $share/GROUP/...), the order of the phases turned each
// round, PASSANT_COMPARE_REPEAT rounds; each rate is to the subscriber's
// own last message and its ratio to the same round's mosquitto_sub.
func compareConns(t *testing.T, broker, prefix string, messages int,
	subscriber func(run int) (own, seen float64), publish func(client string) time.Time,
	rate func(start, end time.Time) float64) {
	t.Helper()
	var conns []int
	for _, f := range strings.Split(cmp(os.Getenv("PASSANT_COMPARE_CONNS"), "1,2,3"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			t.Fatalf("PASSANT_COMPARE_CONNS: %q is not a number of connections", f)
		}
		conns = append(conns, n)
	}
	phases := append([]int{0}, conns...) // 0: mosquitto_sub
	ratios := make(map[int][]float64)
	for run := range max(1, envInt("PASSANT_COMPARE_REPEAT", 1)) {
		rates, cpus := make(map[int]float64), make(map[int]time.Duration)
		for i := range phases {
			n := phases[(i+run)%len(phases)]
			if n == 0 {
				rates[0], _ = subscriber(run)
				continue
			}
			p := fmt.Sprintf("%s-r%d-n%d", prefix, run, n)
			cpu0 := processCPU()
			rates[n] = pahoDoNothing(t, broker, prefix, p, n, messages, func() time.Time { return publish(p + "-pub") }, rate)
			cpus[n] = processCPU() - cpu0
		}
		line := fmt.Sprintf("COMPARE conns round %d: mosquitto_sub %.0f obs/s", run, rates[0])
		for _, n := range conns {
			ratios[n] = append(ratios[n], rates[n]/rates[0])
			line += fmt.Sprintf("; paho on %d connection(s) %.0f obs/s, ratio %.2f (this process's CPU %.3f s)", n, rates[n], rates[n]/rates[0], cpus[n].Seconds())
		}
		t.Log(line)
	}
	for _, n := range conns {
		r := slices.Clone(ratios[n])
		slices.Sort(r)
		t.Logf("COMPARE conns: paho on %d connection(s): ratios %.2f, median %.2f", n, ratios[n], r[len(r)/2])
	}
}

// cmp returns s, or def when s is empty.
func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// pahoDoNothing drains the burst with n paho.mqtt.golang clients set up as
// ingest.NewSubscriber sets up the server's (persistent session, in-order
// handler, manual QoS 1 acknowledgements), whose handlers only
// acknowledge, and returns their rate to the last message either took. One
// client subscribes to the burst's topics; n > 1 share one subscription
// ($share/GROUP/...), the broker handing each message to one of them.
// prefix is the burst's; id names the clients (and the group).
func pahoDoNothing(t *testing.T, broker, prefix, id string, n, messages int, publish func() time.Time, rate func(start, end time.Time) float64) float64 {
	t.Helper()
	topic := prefix + "/+/+/obs"
	if n > 1 {
		topic = "$share/" + id + "/" + topic
	}
	var got, end atomic.Int64
	done := make(chan struct{})
	handler := func(_ paho.Client, m paho.Message) {
		m.Ack()
		if got.Add(1) == int64(messages) {
			end.Store(time.Now().UnixNano())
			close(done)
		}
	}
	for i := range n {
		id := id + "-paho"
		if n > 1 {
			id += strconv.Itoa(i)
		}
		opts := paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(false).
			SetOrderMatters(true).SetKeepAlive(30 * time.Second)
		opts.AutoAckDisabled = true
		c := paho.NewClient(opts)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		defer dropSession(broker, id)
		defer c.Disconnect(100)
		if tok := c.Subscribe(topic, 1, handler); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	start := publish()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("paho subscriber(s) got %d of %d messages within 2 min", got.Load(), messages)
	}
	return rate(start, time.Unix(0, end.Load()))
}
