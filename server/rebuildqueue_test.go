package server

import (
	"context"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/wire"
)

// TestSiteChangeWithBatchesQueued applies a site change while batches wait
// on the runner's queue: they are in the journal already, so the rebuild
// from the journal takes them, and the queue must not hand them to the new
// pipeline a second time. Before, each was taken twice: counted as a QoS 1
// redelivery (passant_batches_duplicate_total) when it had a boot and id,
// and located twice when it had none (both optional in the contract).
func TestSiteChangeWithBatchesQueued(t *testing.T) {
	dir := t.TempDir()
	srv, stop := startServer(t, Config{SiteFiles: []string{testSiteFile(t, dir, "shop")}, DataDir: dir})
	defer stop()
	ctx := context.Background()
	r := srv.runner("shop")
	site, _, err := srv.Site(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	// Hold the runner, as a long batch would, while batches come in.
	started, queued, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- r.inRunner(ctx, func() error {
			close(started)
			<-queued
			_, err := r.rebuild(ctx, site) // what a site change runs in the runner
			return err
		})
	}()
	<-started
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(srv.BrokerURL()).SetClientID("test-sensors"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	const n = 30
	now := time.Now().UnixMilli()
	for i := int64(1); i <= n; i++ {
		for _, sensor := range []string{"a", "b", "c"} {
			b := &wire.Batch{V: 1, Sensor: sensor, Sent: now + i*1000}
			if i%2 == 0 { // half with a boot and id, half without
				b.Boot, b.ID = 1, i
			}
			b.Obs = []wire.Observation{{T: now + i*1000, Dev: wire.Dev(i), RSSI: -60, Seq: int(i)}}
			if tok := pub.Publish(wire.Topic("passant", "shop", sensor, "obs"), 1, false, wire.AppendBatch(nil, b)); tok.Wait() && tok.Error() != nil {
				t.Fatal(tok.Error())
			}
		}
	}
	eventually(t, "every batch accepted and queued", func() bool {
		return srv.sub.C.Accepted.Load() == 3*n && len(r.in) == 3*n
	})
	if err := srv.SyncJournal(); err != nil {
		t.Fatal(err)
	}
	close(queued)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	eventually(t, "the queue taken", func() bool { return len(r.in) == 0 && processed(r) >= 3*n })
	time.Sleep(100 * time.Millisecond)
	r.mu.Lock()
	var batches, dupes int64
	for _, st := range r.pipe.Stats() {
		batches, dupes = batches+st.Batches, dupes+st.Dupes
	}
	r.mu.Unlock()
	if batches != 3*n || dupes != 0 {
		t.Fatalf("the pipeline took %d batches and %d duplicates; %d were sent, each once", batches, dupes, 3*n)
	}
}
