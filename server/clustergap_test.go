package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/broker"
	"github.com/passant/passant/ingest"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// sentBatch names a published batch: the contract's (sensor, boot, id) on a
// site.
type sentBatch struct {
	site, sensor string
	id           int64
}

// steady publishes, until stop, a batch every `every` to each of sites in
// turn through the sensors a, b and c, each with an id of its own, at QoS 1
// as sensors do, and keeps those the broker acknowledged.
type steady struct {
	mu    sync.Mutex
	acked []sentBatch
	began time.Time
	quit  chan struct{}
	done  chan struct{}
}

func startSteady(t *testing.T, cfg Config, sites []string, every time.Duration) *steady {
	t.Helper()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(cfg.MQTT).SetClientID(cfg.Prefix + "-steady"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	st := &steady{began: time.Now(), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(st.done)
		defer pub.Disconnect(100)
		tick := time.NewTicker(every)
		defer tick.Stop()
		id := int64(0)
		for {
			select {
			case <-st.quit:
				return
			case <-tick.C:
			}
			id++
			sensor := []string{"a", "b", "c"}[id%3]
			for _, site := range sites {
				now := time.Now().UnixMilli()
				b := &wire.Batch{V: 1, Sensor: sensor, Boot: 1, ID: id, Sent: now,
					Obs: []wire.Observation{{T: now, Dev: wire.Dev(id%50 + 1), RSSI: -60, Seq: int(id % 4096)}}}
				tok := pub.Publish(wire.Topic(cfg.Prefix, site, sensor, "obs"), 1, false, wire.AppendBatch(nil, b))
				if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
					st.mu.Lock()
					st.acked = append(st.acked, sentBatch{site, sensor, id})
					st.mu.Unlock()
				}
			}
		}
	}()
	return st
}

// stop stops publishing and returns the batches the broker acknowledged.
func (st *steady) stop() []sentBatch {
	close(st.quit)
	<-st.done
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]sentBatch(nil), st.acked...)
}

// wait waits until n more batches have been acknowledged.
func (st *steady) wait(t *testing.T, n int) {
	t.Helper()
	to := st.count() + n
	eventually(t, fmt.Sprintf("%d more batches acknowledged", n), func() bool { return st.count() >= to })
}

func (st *steady) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.acked)
}

// quiesce waits until the instances' ingest has taken nothing for half a
// second.
func quiesce(ins ...*instance) {
	total := func() int64 {
		var n int64
		for _, in := range ins {
			n += in.srv.sub.C.Messages.Load()
		}
		return n
	}
	last := total()
	for i := 0; i < 60; i++ {
		time.Sleep(500 * time.Millisecond)
		if n := total(); n == last {
			return
		} else {
			last = n
		}
	}
}

// checkEveryBatch checks that each acknowledged batch is stored exactly once
// and journaled by at least one of the instances whose data directories are
// dirs.
func checkEveryBatch(t *testing.T, dbURL string, dirs []string, acked []sentBatch) {
	t.Helper()
	lost, twice, unjournaled := countStored(t, dbURL, dirs, acked)
	if lost > 0 || twice > 0 || unjournaled > 0 {
		t.Errorf("%d of %d acknowledged batches not stored, %d stored more than once, %d in no journal",
			lost, len(acked), twice, unjournaled)
	}
}

// countStored counts (and logs) the acknowledged batches stored not at all,
// more than once, and in none of the journals of the instances whose data
// directories are dirs.
func countStored(t *testing.T, dbURL string, dirs []string, acked []sentBatch) (lost, twice, unjournaled int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := map[sentBatch]int{}
	journaled := map[sentBatch]int{}
	where := map[sentBatch][]string{}
	sites := map[string]bool{}
	for _, k := range acked {
		sites[k.site] = true
	}
	now := time.Now().UnixMilli()
	for site := range sites {
		err := st.ScanBatches(ctx, site, now-3600_000, now+3600_000, func(b *store.RawBatch) error {
			stored[sentBatch{site, b.Batch.Sensor, b.Batch.ID}]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, dir := range dirs {
			files, err := filepath.Glob(filepath.Join(dir, "journal", site, "*.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			err = ingest.ReadJournal(files, func(l *wire.Line) error {
				journaled[sentBatch{site, l.Batch.Sensor, l.Batch.ID}]++
				k := sentBatch{site, l.Batch.Sensor, l.Batch.ID}
				where[k] = append(where[k], fmt.Sprintf("%s@%d", filepath.Base(dir), l.Recv))
				return nil
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// The runs of batches lost one after the other, by site: a handover
	// loses one run.
	var runs []string
	run := func(site string, from, to int64) {
		runs = append(runs, fmt.Sprintf("%s #%d-#%d (%d)", site, from, to, to-from+1))
	}
	open := map[string][2]int64{}
	for _, k := range acked {
		if stored[k] == 0 {
			if r, ok := open[k.site]; ok && r[1] == k.id-1 {
				open[k.site] = [2]int64{r[0], k.id}
				continue
			} else if ok {
				run(k.site, r[0], r[1])
			}
			open[k.site] = [2]int64{k.id, k.id}
		}
	}
	for site, r := range open {
		run(site, r[0], r[1])
	}
	sort.Strings(runs)
	for _, k := range acked {
		switch n := stored[k]; {
		case n == 0:
			lost++
			if journaled[k] > 0 {
				t.Logf("%s/%s#%d journaled but not stored: %v", k.site, k.sensor, k.id, where[k])
			}
		case n > 1:
			twice++
		}
		if journaled[k] == 0 {
			unjournaled++
		}
	}
	t.Logf("%d batches acknowledged by the broker: %d not stored (runs: %v), %d stored more than once, %d in no journal",
		len(acked), lost, runs, twice, unjournaled)
	return lost, twice, unjournaled
}

// TestClusterHandoverLosesNothing publishes batches steadily, as sensors
// do, while a site moves from one instance to another: a shuts down and b
// takes its site, then a comes back and b gives one site back to it. Every
// batch the broker acknowledged must reach a journal and the store, once.
// Before per-site sessions, an instance subscribed to a site only once it
// held the lease and had rebuilt the site, and the one before stopped
// taking its batches when it stopped: what came between was queued in the
// old instance's session (and rejected as unknown when it came back).
//
// It runs on the test's Mosquitto, and with PASSANT_TEST_MOCHI_HANDOVER=1
// on the embedded broker (mochi) too, which a cluster may share: mochi
// loses a batch published in the instant a session is taken over (its
// inheritClientSession moves the old session's unacknowledged messages to
// the new client and clears them, while publishes still go to the old
// one until the new one is registered): 2 runs of some 35 under CPU load
// lost one batch each (docs/reliability.md, "a cluster's handover without
// a gap").
func TestClusterHandoverLosesNothing(t *testing.T) {
	sites := []string{"shop1", "shop2"}
	t.Run("mosquitto", func(t *testing.T) {
		ca, cb := clusterPair(t, "pg", sites...)
		handOverSteadily(t, ca, cb, sites)
	})
	t.Run("embedded", func(t *testing.T) {
		if os.Getenv("PASSANT_TEST_MOCHI_HANDOVER") == "" {
			t.Skip("mochi loses a batch now and then at a session's takeover; set PASSANT_TEST_MOCHI_HANDOVER=1 to run")
		}
		ca, cb := clusterPair(t, "pe", sites...)
		mochi, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Prefix: ca.Prefix})
		if err != nil {
			t.Fatal(err)
		}
		defer mochi.Close()
		ca.MQTT, cb.MQTT = mochi.URL(), mochi.URL()
		handOverSteadily(t, ca, cb, sites)
	})
}

// handOverSteadily is TestClusterHandoverLosesNothing on the broker of ca
// and cb.
func handOverSteadily(t *testing.T, ca, cb Config, sites []string) {
	a := startInstance(t, ca)
	b := startInstance(t, cb)
	defer func() { b.stop() }()
	eventually(t, "the sites shared one and one", func() bool {
		return len(a.srv.Running()) == 1 && len(b.srv.Running()) == 1
	})
	pub := startSteady(t, ca, sites, 5*time.Millisecond)
	pub.wait(t, 200)

	// a shuts down: b takes its site.
	a.stop()
	eventually(t, "b runs both sites", func() bool { return len(b.srv.Running()) == 2 })
	pub.wait(t, 200)

	// a comes back: b gives it a site back.
	a = startInstance(t, ca)
	eventually(t, "the sites shared one and one again", func() bool {
		return len(a.srv.Running()) == 1 && len(b.srv.Running()) == 1
	})
	pub.wait(t, 200)

	acked := pub.stop()
	t.Logf("published %.0f batches a second to each site", float64(len(acked))/float64(len(sites))/time.Since(pub.began).Seconds())
	quiesce(a, b)
	a.stop()
	quiesce(b)
	b.stop()
	b = startInstance(t, cb) // for the deferred stop
	sort.Slice(acked, func(i, j int) bool { return acked[i].id < acked[j].id })
	checkEveryBatch(t, ca.DB, []string{ca.DataDir, cb.DataDir}, acked)
}

// childConfig is what TestClusterKilledInstanceLosesNothing gives the
// instance it runs in a process of its own (and kills).
type childConfig struct {
	Instance, DataDir, ClientID, Prefix, DB, MQTT string
	LeaseTTL                                      time.Duration
}

// runChild runs a cluster instance until the process is killed (or sent
// SIGTERM), saying "ready" on stdout once it has started.
func runChild(t *testing.T, js string) {
	var cc childConfig
	if err := json.Unmarshal([]byte(js), &cc); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	srv, err := New(Config{HTTP: "127.0.0.1:0", MQTT: cc.MQTT, DB: cc.DB, Prefix: cc.Prefix, Migrate: true, Cluster: true,
		LeaseTTL: cc.LeaseTTL, Instance: cc.Instance, DataDir: cc.DataDir, ClientID: cc.ClientID,
		Ready: func(string, string) { fmt.Println("ready") }})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// startChild starts cfg's instance in a process of its own and returns
// once it has started.
func startChild(t *testing.T, cfg Config) *exec.Cmd {
	t.Helper()
	js, err := json.Marshal(childConfig{Instance: cfg.Instance, DataDir: cfg.DataDir, ClientID: cfg.ClientID,
		Prefix: cfg.Prefix, DB: cfg.DB, MQTT: cfg.MQTT, LeaseTTL: cfg.LeaseTTL})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterKilledInstanceLosesNothing$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PASSANT_CLUSTER_CHILD="+string(js))
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "ready" {
			go io.Copy(io.Discard, out)
			return cmd
		}
	}
	cmd.Wait()
	t.Fatalf("instance %s ended before it started", cfg.Instance)
	return nil
}

// TestClusterKilledInstanceLosesNothing publishes batches steadily while an
// instance that runs a site is killed (SIGKILL, in a process of its own):
// the other takes the site once the lease has expired, with every batch
// the broker acknowledged meanwhile; and the killed one, started again,
// stores the batches it had journaled and acknowledged but not stored.
func TestClusterKilledInstanceLosesNothing(t *testing.T) {
	if js := os.Getenv("PASSANT_CLUSTER_CHILD"); js != "" {
		runChild(t, js)
		return
	}
	sites := []string{"shop1", "shop2"}
	ca, cb := clusterPair(t, "pd", sites...)
	a := startInstance(t, ca)
	defer func() { a.stop() }()
	pub := startSteady(t, ca, sites, 5*time.Millisecond)
	pub.wait(t, 200)

	// b, in a process of its own, takes a site from a.
	b := startChild(t, cb)
	eventually(t, "the sites shared one and one", func() bool { return len(a.srv.Running()) == 1 })
	pub.wait(t, 400)

	// b is killed: a takes its site once the lease has expired.
	b.Process.Signal(syscall.SIGKILL)
	b.Wait()
	eventually(t, "a runs both sites", func() bool { return len(a.srv.Running()) == 2 })
	pub.wait(t, 200)
	acked := pub.stop()
	t.Logf("published %.0f batches a second to each site", float64(len(acked))/float64(len(sites))/time.Since(pub.began).Seconds())
	quiesce(a)

	// b comes back; then both stop.
	b = startChild(t, cb)
	b.Process.Signal(syscall.SIGTERM)
	b.Wait()
	a.stop()
	a = startInstance(t, ca) // for the deferred stop
	checkEveryBatch(t, ca.DB, []string{ca.DataDir, cb.DataDir}, acked)
}

// TestClusterSessionReconnects: a site session does not reconnect by
// itself like the server's own client (it must not take the session back
// from a new holder); it connects again while its instance holds the lease.
// Here the broker restarts (the embedded one, which forgets its sessions):
// the holder's session connects again and subscribes, and takes the
// batches sent after.
func TestClusterSessionReconnects(t *testing.T) {
	ca, _ := clusterPair(t, "pr", "shop1")
	mochi, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Prefix: ca.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	addr := mochi.Addr()
	ca.MQTT = mochi.URL()
	a := startInstance(t, ca)
	defer a.stop()
	eventually(t, "a runs the site", func() bool { return len(a.srv.Running()) == 1 })
	r := a.srv.runner("shop1")
	sent := publishEach(t, ca, []string{"shop1"}, 5)
	eventually(t, "the batches taken", func() bool { return processed(r) == sent })

	mochi.Close()
	mochi, err = broker.Start(broker.Config{Addr: addr, Prefix: ca.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer mochi.Close()
	// Until the session has subscribed again, the broker (which forgot the
	// session) drops what comes: a batch is sent at each look, with
	// another boot, until one is taken.
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(ca.MQTT).SetClientID(ca.Prefix + "-pub2"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	id := int64(0)
	eventually(t, "a batch after the restart taken", func() bool {
		id++
		now := time.Now().UnixMilli()
		b := &wire.Batch{V: 1, Sensor: "a", Boot: 2, ID: id, Sent: now,
			Obs: []wire.Observation{{T: now, Dev: wire.Dev(id), RSSI: -60, Seq: int(id)}}}
		if tok := pub.Publish(wire.Topic(ca.Prefix, "shop1", "a", "obs"), 1, false, wire.AppendBatch(nil, b)); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		return processed(r) > sent
	})
}
