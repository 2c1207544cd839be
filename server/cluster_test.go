package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

func testSiteFile(t *testing.T, dir, id string) string {
	t.Helper()
	js := fmt.Sprintf(`{"site":%q,"bounds":[[-2,-8],[22,17]],
	 "sensors":[{"id":"a","x":0,"y":0,"z":2.5},{"id":"b","x":20,"y":0,"z":2.5},{"id":"c","x":20,"y":15,"z":2.5}],
	 "zones":[{"id":"store","kind":"store","polygon":[[0,0],[20,0],[20,15],[0,15]]}]}`, id)
	p := filepath.Join(dir, id+".json")
	if err := os.WriteFile(p, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type instance struct {
	srv    *Server
	cancel context.CancelFunc
	done   chan error
}

func startInstance(t *testing.T, cfg Config) *instance {
	t.Helper()
	ready := make(chan struct{})
	cfg.Ready = func(string, string) { close(ready) }
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{srv: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- srv.Run(ctx) }()
	select {
	case <-ready:
	case err := <-in.done:
		t.Fatalf("instance %s: %v", cfg.Instance, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("instance %s did not start", cfg.Instance)
	}
	return in
}

func (in *instance) stop() {
	in.cancel()
	<-in.done
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	// A generous bound: a loaded CI machine (or other tests' servers in
	// the package) can take several times what the condition takes alone
	// (TestReprocessKeepsWhatRetentionThinned: 7 s alone, over 30 s under
	// a load of 6 on 2 cores).
	for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not within 2 minutes: %s", what)
}

// clusterPair returns the configurations of two cluster instances, a and b,
// on the test broker and PostgreSQL, with a topic prefix of their own (tag
// and the time); a loads the site files of sites (none: shop1 to shop4).
// It skips the test without PASSANT_TEST_MQTT and PASSANT_TEST_POSTGRES.
func clusterPair(t *testing.T, tag string, sites ...string) (a, b Config) {
	t.Helper()
	mqttURL := os.Getenv("PASSANT_TEST_MQTT")
	if mqttURL == "" || os.Getenv("PASSANT_TEST_POSTGRES") == "" {
		t.Skip("set PASSANT_TEST_MQTT and PASSANT_TEST_POSTGRES to run")
	}
	if len(sites) == 0 {
		sites = []string{"shop1", "shop2", "shop3", "shop4"}
	}
	dir := t.TempDir()
	prefix := fmt.Sprintf("%s%d", tag, time.Now().UnixNano())
	var files []string
	for _, id := range sites {
		files = append(files, testSiteFile(t, dir, id))
	}
	base := Config{HTTP: "127.0.0.1:0", MQTT: mqttURL, DB: storetest.PostgresURL(t), Prefix: prefix, Migrate: true,
		Cluster: true, LeaseTTL: 1500 * time.Millisecond}
	a, b = base, base
	a.Instance, a.SiteFiles, a.DataDir, a.ClientID = "a", files, filepath.Join(dir, "a"), prefix+"-a"
	b.Instance, b.DataDir, b.ClientID = "b", filepath.Join(dir, "b"), prefix+"-b"
	// The test broker would keep the sites' persistent sessions for ever.
	t.Cleanup(func() {
		for _, id := range sites {
			c := paho.NewClient(paho.NewClientOptions().AddBroker(mqttURL).SetClientID(prefix + "-site-" + id).SetCleanSession(true))
			if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
				c.Disconnect(100)
			}
		}
	})
	return a, b
}

// publishEach publishes, on cfg's broker and prefix, per batches of one
// observation from each of the sensors a, b and c of every site, one a
// second of event time, and returns how many each site was sent.
func publishEach(t *testing.T, cfg Config, sites []string, per int64) int64 {
	t.Helper()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(cfg.MQTT).SetClientID(cfg.Prefix + "-pub"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	now := time.Now().UnixMilli()
	for i := int64(1); i <= per; i++ {
		for _, site := range sites {
			for _, sensor := range []string{"a", "b", "c"} {
				b := &wire.Batch{V: 1, Sensor: sensor, Boot: 1, ID: i, Sent: now + i*1000,
					Obs: []wire.Observation{{T: now + i*1000, Dev: wire.Dev(i), RSSI: -60, Seq: int(i)}}}
				tok := pub.Publish(wire.Topic(cfg.Prefix, site, sensor, "obs"), 1, false, wire.AppendBatch(nil, b))
				if tok.Wait() && tok.Error() != nil {
					t.Fatal(tok.Error())
				}
			}
		}
	}
	return per * 3
}

// TestClusterSharesSites runs two servers on one PostgreSQL and one broker:
// each site is handled by exactly one of them, shared evenly, and when one
// stops or freezes the other takes its sites over.
func TestClusterSharesSites(t *testing.T) {
	sites := []string{"shop1", "shop2", "shop3", "shop4"}
	ca, cb := clusterPair(t, "pt", sites...)
	mqttURL, prefix := ca.MQTT, ca.Prefix
	a := startInstance(t, ca)
	b := startInstance(t, cb)
	defer b.stop()

	eventually(t, "the sites shared two and two", func() bool {
		ra, rb := a.srv.Running(), b.srv.Running()
		all := append(append([]string(nil), ra...), rb...)
		sort.Strings(all)
		return len(ra) == 2 && len(rb) == 2 && slices.Equal(all, sites)
	})

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mqttURL).SetClientID(prefix + "-pub"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	id := int64(0)
	publish := func(n int) {
		for i := 0; i < n; i++ {
			for _, site := range sites {
				id++
				b := &wire.Batch{V: 1, Sensor: "a", Boot: 1, ID: id, Sent: time.Now().UnixMilli(),
					Obs: []wire.Observation{{T: time.Now().UnixMilli(), Dev: wire.Dev(id), RSSI: -60, Seq: 1}}}
				tok := pub.Publish(wire.Topic(prefix, site, "a", "obs"), 1, false, wire.AppendBatch(nil, b))
				if tok.Wait() && tok.Error() != nil {
					t.Fatal(tok.Error())
				}
			}
		}
	}
	accepted := func(in *instance) int64 { return in.srv.sub.C.Accepted.Load() }
	publish(5)
	eventually(t, "20 batches accepted once", func() bool { return accepted(a)+accepted(b) == 20 })
	time.Sleep(300 * time.Millisecond)
	if n := accepted(a) + accepted(b); n != 20 || accepted(a) != 10 {
		t.Fatalf("accepted a=%d b=%d, want 10 each", accepted(a), accepted(b))
	}

	// Instance a freezes: it stops renewing and goes away without giving its
	// leases back. After a lease's length b has every site.
	a.srv.leasePaused.Store(true)
	a.stop()
	eventually(t, "b runs every site", func() bool { return len(b.srv.Running()) == 4 })
	before := accepted(b)
	publish(5)
	eventually(t, "b takes every batch", func() bool { return accepted(b)-before == 20 })
}
