//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"
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
// system (a tmpfs) behind a private Mosquitto, and fills that file system
// while the simulated sensors publish. The server keeps running and
// locating (the middle third is processed), reports the failed writes
// (passant_journal_errors_total, the log, /healthz still answering) and
// acknowledges none of the batches it could not journal. Once space is
// back it recovers on its own: the batches of the failed writes are
// written (kept for the next round) and the last third is journaled with
// no error. After a restart the broker delivers again exactly what was not
// acknowledged (dropped as duplicates: as many as the failed writes), the
// journal holds every batch sent, and the day's report equals a replay of
// what was sent.
func TestJournalDiskFull(t *testing.T) {
	m := StartMosquitto(t)
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

	// The disk is full.
	free := fill(t, filepath.Join(dir, "journal"))
	if err := pub.Send(ctx, site, items[third:2*third], 8); err != nil {
		t.Fatal(err)
	}
	srv.WaitBatches(t, site, int64(2*third), time.Minute) // located all the same
	srv.WaitMetric(t, "passant_journal_errors_total", 1, time.Minute)
	if !strings.Contains(srv.Logs.String(), "journal sync failed") {
		t.Error("no journal failure in the log")
	}
	resp, err := http.Get("http://" + srv.HTTP + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz with the disk full: %v %v", resp, err)
	}
	resp.Body.Close()

	// Space is back: the next rounds write what failed, and the rest.
	free()
	failed := srv.Metric("passant_journal_errors_total")
	if err := pub.Send(ctx, site, items[2*third:], 8); err != nil {
		t.Fatal(err)
	}
	srv.WaitBatches(t, site, int64(len(items)), time.Minute)
	if now := srv.Metric("passant_journal_errors_total"); now != failed {
		t.Errorf("%g more journal errors after space came back", now-failed)
	}
	unique, obs := uniqueBatches(JournalLines(t, dir, site))
	if unique != len(items) || obs != rec.Obs {
		t.Errorf("journal after recovery: %d distinct batches with %d observations; sent %d with %d", unique, obs, len(items), rec.Obs)
	}
	ref, _ := ReplayItems(t, rec.Site, items)
	live, err := srv.Report(ctx, site, ref.Report.From, ref.Report.To)
	if err != nil {
		t.Fatal(err)
	}

	// A restart: the broker delivers what was not acknowledged again.
	srv.Stop()
	srv = StartServer(t, cfg)
	deadline := time.Now().Add(time.Minute)
	for srv.Metric("passant_batches_duplicate_total") < failed {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // anything acknowledged and delivered again would show now
	if dupes := srv.Metric("passant_batches_duplicate_total"); dupes != failed {
		t.Errorf("after a restart the broker delivered %g batches again; %g writes had failed (not acknowledged)", dupes, failed)
	}
	lines := JournalLines(t, dir, site)
	unique, obs = uniqueBatches(lines)
	if unique != len(items) || obs != rec.Obs {
		t.Errorf("journal after the restart: %d distinct batches with %d observations; sent %d with %d", unique, obs, len(items), rec.Obs)
	}
	SameJSON(t, "report after the disk was full, and of a replay of what was sent", live, ref.Report)
	t.Logf("%d batches sent; %g journal writes failed with the disk full and were delivered again after the restart; journal %d lines",
		len(items), failed, len(lines))
}
