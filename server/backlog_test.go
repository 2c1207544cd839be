package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/replay"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// TestBacklogThroughJournal gives a site runner a queue of 4 batches, then
// the default queue with room for 64 KB of payloads, and a burst of a
// simulated shop's morning through the embedded broker, all published at
// once: the queue fills, ingest goes on, and the runner reads what it
// could not take from the journal. Every batch is processed exactly
// once, the backlog path was taken, and the live report and fixes equal a
// replay of the journal.
func TestBacklogThroughJournal(t *testing.T) {
	span := 20 * time.Minute
	if testing.Short() {
		span = 8 * time.Minute
	}
	shop := simtest.Shop(t, "small", sim.Config{Seed: 7, ShoppersPerHour: 120, PassersPerHour: 400})
	site := shop.Site()
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)

	// The morning, then an empty batch per sensor an hour after it, which
	// moves the live event time past the end as a replay's end does.
	from := time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC)
	type msg struct {
		topic   string
		payload []byte
	}
	var msgs []msg
	last := map[string]wire.Batch{}
	for _, b := range simtest.Batches(t, shop, from, from.Add(span), nil) {
		msgs = append(msgs, msg{wire.Topic("passant", site.Site, b.Sensor, "obs"), wire.AppendBatch(nil, b)})
		last[b.Sensor] = wire.Batch{Boot: b.Boot, ID: b.ID}
	}
	for _, se := range site.Sensors {
		l := last[se.ID]
		b := &wire.Batch{V: wire.Version, Sensor: se.ID, Boot: l.Boot, ID: l.ID + 1,
			Sent: from.Add(span + time.Hour).UnixMilli(), Obs: []wire.Observation{}}
		msgs = append(msgs, msg{wire.Topic("passant", site.Site, se.ID, "obs"), wire.AppendBatch(nil, b)})
	}

	// A queue of 4 batches; the default queue, with room for payloads of
	// 64 KB in all (Config.QueueBytes).
	for name, cfg := range map[string]Config{"queue=4": {QueueBatches: 4}, "bytes=64k": {QueueBytes: 64 << 10}} {
		t.Run(name, func(t *testing.T) {
			dataDir := filepath.Join(dir, name)
			cfg.SiteFiles, cfg.DataDir = []string{path}, dataDir
			srv, stop := startServer(t, cfg)
			defer stop()
			pub := paho.NewClient(paho.NewClientOptions().AddBroker(srv.BrokerURL()).SetClientID("test-burst"))
			if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			defer pub.Disconnect(100)
			var inflight []paho.Token
			for _, m := range msgs {
				inflight = append(inflight, pub.Publish(m.topic, 1, false, m.payload))
				if len(inflight) > 512 {
					if inflight[0].Wait(); inflight[0].Error() != nil {
						t.Fatal(inflight[0].Error())
					}
					inflight = inflight[1:]
				}
			}
			for _, tok := range inflight {
				if tok.Wait(); tok.Error() != nil {
					t.Fatal(tok.Error())
				}
			}
			sent := int64(len(msgs))
			r := srv.runner(site.Site)
			stats := func() (batches, dupes int64) {
				r.mu.Lock()
				defer r.mu.Unlock()
				for _, st := range r.pipe.Stats() {
					batches, dupes = batches+st.Batches, dupes+st.Dupes
				}
				return batches, dupes
			}
			eventually(t, "every batch processed", func() bool {
				b, d := stats()
				return b+d >= sent && !r.behind()
			})
			time.Sleep(200 * time.Millisecond) // anything processed twice would show now
			batches, dupes := stats()
			if batches != sent || dupes != 0 {
				t.Fatalf("pipeline took %d batches and dropped %d as duplicates; %d were sent", batches, dupes, sent)
			}
			var backlog, episodes float64
			for _, m := range srv.Metrics() {
				switch m.Name {
				case "passant_backlog_batches_total":
					backlog += m.Value
				case "passant_backlog_episodes_total":
					episodes += m.Value
				}
			}
			if backlog == 0 || episodes == 0 {
				t.Fatalf("the backlog path was not taken (%g batches in %g episodes); the test proves nothing", backlog, episodes)
			}
			t.Logf("%d batches sent; %g read from the journal in %g episodes", sent, backlog, episodes)

			// The live result is the replay of the journal.
			if err := srv.SyncJournal(); err != nil {
				t.Fatal(err)
			}
			files, err := ingest.JournalFiles(filepath.Join(dataDir, "journal"), site.Site, "", "")
			if err != nil {
				t.Fatal(err)
			}
			res, err := replay.Run(context.Background(), replay.Config{Site: site, Input: journalInput(t, files)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Lines != sent {
				t.Fatalf("journal holds %d lines, %d batches were sent", res.Lines, sent)
			}
			if res.Report.Totals.Passersby == 0 {
				t.Fatalf("the simulated shop had no passers-by: %+v", res.Report.Totals)
			}
			live, err := srv.Report(context.Background(), site.Site, res.Report.From, res.Report.To)
			if err != nil {
				t.Fatal(err)
			}
			lj, _ := json.Marshal(live)
			rj, _ := json.Marshal(res.Report)
			if !bytes.Equal(lj, rj) {
				t.Errorf("live and replay reports differ:\n live   %s\n replay %s", lj, rj)
			}
			r.mu.Lock()
			fixes := r.positions
			r.mu.Unlock()
			if fixes != res.Positions {
				t.Errorf("live server computed %d fixes, the replay %d", fixes, res.Positions)
			}
			checkMetricsWithoutLock(t, srv, r, fixes)

		})
	}
}

// checkMetricsWithoutLock scrapes the server's metrics while the site
// runner's lock is held, as it is while the runner locates a batch: the
// scrape must not wait for it, and must show the runner's fixes.
func checkMetricsWithoutLock(t *testing.T, srv *Server, r *siteRunner, fixes int64) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	got := make(chan float64, 1)
	go func() {
		for _, m := range srv.Metrics() {
			if m.Name == "passant_fixes_total" && m.Labels["site"] == r.id {
				got <- m.Value
				return
			}
		}
		got <- -1
	}()
	select {
	case v := <-got:
		if int64(v) != fixes {
			t.Errorf("metrics show %v fixes, the runner computed %d", v, fixes)
		}
	case <-time.After(time.Minute):
		t.Fatal("a metrics scrape waited for the site runner's lock")
	}
}

// journalInput reads journal files, in order, as one replay input.
func journalInput(t *testing.T, files []string) io.Reader {
	t.Helper()
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return bytes.NewReader(all)
}
