package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

// TestClusterSiteChangeKeepsUnstoredBatches changes a site on a cluster
// instance whose last batches are still on their way to a slow database:
// in a cluster the runner is rebuilt from the stored observations (the
// journal may be another instance's), so it must wait for the writer to
// store what it took first. Before, the rebuild left out every batch the
// writer still held.
func TestClusterSiteChangeKeepsUnstoredBatches(t *testing.T) {
	mqttURL := os.Getenv("PASSANT_TEST_MQTT")
	if mqttURL == "" || os.Getenv("PASSANT_TEST_POSTGRES") == "" {
		t.Skip("set PASSANT_TEST_MQTT and PASSANT_TEST_POSTGRES to run")
	}
	dbURL := storetest.PostgresURL(t)
	dir := t.TempDir()
	prefix := fmt.Sprintf("pr%d", time.Now().UnixNano())
	slow := &slowWrites{release: make(chan struct{})}
	cfg := Config{HTTP: "127.0.0.1:0", MQTT: mqttURL, DB: dbURL, Prefix: prefix, Migrate: true,
		Cluster: true, LeaseTTL: 1500 * time.Millisecond, Instance: "a", DataDir: filepath.Join(dir, "a"),
		ClientID: prefix + "-a", SiteFiles: []string{testSiteFile(t, dir, "shop1")},
		wrapStore: func(st store.Store) store.Store { slow.Store = st; return slow }}
	a := startInstance(t, cfg)
	defer a.stop()
	eventually(t, "a runs the site", func() bool { return slices.Equal(a.srv.Running(), []string{"shop1"}) })

	slow.held.Store(true)
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mqttURL).SetClientID(prefix + "-pub"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	const per = 20
	now := time.Now().UnixMilli()
	for i := int64(1); i <= per; i++ {
		for _, sensor := range []string{"a", "b", "c"} {
			b := &wire.Batch{V: 1, Sensor: sensor, Boot: 1, ID: i, Sent: now + i*1000,
				Obs: []wire.Observation{{T: now + i*1000, Dev: wire.Dev(i), RSSI: -60, Seq: int(i)}}}
			if tok := pub.Publish(wire.Topic(prefix, "shop1", sensor, "obs"), 1, false, wire.AppendBatch(nil, b)); tok.Wait() && tok.Error() != nil {
				t.Fatal(tok.Error())
			}
		}
	}
	want := int64(per * 3)
	r := a.srv.runner("shop1")
	eventually(t, "every batch taken", func() bool { return processed(r) == want })

	ctx := context.Background()
	site, _, err := a.srv.Site(ctx, "shop1")
	if err != nil {
		t.Fatal(err)
	}
	edited := *site
	edited.Zones = append(slices.Clone(site.Zones), wire.Zone{ID: "till", Kind: wire.ZoneArea,
		Polygon: []wire.Point{{0, 0}, {5, 0}, {5, 5}, {0, 5}}})
	// The database stores the held batches half a second into the change.
	go func() { time.Sleep(500 * time.Millisecond); close(slow.release) }()
	if _, err := a.srv.PutSite(ctx, &edited, "a till area"); err != nil {
		t.Fatal(err)
	}
	if n := processed(a.srv.runner("shop1")); n != want {
		t.Fatalf("after the site change the runner holds %d batches of the %d it took", n, want)
	}
}
