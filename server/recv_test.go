package server

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/wire"
)

// TestRecvAfterRestart: receive times go on after the newest one in the
// journal, also when that one is ahead of the clock (a burst pushes receive
// times ahead, and a restart follows), so the journal stays in receive
// order across restarts and across the UTC day its files are named by.
func TestRecvAfterRestart(t *testing.T) {
	dir := t.TempDir()
	sitePath := filepath.Join(dir, "site.json")
	if err := os.WriteFile(sitePath, []byte(anchorSiteJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	ahead := time.Now().Add(2 * time.Second).UnixMilli()
	j, err := ingest.OpenJournal(filepath.Join(dir, "journal"), 0)
	if err != nil {
		t.Fatal(err)
	}
	obs := []wire.Observation{{T: ahead - 3000, Dev: 0x1001, RSSI: -60, Seq: -1}}
	if err := j.Append("tx", ahead, &wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: 1, Sent: ahead - 2000, Obs: obs}); err != nil {
		t.Fatal(err)
	}
	j.Close()

	srv, stop := startServer(t, Config{SiteFiles: []string{sitePath}, DataDir: dir})
	defer stop()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(srv.BrokerURL()).SetClientID("recv-test"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	b := wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: 2, Sent: ahead - 1000, Obs: obs}
	if tok := pub.Publish(wire.Topic("passant", "tx", "s1", "obs"), 1, false, wire.AppendBatch(nil, &b)); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	r := srv.runner("tx")
	eventually(t, "the batch processed", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		var n int64
		for _, st := range r.pipe.Stats() {
			n += st.Batches
		}
		return n == 2
	})
	if err := srv.journal.Sync(); err != nil {
		t.Fatal(err)
	}
	files, err := srv.journal.Files("tx", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var recvs []int64
	ingest.ReadJournal(files, func(l *wire.Line) error { recvs = append(recvs, l.Recv); return nil }, nil)
	if len(recvs) != 2 || recvs[1] <= recvs[0] {
		t.Fatalf("journal receive times %v (the first was %d ms ahead of the clock at restart)", recvs, ahead-time.Now().UnixMilli())
	}
}
