package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// sensorBatch is a simulated sensor's batch, to publish later.
type sensorBatch struct {
	sensor string
	b      *wire.Batch
}

// publishBatches publishes batches to the server's broker, as the sensors
// would.
func publishBatches(t *testing.T, srv *Server, site string, bs []sensorBatch) {
	t.Helper()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(srv.BrokerURL()).SetClientID("test-sensors"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	for _, sb := range bs {
		tok := pub.Publish(wire.Topic("passant", site, sb.sensor, "obs"), 1, false, wire.AppendBatch(nil, sb.b))
		if tok.Wait(); tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
}

// logBuffer is a log's text, safe for the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCheckpointRestartAcrossDays runs three mornings of a shop with
// regulars through one server, and again through a server that stops in
// the middle of day 3 and starts again, with the journal of days 1 and 2
// made unreadable (as a journal older than yesterday is not replayed): the
// restarted server reads the checkpoint it wrote at the midnight before day
// 3 and replays the journal after it. Day 3's report must be the same, byte
// for byte: what the pipeline learned on days 1 and 2 is not lost. Without
// the checkpoint it was not (TestReturningAcrossRestart: 63 visitors
// against 60).
func TestCheckpointRestartAcrossDays(t *testing.T) {
	site, days := mornings(t, 3, 90*time.Minute)
	loc := site.Location()
	y, m, dd := time.Date(2026, 11, 13, 12, 0, 0, 0, time.UTC).In(loc).Date()
	from3 := time.Date(y, m, dd, 0, 0, 0, 0, loc).UnixMilli()
	to3 := time.Date(y, m, dd+1, 0, 0, 0, 0, loc).UnixMilli()
	ctx := context.Background()
	send := func(srv *Server, bs []sensorBatch) {
		t.Helper()
		sendAll(t, srv, site.Site, bs)
	}
	day3 := func(srv *Server) []byte {
		t.Helper()
		if err := srv.writer.drain(ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := srv.Report(ctx, site.Site, from3, to3)
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.MarshalIndent(rep, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	// The heatmap of each day: days 1 and 2 from the stored tiles (the
	// first hour, before the runner's first whole one, from the stored
	// positions), day 3 from memory (the checkpoint's and the replay's).
	heat := func(srv *Server) [][]float64 {
		t.Helper()
		var out [][]float64
		for d := 2; d >= 0; d-- {
			q := web.HeatmapQuery{Site: site.Site, From: time.UnixMilli(from3).AddDate(0, 0, -d).UnixMilli(),
				To: time.UnixMilli(to3).AddDate(0, 0, -d).UnixMilli()}
			h, err := srv.Heatmap(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, h.Values)
		}
		return out
	}

	// One server, all three days.
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir})
	for _, d := range days {
		send(srv, d)
	}
	want := day3(srv)
	wantHeat := heat(srv)
	stop()

	// Days 1 and 2 and half of day 3; a stop; the journal of days 1 and 2
	// unreadable; a start; the rest of day 3.
	dir = t.TempDir()
	path = simtest.WriteSite(t, dir, site)
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	srv, stop = startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, Log: log})
	half := len(days[2]) / 2
	send(srv, days[0])
	send(srv, days[1])
	send(srv, days[2][:half])
	if err := srv.writer.drain(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	if !strings.Contains(logs.String(), "checkpoint written") {
		t.Fatalf("no checkpoint written:\n%s", logs.String())
	}
	simtest.BlankJournal(t, filepath.Join(dir, "journal", site.Site), from3)
	srv, stop = startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, Log: log})
	defer stop()
	if !strings.Contains(logs.String(), "recovered from the checkpoint") {
		t.Fatalf("the restarted server did not read its checkpoint:\n%s", logs.String())
	}
	send(srv, days[2][half:])
	got := day3(srv)
	if !bytes.Equal(got, want) {
		t.Errorf("day 3 after a restart from the checkpoint differs from one server's:\nrestarted: %s\none server: %s", got, want)
	}
	for d, vs := range heat(srv) {
		var total float64
		for i, v := range vs {
			total += v
			if math.Abs(v-wantHeat[d][i]) > 1e-6 {
				t.Fatalf("day %d's heatmap after the restart: cell %d holds %.6f s, one server's %.6f s", d+1, i, v, wantHeat[d][i])
			}
		}
		if total < 3600 {
			t.Errorf("day %d's heatmap holds %.0f s: the test shows nothing", d+1, total)
		}
	}
	var rep wire.Report
	json.Unmarshal(want, &rep)
	t.Logf("day 3: %d visitors, %d returning, %d passers-by, the same after the restart", rep.Totals.Visitors, rep.Totals.Returning, rep.Totals.Passersby)
}

// TestCheckpointRefused: a corrupt checkpoint, or one of another site
// configuration, is refused with a log line, and the server replays the
// journal of yesterday and today as without one.
func TestCheckpointRefused(t *testing.T) {
	site, bs := midnightBatches(t) // either side of a local midnight: a checkpoint
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, Log: log})
	publishBatches(t, srv, site.Site, bs)
	n := int64(len(bs))
	eventually(t, "every batch processed", func() bool { return processed(srv.runner(site.Site)) == n })
	stop()
	ck := filepath.Join(dir, "journal", site.Site, checkpointFile)
	good, err := os.ReadFile(ck)
	if err != nil {
		t.Fatalf("no checkpoint written: %v\n%s", err, logs.String())
	}

	restart := func(why string) {
		t.Helper()
		from := len(logs.String())
		srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, Log: log})
		defer stop()
		out := logs.String()[from:]
		if !strings.Contains(out, "checkpoint is refused") || !strings.Contains(out, why) ||
			!strings.Contains(out, "recovered from the journal") {
			t.Fatalf("%s: not refused, or the journal not replayed:\n%s", why, out)
		}
		// Every batch replayed from the journal, none from the checkpoint.
		if got := processed(srv.runner(site.Site)); got != n {
			t.Errorf("%s: %d batches after the start, %d sent", why, got, n)
		}
	}
	bad := bytes.Clone(good)
	bad[len(bad)-100] ^= 0xff
	if err := os.WriteFile(ck, bad, 0o640); err != nil {
		t.Fatal(err)
	}
	restart("corrupt")

	// The site changed since (a zone moved).
	os.WriteFile(ck, good, 0o640)
	edited := *site
	edited.Name += " (renamed)"
	path = simtest.WriteSite(t, dir, &edited)
	restart("another configuration of the site")
}

// mornings simulates n mornings (from 9:00 UTC, span long, from 11
// November 2026) of a small shop with regulars, as its sensors send them.
func mornings(t *testing.T, n int, span time.Duration) (*wire.Site, [][]sensorBatch) {
	t.Helper()
	regs := &sim.Regulars{Seed: 11, N: 30, Share: 0.5}
	shop := simtest.Shop(t, "small", sim.Config{Seed: 43, Regulars: regs, ShoppersPerHour: 60})
	days := make([][]sensorBatch, n)
	for d := range days {
		from := time.Date(2026, 11, 11+d, 9, 0, 0, 0, time.UTC)
		simtest.Run(t, shop, from, from.Add(span), nil, func(sensor string, b *wire.Batch) error {
			days[d] = append(days[d], sensorBatch{sensor, b})
			return nil
		})
	}
	return shop.Site(), days
}

// sendAll publishes bs to srv and waits until the site's runner has taken
// them all.
func sendAll(t *testing.T, srv *Server, site string, bs []sensorBatch) {
	t.Helper()
	var n int64
	eventually(t, "the runner free", func() bool { n = processed(srv.runner(site)); return n >= 0 })
	publishBatches(t, srv, site, bs)
	n += int64(len(bs))
	eventually(t, "every batch processed", func() bool { return processed(srv.runner(site)) == n })
}

// sendStored is sendAll, then the runner's and the writer's rows stored.
func sendStored(t *testing.T, srv *Server, site string, bs []sensorBatch) {
	t.Helper()
	sendAll(t, srv, site, bs)
	ctx := context.Background()
	srv.runner(site).persist(ctx)
	if err := srv.writer.drain(ctx); err != nil {
		t.Fatal(err)
	}
}

// midnightBatches simulates a small shop's 40 minutes about a local
// midnight three days ago: a server that takes them writes a checkpoint.
func midnightBatches(t *testing.T) (*wire.Site, []sensorBatch) {
	t.Helper()
	shop := simtest.Shop(t, "small", sim.Config{Seed: 3, ShoppersPerHour: 60})
	site := shop.Site()
	loc := site.Location()
	y, m, d := time.Now().In(loc).Date()
	mid := time.Date(y, m, d-3, 0, 0, 0, 0, loc)
	var bs []sensorBatch
	simtest.Run(t, shop, mid.Add(-20*time.Minute), mid.Add(20*time.Minute), nil, func(sensor string, b *wire.Batch) error {
		bs = append(bs, sensorBatch{sensor, b})
		return nil
	})
	return site, bs
}
