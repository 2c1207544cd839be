package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/wire"
)

// TestIngestVsSubscriber compares the server's ingest rate with a
// do-nothing subscriber's (mosquitto_sub to /dev/null) on the same private
// Mosquitto: the same burst of batches, published as fast as the broker
// takes them, drained by each in turn. Two rows between them say where the
// gap lies: a do-nothing paho.mqtt.golang subscriber with the server's
// client options (the ceiling of the MQTT client the server is built on),
// and the server's ingest alone (ingest.Subscriber: checks, journal with
// fsync, acknowledgements in order; nothing located or stored).
//
// PASSANT_COMPARE_RATE paces the publisher at that many observations a
// second instead: a stream, not a burst, which a subscriber that keeps up
// takes at the rate it is sent (ratio 1); the highest rate at which the
// server still keeps pace is its sustained ingest capacity.
func TestIngestVsSubscriber(t *testing.T) {
	if os.Getenv("PASSANT_COMPARE_BATCHES") == "" {
		t.Skip("set PASSANT_COMPARE_BATCHES to run (scripts/load.sh does)")
	}
	// A private broker that queues without limit: a stock Mosquitto drops
	// QoS 1 messages for a client beyond 1000 queued, and this burst is
	// larger.
	mosquitto := StartMosquitto(t)
	broker := mosquitto.URL()
	if _, err := exec.LookPath("mosquitto_sub"); err != nil {
		t.Skip("mosquitto_sub not installed")
	}
	prefix := fmt.Sprintf("passant-cmp-%d", time.Now().UnixNano())
	burst := newCompareBurst(t, prefix)
	topics, obs := burst.topics, burst.obs
	host, port := hostPort(t, broker)
	// The publisher runs in a process of its own (as the sensors do), the
	// same for every subscriber: in this process it shared the Go
	// runtime (two Ps on two cores, the heap with its 275 MB of payloads
	// and the garbage collector) with ingest and the server, and not with
	// mosquitto_sub (docs/reliability.md, 2026-12-05 afternoon).
	// PASSANT_COMPARE_PUBLISHER=inprocess publishes from here, as the
	// figures before that day were measured.
	inProcess := os.Getenv("PASSANT_COMPARE_PUBLISHER") == "inprocess"
	if !inProcess {
		burst.payloads = nil
	}
	publish := func(client string) time.Time {
		if inProcess {
			return burst.publish(t, broker, client)
		}
		return publishProcess(t, broker, prefix, client)
	}
	rate := func(start time.Time) float64 { return float64(obs) / time.Since(start).Seconds() }
	perBatch := float64(len(topics)) / float64(obs)
	pace := burst.pace

	// The do-nothing subscriber.
	subscriber := func(run int) float64 {
		id := fmt.Sprintf("%s-sub%d", prefix, run)
		sub := exec.Command("mosquitto_sub", "-h", host, "-p", port, "-q", "1", "-t", prefix+"/+/+/obs", "-C", strconv.Itoa(len(topics)), "-i", id)
		sub.Stdout = nil
		if err := sub.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond) // subscribed
		start := publish(fmt.Sprintf("%s-pub1-%d", prefix, run))
		waited := make(chan error, 1)
		go func() { waited <- sub.Wait() }()
		select {
		case err := <-waited:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(2 * time.Minute):
			sub.Process.Kill()
			t.Fatal("mosquitto_sub did not get every message within 2 min")
		}
		return rate(start)
	}
	if os.Getenv("PASSANT_COMPARE_ONLY") == "ingest" {
		// The test process's CPU time in each (with the publisher in
		// process: the publisher's with mosquitto_sub, the publisher's and
		// ingest's with ingest alone) and the broker's.
		for run := range max(1, envInt("PASSANT_COMPARE_REPEAT", 1)) {
			cpu0, b0 := processCPU(), mosquitto.CPU()
			subRate := subscriber(run)
			cpu1, b1 := processCPU(), mosquitto.CPU()
			aloneRate := ingestAlone(t, broker, fmt.Sprintf("%s-%d", prefix, run), prefix, obs, func() time.Time { return publish(fmt.Sprintf("%s-pub4-%d", prefix, run)) }, rate)
			cpu2, b2 := processCPU(), mosquitto.CPU()
			t.Logf("COMPARE ingest alone: mosquitto_sub %.0f obs/s, ingest alone %.0f obs/s: ratio %.2f; CPU of this process (s) with mosquitto_sub %.3f, with ingest alone %.3f; the broker's %.2f and %.2f",
				subRate, aloneRate, aloneRate/subRate, (cpu1 - cpu0).Seconds(), (cpu2 - cpu1).Seconds(), (b1 - b0).Seconds(), (b2 - b1).Seconds())
		}
		return
	}
	subRate := subscriber(0)

	// PASSANT_COMPARE_ONLY=server leaves out paho and ingest alone: the
	// earlier phases leave the broker and this process in a state that
	// depends on how fast they went (docs/reliability.md, payload buffers
	// reused); their ratios are then logged as 0.
	var pahoRate, aloneRate float64
	if os.Getenv("PASSANT_COMPARE_ONLY") != "server" {
		pahoRate = pahoDoNothing(t, broker, prefix, len(topics), func() time.Time { return publish(prefix + "-pub3") }, rate)
		aloneRate = ingestAlone(t, broker, prefix, prefix, obs, func() time.Time { return publish(prefix + "-pub4") }, rate)
	}

	srv, cfg := startLoadServer(t, broker, prefix, burst.gen)
	// The rate is taken from ingest's own counter; /metrics (srv.Metric)
	// is logged beside it ("through /metrics"): it used to wait for each
	// site runner's lock, held while it locates a batch, and saw the burst
	// taken late.
	viaMetrics := make(chan float64, 1)
	var start2 time.Time
	started := make(chan struct{})
	go func() {
		<-started
		for deadline := time.Now().Add(5 * time.Minute); srv.Metric("passant_observations_total") < float64(obs) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		viaMetrics <- rate(start2)
	}()
	cpu0, b0 := processCPU(), mosquitto.CPU()
	start2 = publish(prefix + "-pub2")
	close(started)
	c := srv.Ingest()
	for deadline := time.Now().Add(5 * time.Minute); c.Observation.Load() < int64(obs); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("server took %d of %d observations within 5 min", c.Observation.Load(), obs)
		}
	}
	srvRate := rate(start2)
	cpu1, b1 := processCPU(), mosquitto.CPU()
	// The same burst's end as ingest itself recorded it, when it
	// acknowledged the last message (its line on disk), as mosquitto_sub's
	// end is when it has acknowledged every message and exits: the poll
	// above runs in a goroutine of this process, which the site runners,
	// locating the burst once it is over, may keep from its CPU.
	for deadline, last := time.Now().Add(10*time.Second), int64(0); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond) // until the acknowledgements stop
		if v := c.LastAcked.Load(); v != 0 && v == last {
			break
		} else {
			last = v
		}
	}
	ownRate := float64(obs) / time.Unix(0, c.LastAcked.Load()).Sub(start2).Seconds()
	metricsRate := <-viaMetrics
	srv.WaitMetric(t, "passant_fixes_total", 1, time.Minute)
	t.Logf("site runners' queue %d batches (0: the default, 4096); %g batches read back from the journal, in %g episodes", cfg.QueueBatches,
		srv.Metric("passant_backlog_batches_total"), srv.Metric("passant_backlog_episodes_total"))
	if pace > 0 {
		t.Logf("COMPARE: published at %d observations/s", pace)
	}
	t.Logf("COMPARE: %d batches, %d observations: mosquitto_sub %.0f obs/s (%.0f batches/s), passant serve (checked, journaled with fsync, acknowledged) %.0f obs/s (%.0f batches/s): ratio %.2f",
		len(topics), obs, subRate, subRate*perBatch, srvRate, srvRate*perBatch, srvRate/subRate)
	t.Logf("COMPARE serve through /metrics: %.0f obs/s: ratio %.2f", metricsRate, metricsRate/subRate)
	t.Logf("COMPARE serve to its last acknowledgement (ingest's own clock): %.0f obs/s: ratio %.2f", ownRate, ownRate/subRate)
	t.Logf("COMPARE serve CPU while the server took the burst: this process (s) %.3f (the publisher's included only with PASSANT_COMPARE_PUBLISHER=inprocess), the broker's %.2f",
		(cpu1 - cpu0).Seconds(), (b1 - b0).Seconds())
	t.Logf("COMPARE paho: a do-nothing paho.mqtt.golang subscriber with the server's options %.0f obs/s (%.0f batches/s): ratio %.2f",
		pahoRate, pahoRate*perBatch, pahoRate/subRate)
	t.Logf("COMPARE ingest alone: the server's ingest without locating or storing %.0f obs/s (%.0f batches/s): ratio %.2f",
		aloneRate, aloneRate*perBatch, aloneRate/subRate)
}

// pahoDoNothing drains the burst with a paho.mqtt.golang client set up as
// ingest.NewSubscriber sets up the server's (persistent session, in-order
// handler, manual QoS 1 acknowledgements), whose handler only acknowledges,
// and returns its rate.
func pahoDoNothing(t *testing.T, broker, prefix string, messages int, publish func() time.Time, rate func(time.Time) float64) float64 {
	t.Helper()
	id := prefix + "-paho"
	var got atomic.Int64
	done := make(chan struct{})
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(false).
		SetOrderMatters(true).SetKeepAlive(30 * time.Second)
	opts.AutoAckDisabled = true
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer dropSession(broker, id)
	defer c.Disconnect(100)
	tok := c.Subscribe(prefix+"/+/+/obs", 1, func(_ paho.Client, m paho.Message) {
		m.Ack()
		if got.Add(1) == int64(messages) {
			close(done)
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	start := publish()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("paho subscriber got %d of %d messages within 2 min", got.Load(), messages)
	}
	return rate(start)
}

// ingestAlone drains the burst with the server's ingest.Subscriber and its
// journal on disk, every sensor known, delivering nowhere, and returns its
// rate of accepted observations; id names its client.
func ingestAlone(t *testing.T, broker, id, prefix string, obs int, publish func() time.Time, rate func(time.Time) float64) float64 {
	t.Helper()
	j, err := ingest.OpenJournal(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	id += "-alone"
	s, err := ingest.NewSubscriber(ingest.Config{Broker: broker, ClientID: id, Prefix: prefix, Journal: j,
		Known:        func(site, sensor string) bool { return true },
		Deliver:      func(string, int64, *wire.Batch, wire.Drops, ingest.At) {},
		DeliverPlain: func(string, int64, []byte, ingest.At) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-ran
		s.Close(100 * time.Millisecond)
		dropSession(broker, id)
	}()
	for deadline := time.Now().Add(10 * time.Second); !s.Connected(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("ingest subscriber did not connect within 10 s")
		}
	}
	time.Sleep(500 * time.Millisecond) // subscribed
	start := publish()
	for deadline := time.Now().Add(2 * time.Minute); s.C.Observation.Load() < int64(obs); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ingest alone took %d of %d observations within 2 min", s.C.Observation.Load(), obs)
		}
	}
	r := rate(start)
	if rej := s.C.Rejected.Load(); rej != 0 {
		t.Errorf("ingest alone rejected %d batches", rej)
	}
	return r
}

// processCPU is the process's CPU time so far (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func hostPort(t testing.TB, url string) (string, string) {
	hp := strings.TrimPrefix(strings.TrimPrefix(url, "tcp://"), "mqtt://")
	i := strings.LastIndex(hp, ":")
	if i < 0 {
		return hp, "1883"
	}
	return hp[:i], hp[i+1:]
}

// compareBurst is TestIngestVsSubscriber's burst: the batches of 4 shops'
// sensors, at least PASSANT_COMPARE_BATCHES of them, 1,220 observations
// each, published as fast as the broker takes them or paced at
// PASSANT_COMPARE_RATE observations a second. The same prefix gives the
// same batches but for their times (the sensors' boot and clocks).
type compareBurst struct {
	gen      *loadGen
	topics   []string
	payloads [][]byte
	counts   []int // observations per batch
	obs      int
	pace     int
}

func newCompareBurst(t testing.TB, prefix string) *compareBurst {
	t.Helper()
	batches := envInt("PASSANT_COMPARE_BATCHES", 5000)
	c := &compareBurst{gen: newLoadGen(t, prefix, 4, 3000), pace: envInt("PASSANT_COMPARE_RATE", 0)}
	now := time.Now().UnixMilli()
	for len(c.topics) < batches {
		tp, pl, n := c.gen.tick(now, 2000)
		c.topics, c.payloads, c.obs = append(c.topics, tp...), append(c.payloads, pl...), c.obs+n
		now += 100
	}
	tp, pl, n := c.gen.flush(now)
	c.topics, c.payloads, c.obs = append(c.topics, tp...), append(c.payloads, pl...), c.obs+n
	c.counts = make([]int, len(c.payloads))
	for i, pl := range c.payloads {
		b, _, err := wire.ParseBatch(pl)
		if err != nil {
			t.Fatal(err)
		}
		c.counts[i] = len(b.Obs)
	}
	return c
}

// publish publishes the burst from this process as client, with at most
// 257 publishes unacknowledged, and returns when it started; it returns
// once the broker has acknowledged every one.
func (c *compareBurst) publish(t testing.TB, broker, client string) time.Time {
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(client))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	return c.publishWith(t, pub, client, nil)
}

// publishWith publishes the burst on a connected client; ready, when set,
// is called first and its time is the start.
func (c *compareBurst) publishWith(t testing.TB, pub paho.Client, client string, ready func()) time.Time {
	if ready != nil {
		ready()
	}
	start := time.Now()
	var inflight []paho.Token
	sent := 0
	for i := range c.topics {
		if c.pace > 0 {
			due := start.Add(time.Duration(float64(sent) / float64(c.pace) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			sent += c.counts[i]
		}
		inflight = append(inflight, pub.Publish(c.topics[i], 1, false, c.payloads[i]))
		if len(inflight) > 256 {
			inflight[0].WaitTimeout(30 * time.Second)
			inflight = inflight[1:]
		}
	}
	for _, tok := range inflight {
		tok.WaitTimeout(30 * time.Second)
	}
	t.Logf("%s published %d batches in %s", client, len(c.topics), time.Since(start))
	return start
}

// publishProcess publishes the burst from a process of its own (this test
// binary running TestComparePublisher) as client, and returns when it
// started: when the publisher, connected and its batches made, was told to
// go. It returns once the publisher is done.
func publishProcess(t testing.TB, broker, prefix, client string) time.Time {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestComparePublisher$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "PASSANT_COMPARE_PUB_BROKER="+broker, "PASSANT_COMPARE_PUB_PREFIX="+prefix,
		"PASSANT_COMPARE_PUB_CLIENT="+client)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	var log []string
	for lines.Scan() && lines.Text() != "READY" {
		log = append(log, lines.Text())
	}
	start := time.Now()
	if _, err := in.Write([]byte("go\n")); err != nil {
		t.Fatalf("publisher: %v (%s)", err, strings.Join(log, "; "))
	}
	for lines.Scan() {
		if l := strings.TrimSpace(lines.Text()); strings.Contains(l, "published") {
			t.Log(l)
		} else {
			log = append(log, l)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("publisher: %v (%s)", err, strings.Join(log, "; "))
	}
	t.Logf("%s: the publisher's CPU %.3f s", client, (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds())
	return start
}

// TestComparePublisher is TestIngestVsSubscriber's publisher in a process
// of its own (publishProcess starts it; skipped otherwise): it makes the
// burst, connects, writes READY, waits for a line on its input and
// publishes.
func TestComparePublisher(t *testing.T) {
	broker := os.Getenv("PASSANT_COMPARE_PUB_BROKER")
	if broker == "" {
		t.Skip("TestIngestVsSubscriber runs it")
	}
	c := newCompareBurst(t, os.Getenv("PASSANT_COMPARE_PUB_PREFIX"))
	client := os.Getenv("PASSANT_COMPARE_PUB_CLIENT")
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(client))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	c.publishWith(t, pub, client, func() {
		fmt.Println("READY")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	})
}
