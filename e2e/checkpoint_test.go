package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// TestServerKilledAcrossDays runs three mornings of a busy shop (the same
// each day) through the passant binary, and again with a SIGKILL in the
// middle of the third morning, the journal of the first two made
// unreadable (a restarted server replays only yesterday and today; these
// days stand for older ones) and a start: the server reads the checkpoint
// it wrote at the midnight before the third morning and replays the
// journal after it, and the third day's report is the one of the run
// without the kill.
func TestServerKilledAcrossDays(t *testing.T) {
	m := StartMosquitto(t)
	var items []Item
	var site *wire.Site
	var day3 time.Time
	var split int // in the middle of the third morning
	for d := range 3 {
		from := simFrom.Add(time.Duration(d) * 24 * time.Hour)
		rec := Record(t, "small", busy(51), from, simSpan())
		site, day3 = rec.Site, from
		if d == 2 {
			split = len(items) + len(rec.Items)/2
			items = append(items, rec.Items...)
			items = append(items, rec.Tail(from.Add(simSpan()+time.Hour))...)
		} else {
			items = append(items, rec.Items...)
		}
	}
	from3, to3 := Day(site, day3)
	ctx := context.Background()

	run := func(name string, kill bool) (report []byte, log string) {
		t.Helper()
		dir := t.TempDir()
		keepOnFailure(t, dir)
		port := FreePort(t)
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		sitePath := simtest.WriteSite(t, t.TempDir(), site)
		p := StartPassant(t, dir, "serve", "--mqtt", m.URL(), "--http", fmt.Sprintf("127.0.0.1:%d", port),
			"--data", dir, "--site", sitePath, "--auth=false", "--client-id", "passant-e2e-"+name)
		WaitHealthy(t, base, time.Minute)
		pub := NewPublisher(t, m.URL(), "e2e-sensors-"+name)
		send := func(items []Item, upTo int) {
			t.Helper()
			if err := pub.Send(ctx, site.Site, items, 8); err != nil {
				t.Fatal(err)
			}
			waitBatches(t, base, site.Site, upTo, p.Log)
		}
		if !kill {
			send(items, len(items))
		} else {
			send(items[:split], split)
			p.Signal(syscall.SIGKILL)
			simtest.BlankJournal(t, filepath.Join(dir, "journal", site.Site), from3)
			p.Start()
			WaitHealthy(t, base, time.Minute)
			send(items[split:], len(items))
		}
		var rep wire.Report
		GetJSON(t, fmt.Sprintf("%s/api/sites/%s/report?from=%d&to=%d", base, site.Site, from3, to3), &rep)
		p.Signal(syscall.SIGTERM)
		logs, _ := os.ReadFile(p.Log)
		data, _ := json.MarshalIndent(rep, "", " ")
		return data, string(logs)
	}
	want, _ := run("straight", false)
	got, logs := run("killed", true)
	if !strings.Contains(logs, "checkpoint written") || !strings.Contains(logs, "recovered from the checkpoint") {
		t.Fatalf("no checkpoint written and read:\n%s", grepLines(logs, "checkpoint"))
	}
	if !bytes.Equal(got, want) {
		t.Errorf("day 3 after a kill and a start from the checkpoint differs from the run without:\nkilled: %s\nwithout: %s", got, want)
	}
	var rep wire.Report
	json.Unmarshal(want, &rep)
	if rep.Totals.Visitors == 0 {
		t.Fatal("no visitors on day 3")
	}
	t.Logf("day 3: %d visitors, %d returning, %d passers-by, the same after the kill; %s", rep.Totals.Visitors,
		rep.Totals.Returning, rep.Totals.Passersby, grepLines(logs, "recovered from the checkpoint"))
}

// waitBatches waits until the site's sensors report n batches taken.
func waitBatches(t *testing.T, base, site string, n int, logPath string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var hs []web.SensorHealth
		GetJSON(t, base+"/api/sites/"+site+"/sensors", &hs)
		var got int64
		for _, h := range hs {
			got += h.Batches
		}
		if got == int64(n) {
			return
		}
		if got > int64(n) || time.Now().After(deadline) {
			logs, _ := os.ReadFile(logPath)
			t.Fatalf("server took %d batches, %d were sent\n%s", got, n, tail(string(logs), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
