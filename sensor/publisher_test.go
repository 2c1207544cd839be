package sensor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/passant/passant/wire"
)

func mqttURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("PASSANT_TEST_MQTT")
	if u == "" {
		t.Skip("set PASSANT_TEST_MQTT to run")
	}
	return u
}

// collector subscribes to a topic filter with QoS 1 and keeps the batches
// that arrive, in arrival order.
type collector struct {
	mu      sync.Mutex
	batches []wire.Batch
	status  []Status
	got     chan struct{}
}

func subscribe(t *testing.T, broker, clientID, filter string, persistent bool) (*collector, mqtt.Client) {
	t.Helper()
	c := &collector{got: make(chan struct{}, 1)}
	subscribed := make(chan error, 1)
	handler := func(_ mqtt.Client, m mqtt.Message) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if filepath.Base(m.Topic()) == "status" {
			if len(m.Payload()) == 0 {
				return // a retained status being cleared
			}
			var s Status
			if err := json.Unmarshal(m.Payload(), &s); err != nil {
				t.Errorf("bad status %q: %v", m.Payload(), err)
			}
			c.status = append(c.status, s)
			return
		}
		b, _, err := wire.ParseBatch(m.Payload())
		if err != nil {
			t.Errorf("bad batch on %s: %v", m.Topic(), err)
			return
		}
		c.batches = append(c.batches, b)
		select {
		case c.got <- struct{}{}:
		default:
		}
	}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(clientID).
		SetCleanSession(!persistent).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(200 * time.Millisecond).SetMaxReconnectInterval(time.Second).
		SetDefaultPublishHandler(handler). // a resumed session delivers before Subscribe returns
		SetOnConnectHandler(func(cl mqtt.Client) {
			// Subscribe on every (re)connect; the first subscription's
			// acknowledgement is waited for below, since a batch
			// published before the broker has the subscription is
			// never delivered to it.
			tok := cl.Subscribe(filter, 1, handler)
			go func() {
				tok.Wait()
				select {
				case subscribed <- tok.Error():
				default:
				}
			}()
		})
	cl := mqtt.NewClient(opts)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: connect: %v", tok.Error())
	}
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatalf("subscriber: subscribe %s: %v", filter, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("subscriber: no acknowledgement of the subscription to %s", filter)
	}
	return c, cl
}

// waitIDs waits until every id 1..n has arrived (a guard against hanging,
// not a timed assertion), and returns the ids in arrival order.
func (c *collector) waitIDs(t *testing.T, n int) []int64 {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		c.mu.Lock()
		seen := map[int64]bool{}
		var ids []int64
		for _, b := range c.batches {
			seen[b.ID] = true
			ids = append(ids, b.ID)
		}
		c.mu.Unlock()
		if len(seen) >= n {
			return ids
		}
		select {
		case <-c.got:
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			var missing []int64
			for i := int64(1); i <= int64(n); i++ {
				if !seen[i] {
					missing = append(missing, i)
				}
			}
			t.Fatalf("only %d of %d batches arrived; missing %v", len(seen), n, missing)
		}
	}
}

// checkInOrder: every id 1..n arrived, and the first arrival of each id
// comes after the first arrival of the one before it (redeliveries allowed).
func checkInOrder(t *testing.T, ids []int64, n int) (dups int) {
	t.Helper()
	next := int64(1)
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			dups++
			continue
		}
		if id != next {
			t.Fatalf("batch %d arrived first before batch %d: order lost (%v)", id, next, ids)
		}
		seen[id] = true
		next++
	}
	if next != int64(n)+1 {
		t.Fatalf("got batches 1..%d, want 1..%d", next-1, n)
	}
	return dups
}

func testBatch(sensor string, id int64) *wire.Batch {
	return &wire.Batch{V: 1, Sensor: sensor, Boot: 1764849000000, ID: id, Sent: 1764850000000 + id,
		Obs: []wire.Observation{{T: 1764850000000 + id, Dev: wire.Dev(id), RSSI: -60, Ch: 6, Seq: int(id % 4096)}}}
}

func TestPublisherInOrderQoS1(t *testing.T) {
	broker := mqttURL(t)
	site := fmt.Sprintf("t%d", time.Now().UnixNano())
	c, sub := subscribe(t, broker, site+"-sub", "passant/"+site+"/+/+", false)
	defer sub.Disconnect(100)
	defer clearRetained(sub, "passant/"+site+"/s1/status")
	p, err := NewPublisher(PublisherConfig{Log: quietLog, Broker: broker, Site: site, Sensor: "s1", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := int64(1); i <= n; i++ {
		if err := p.Publish(testBatch("s1", i)); err != nil {
			t.Fatal(err)
		}
	}
	ids := c.waitIDs(t, n)
	checkInOrder(t, ids, n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s := p.Status("offline")
	if s.Captured != n || s.Published != n || s.Dropped != 0 || s.Queued != 0 {
		t.Fatalf("status %+v", s)
	}
	// The retained status says offline now, with the counts.
	c2, sub2 := subscribe(t, broker, site+"-sub2", "passant/"+site+"/s1/status", false)
	defer sub2.Disconnect(100)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c2.mu.Lock()
		var last *Status
		if len(c2.status) > 0 {
			last = &c2.status[len(c2.status)-1]
		}
		c2.mu.Unlock()
		if last != nil && last.State == "offline" && last.Published == n && last.V == 1 && last.Version == "test" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retained status %+v, want offline with published=%d", last, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// privateBroker runs a mosquitto of the test's own on a free port, with
// persistence, so it can be stopped and started again mid-test.
type privateBroker struct {
	t    *testing.T
	port int
	conf string
	cmd  *exec.Cmd
}

func startPrivateBroker(t *testing.T) *privateBroker {
	return startBrokerWith(t, func(port int, dir string) string {
		return fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\n"+
			"persistence true\npersistence_location %s/\nautosave_interval 1\n", port, dir)
	})
}

// startBrokerWith starts a private mosquitto with the configuration conf
// returns for a free port and a directory of the test's own.
func startBrokerWith(t *testing.T, conf func(port int, dir string) string) *privateBroker {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		t.Skip("mosquitto not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	name := filepath.Join(dir, "mosquitto.conf")
	// As root, mosquitto would drop to its own user, which cannot read the
	// test's directory.
	if err := os.WriteFile(name, []byte("user root\n"+conf(port, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &privateBroker{t: t, port: port, conf: name}
	b.start(bin)
	t.Cleanup(b.stop)
	return b
}

func (b *privateBroker) url() string { return "tcp://127.0.0.1:" + strconv.Itoa(b.port) }

func (b *privateBroker) start(bin string) {
	b.t.Helper()
	b.cmd = exec.Command(bin, "-c", b.conf)
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	for range 100 {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(b.port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatal("private mosquitto did not start")
}

func (b *privateBroker) stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Signal(os.Interrupt)
		b.cmd.Wait()
		b.cmd = nil
	}
}

// TestPublisherSurvivesBrokerOutage stops the broker mid-run, keeps
// publishing (memory fills, batches spill to disk), starts it again, and
// checks that every batch arrives, in order.
func TestPublisherSurvivesBrokerOutage(t *testing.T) {
	mqttURL(t)
	br := startPrivateBroker(t)
	bin, _ := exec.LookPath("mosquitto")
	c, sub := subscribe(t, br.url(), "outage-sub", "passant/shop/+/obs", true)
	defer sub.Disconnect(100)
	p, err := NewPublisher(PublisherConfig{Log: quietLog, Broker: br.url(), Site: "shop", Sensor: "s1",
		Spool: SpoolConfig{MemBytes: 4 << 10, Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := int64(1); i <= 100; i++ {
		p.Publish(testBatch("s1", i))
	}
	c.waitIDs(t, 100)
	br.stop() // the broker goes away
	for i := int64(101); i <= 250; i++ {
		p.Publish(testBatch("s1", i))
	}
	st := p.Status("online")
	if st.SpoolBytes == 0 || st.Queued < 100 {
		t.Fatalf("while the broker is away: %+v; want batches queued and spilled to disk", st)
	}
	br.start(bin) // and comes back
	for i := int64(251); i <= n; i++ {
		p.Publish(testBatch("s1", i))
	}
	ids := c.waitIDs(t, n)
	dups := checkInOrder(t, ids, n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s := p.Status("offline")
	if s.Captured != n || s.Published != n || s.Dropped != 0 || s.Queued != 0 {
		t.Fatalf("status %+v", s)
	}
	t.Logf("%d batches through a broker outage, %d redelivered, none lost", n, dups)
}

func TestPublisherCountsOverflow(t *testing.T) {
	// A broker nobody listens on: everything queues, and the small
	// memory-only queue overflows.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	p, err := NewPublisher(PublisherConfig{Log: quietLog, Broker: "tcp://" + addr, Site: "shop", Sensor: "s1",
		Spool: SpoolConfig{MemBytes: 2 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 100; i++ {
		p.Publish(testBatch("s1", i))
	}
	s := p.Status("online")
	if s.Dropped == 0 || s.DroppedBatches+s.QueuedBatches != 100 || s.Captured != 100 {
		t.Fatalf("status %+v: want the overflow counted", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); err == nil {
		t.Fatal("Close with undeliverable batches returned no error")
	}
}

// TestNodePublishesCapture runs a node over a capture into a Publisher and
// checks that the broker delivers exactly the batches the JSONL sink
// writes for the same capture.
func TestNodePublishesCapture(t *testing.T) {
	broker := mqttURL(t)
	name := "testdata/captures/probing-iPhone12-M.pcap"
	want, _, _, err := runNode(t, []string{name}, NodeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	nwant := bytes.Count(want, []byte("\n"))
	site := fmt.Sprintf("n%d", time.Now().UnixNano())
	c, sub := subscribe(t, broker, site+"-sub", "passant/"+site+"/s1/obs", false)
	defer sub.Disconnect(100)
	defer clearRetained(sub, "passant/"+site+"/s1/status")
	p, err := NewPublisher(PublisherConfig{Log: quietLog, Broker: broker, Site: site, Sensor: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := OpenFiles([]string{name}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n, _ := NewNode(NodeConfig{Sensor: "s1", Boot: 1764849000000, Pseudo: testPseudo()}, src, p)
	if err := n.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids := c.waitIDs(t, nwant)
	checkInOrder(t, ids, nwant)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var got []byte
	c.mu.Lock()
	for _, b := range c.batches {
		got = append(wire.AppendBatch(got, &b), '\n')
	}
	c.mu.Unlock()
	if !bytes.Equal(got, want) {
		t.Fatalf("published batches differ from the JSONL output")
	}
	if s := p.Status("offline"); s.Published != int64(n.Stats().Observations) {
		t.Fatalf("status %+v, node %+v", s, n.Stats())
	}
}

// quietLog keeps the publishers' connection messages out of the test output.
var quietLog = slog.New(slog.DiscardHandler)

// clearRetained removes a retained message the test left on the shared broker.
func clearRetained(c mqtt.Client, topic string) {
	c.Publish(topic, 1, true, []byte{}).WaitTimeout(5 * time.Second)
}

// TestManyPublishersInOneProcess: a simulated shop runs one Publisher per
// sensor in one process; each sensor's batches arrive complete and in order.
func TestManyPublishersInOneProcess(t *testing.T) {
	broker := mqttURL(t)
	site := fmt.Sprintf("m%d", time.Now().UnixNano())
	c, sub := subscribe(t, broker, site+"-sub", "passant/"+site+"/+/obs", false)
	defer sub.Disconnect(100)
	const sensors, batches = 12, 25
	var pubs []*Publisher
	for s := range sensors {
		p, err := NewPublisher(PublisherConfig{Log: quietLog, Broker: broker, Site: site, Sensor: fmt.Sprintf("s%d", s)})
		if err != nil {
			t.Fatal(err)
		}
		defer clearRetained(sub, fmt.Sprintf("passant/%s/s%d/status", site, s))
		pubs = append(pubs, p)
	}
	for i := int64(1); i <= batches; i++ {
		for s, p := range pubs {
			p.Publish(testBatch(fmt.Sprintf("s%d", s), i))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range pubs {
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.batches)
		c.mu.Unlock()
		if n >= sensors*batches {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d batches arrived", n, sensors*batches)
		}
		time.Sleep(50 * time.Millisecond)
	}
	per := map[string][]int64{}
	c.mu.Lock()
	for _, b := range c.batches {
		per[b.Sensor] = append(per[b.Sensor], b.ID)
	}
	c.mu.Unlock()
	for s := range sensors {
		checkInOrder(t, per[fmt.Sprintf("s%d", s)], batches)
	}
}
