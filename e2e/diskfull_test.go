//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passant/passant/server"
)

// smallFS mounts a tmpfs of size bytes at dir (created) for the test and
// unmounts it after. It skips the test, saying why, where no file system
// can be mounted (not root, or no CAP_SYS_ADMIN in a container).
func smallFS(t *testing.T, dir string, size int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("size=%d,mode=0750", size)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		t.Skipf("cannot mount a small file system (tmpfs, %s) for the journal here: %v; "+
			"the disk-full test needs root with CAP_SYS_ADMIN", opts, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
}

// fill writes files into dir until its file system has no room left, and
// returns a function that removes them.
func fill(t *testing.T, dir string) (free func()) {
	t.Helper()
	chunk := make([]byte, 64<<10)
	var names []string
	for n := 0; len(chunk) >= 512; n++ {
		name := filepath.Join(dir, fmt.Sprintf("filler-%d", n))
		f, err := os.Create(name)
		if err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatal(err)
		}
		names = append(names, name)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
		f.Close()
		chunk = chunk[:len(chunk)/2]
	}
	return func() {
		for _, name := range names {
			if err := os.Remove(name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestJournalDiskFull runs the server with its journal on a small file
// system (a tmpfs) behind a private Mosquitto with Mosquitto's default
// in-flight window (max_inflight_messages 20: the broker sends the server
// no more than 20 messages it has not acknowledged), and fills that file
// system while the simulated sensors publish. The server keeps running,
// reports the failure (passant_journal_errors_total, passant_journal_up 0,
// /healthz 503 with the reason, the log) and acknowledges none of the
// batches it could not journal, so the broker stops at its window. Once
// space is back it resumes by itself, with no reconnect: the journal
// writes the kept lines, the pending batches are acknowledged, the window
// opens, and the server takes the rest of the morning (no stall of
// stallAfter). The journal then holds every batch sent exactly once (none
// was delivered twice), the day's report equals a replay of what was
// sent, and after a restart the broker has nothing to deliver again.
func TestJournalDiskFull(t *testing.T) {
	const window = 20 // Mosquitto's default max_inflight_messages
	m := StartMosquittoInflight(t, window)
	dir := t.TempDir()
	rec := Record(t, "small", busy(51), simFrom, simSpan())
	items := append(append([]Item(nil), rec.Items...), rec.Tail(simFrom.Add(simSpan()+time.Hour))...)
	var bytes int64
	for _, it := range items {
		bytes += int64(len(it.Payload)) + 64
	}
	smallFS(t, filepath.Join(dir, "journal"), 2*bytes+(1<<20))
	site := rec.Site.Site
	cfg := server.Config{DataDir: dir, MQTT: m.URL(), ClientID: "passant-e2e-disk-full",
		SiteFiles: []string{rec.WriteSite(t, t.TempDir())}}
	srv := StartServer(t, cfg)
	pub := NewPublisher(t, m.URL(), "e2e-sensors")
	ctx := context.Background()
	third := len(items) / 3

	if err := pub.Send(ctx, site, items[:third], 8); err != nil {
		t.Fatal(err)
	}
	srv.WaitBatches(t, site, int64(third), time.Minute)

	// The disk is full: the server takes what the broker's window lets
	// through, journals none of it and acknowledges none of it.
	free := fill(t, filepath.Join(dir, "journal"))
	if err := pub.Send(ctx, site, items[third:2*third], 8); err != nil {
		t.Fatal(err)
	}
	// Written again every 100 ms, failing each time.
	srv.WaitMetric(t, "passant_journal_errors_total", 3, time.Minute)
	waitFor(time.Minute, func() bool { got, _ := srv.Batches(t, site); return got > int64(third) })
	if !waitFor(time.Minute, func() bool { return srv.Metric("passant_journal_up") == 0 }) {
		t.Error("passant_journal_up is not 0 with the disk full")
	}
	if !strings.Contains(srv.Logs.String(), "journal cannot write") {
		t.Error("no journal failure in the log")
	}
	if code, body := healthz(t, srv); code != http.StatusServiceUnavailable || !strings.Contains(body, "journal") {
		t.Errorf("/healthz with the disk full: %d %q, want 503 saying the journal cannot write", code, body)
	}
	during, _ := srv.Batches(t, site)
	if during >= int64(2*third) {
		t.Errorf("the server took %d batches with the disk full: the broker sent more than its window of unacknowledged ones", during)
	}

	// Space is back: the server resumes by itself.
	free()
	if !waitFor(time.Minute, func() bool { return srv.Metric("passant_journal_up") == 1 }) {
		t.Error("passant_journal_up is not back to 1 after space came back")
	}
	failed := srv.Metric("passant_journal_errors_total")
	if err := pub.Send(ctx, site, items[2*third:], 8); err != nil {
		t.Fatal(err)
	}
	waitProgress(t, srv, site, int64(len(items)))
	if now := srv.Metric("passant_journal_errors_total"); now != failed {
		t.Errorf("%g more journal errors after space came back", now-failed)
	}
	if code, body := healthz(t, srv); code != http.StatusOK {
		t.Errorf("/healthz after space came back: %d %q", code, body)
	}
	logs := srv.Logs.String()
	if n := strings.Count(logs, "msg=subscribed"); n != 1 || strings.Contains(logs, "broker connection lost") {
		t.Errorf("the server subscribed %d times (connection lost: %v): it should resume with no reconnect",
			n, strings.Contains(logs, "broker connection lost"))
	}
	if !strings.Contains(logs, "journal writes again") {
		t.Error("no recovery of the journal in the log")
	}
	if err := srv.SyncJournal(); err != nil {
		t.Errorf("journal Sync after space came back: %v", err)
	}
	lines := JournalLines(t, dir, site)
	unique, obs := uniqueBatches(lines)
	if unique != len(items) || len(lines) != len(items) || obs != rec.Obs {
		t.Errorf("journal after recovery: %d lines, %d distinct batches with %d observations; sent %d with %d",
			len(lines), unique, obs, len(items), rec.Obs)
	}
	ref, _ := ReplayItems(t, rec.Site, items)
	live, err := srv.Report(ctx, site, ref.Report.From, ref.Report.To)
	if err != nil {
		t.Fatal(err)
	}
	SameJSON(t, "report after the disk was full, and of a replay of what was sent", live, ref.Report)

	// A restart: every batch was acknowledged, so the broker has nothing
	// to deliver again.
	srv.Stop()
	srv = StartServer(t, cfg)
	waitFor(10*time.Second, func() bool { return strings.Contains(srv.Logs.String(), "msg=subscribed") })
	time.Sleep(500 * time.Millisecond) // anything not acknowledged and delivered again would show now
	if dupes := srv.Metric("passant_batches_duplicate_total"); dupes != 0 {
		t.Errorf("after a restart the broker delivered %g batches again; all were journaled and should have been acknowledged", dupes)
	}
	t.Logf("%d batches sent; with the disk full (window %d) the server took %d (first third %d) and %g journal writes failed; "+
		"all taken after space came back, no reconnect; journal %d lines", len(items), window, during, third, failed, len(lines))
}

// stallAfter is how long waitProgress lets the server take no batch before
// it calls ingest stalled.
const stallAfter = 30 * time.Second

// waitProgress waits until the server's pipeline has taken n batches of
// site, failing when it takes none for stallAfter (ingest stalled) or more
// than n.
func waitProgress(t *testing.T, srv *Running, site string, n int64) {
	t.Helper()
	last, since := int64(-1), time.Now()
	for {
		got, _ := srv.Batches(t, site)
		switch {
		case got > n:
			t.Fatalf("site %s: pipeline took %d batches, more than the %d sent", site, got, n)
		case got == n:
			return
		case got != last:
			last, since = got, time.Now()
		case time.Since(since) > stallAfter:
			t.Fatalf("site %s: ingest stalled: %d of %d batches taken, none in the last %s", site, got, n, stallAfter)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor waits up to within until cond holds, and says whether it did.
func waitFor(within time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// healthz returns GET /healthz's status and body.
func healthz(t *testing.T, srv *Running) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + srv.HTTP + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}
