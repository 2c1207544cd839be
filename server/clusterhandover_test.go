package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

// slowWrites is a store whose writes of raw batches wait while it is held:
// a database that takes its time.
type slowWrites struct {
	store.Store
	held    atomic.Bool
	release chan struct{}
}

func (s *slowWrites) WriteBatches(ctx context.Context, bs []store.RawBatch) error {
	if s.held.Load() {
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Store.WriteBatches(ctx, bs)
}

// TestClusterHandOverAtShutdown stops an instance whose last batches are
// still being written (a slow database): the instance that takes its sites
// over rebuilds them from the stored observations, so the stopping one must
// hold its leases (renewing them) until the writer has stored everything,
// and only then give them back. Before, it gave them back the moment its
// context ended, and the other instance took the sites and rebuilt them
// without the batches still on their way to the database.
func TestClusterHandOverAtShutdown(t *testing.T) {
	mqttURL := os.Getenv("PASSANT_TEST_MQTT")
	if mqttURL == "" || os.Getenv("PASSANT_TEST_POSTGRES") == "" {
		t.Skip("set PASSANT_TEST_MQTT and PASSANT_TEST_POSTGRES to run")
	}
	dbURL := storetest.PostgresURL(t)
	dir := t.TempDir()
	prefix := fmt.Sprintf("ph%d", time.Now().UnixNano())
	var files []string
	for _, id := range []string{"shop1", "shop2", "shop3", "shop4"} {
		files = append(files, testSiteFile(t, dir, id))
	}
	const ttl = 1500 * time.Millisecond
	base := Config{HTTP: "127.0.0.1:0", MQTT: mqttURL, DB: dbURL, Prefix: prefix, Migrate: true,
		Cluster: true, LeaseTTL: ttl}
	slow := &slowWrites{release: make(chan struct{})}
	ca := base
	ca.Instance, ca.SiteFiles, ca.DataDir, ca.ClientID = "a", files, filepath.Join(dir, "a"), prefix+"-a"
	ca.wrapStore = func(st store.Store) store.Store { slow.Store = st; return slow }
	a := startInstance(t, ca)
	cb := base
	cb.Instance, cb.DataDir, cb.ClientID = "b", filepath.Join(dir, "b"), prefix+"-b"
	b := startInstance(t, cb)
	defer b.stop()
	eventually(t, "the sites shared two and two", func() bool {
		return len(a.srv.Running()) == 2 && len(b.srv.Running()) == 2
	})
	mine := a.srv.Running()

	slow.held.Store(true)
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mqttURL).SetClientID(prefix + "-pub"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	const per = 20
	now := time.Now().UnixMilli()
	for i := int64(1); i <= per; i++ {
		for _, site := range mine {
			for _, sensor := range []string{"a", "b", "c"} {
				b := &wire.Batch{V: 1, Sensor: sensor, Boot: 1, ID: i, Sent: now + i*1000,
					Obs: []wire.Observation{{T: now + i*1000, Dev: wire.Dev(i), RSSI: -60, Seq: int(i)}}}
				tok := pub.Publish(wire.Topic(prefix, site, sensor, "obs"), 1, false, wire.AppendBatch(nil, b))
				if tok.Wait() && tok.Error() != nil {
					t.Fatal(tok.Error())
				}
			}
		}
	}
	want := int64(per * 3)
	eventually(t, "a's sites took every batch", func() bool {
		for _, site := range mine {
			if r := a.srv.runner(site); r == nil || processed(r) != want {
				return false
			}
		}
		return true
	})
	stopped := make(chan struct{})
	go func() { a.stop(); close(stopped) }()
	// The database takes two leases' lengths to store a's last batches.
	time.Sleep(2 * ttl)
	close(slow.release)
	<-stopped
	eventually(t, "b runs every site", func() bool { return len(b.srv.Running()) == 4 })
	for _, site := range mine {
		if !slices.Contains(b.srv.Running(), site) {
			t.Fatalf("b does not run %s", site)
		}
		if n := processed(b.srv.runner(site)); n != want {
			t.Errorf("%s: b rebuilt it from %d stored batches; a took %d", site, n, want)
		}
	}
}
