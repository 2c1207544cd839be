package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestServerCrashAndRestart runs the passant binary against a private
// Mosquitto while simulated sensors publish, restarts it in order mid-day
// (SIGTERM) while visits are open, later kills it with SIGKILL, and starts
// it again each time: nothing acknowledged is lost (the journal holds every
// batch sent), the state is rebuilt from the journal, and the day's report
// equals a replay of what was sent — a run without the restarts.
func TestServerCrashAndRestart(t *testing.T) {
	m := StartMosquitto(t)
	rec := Record(t, "small", busy(31), simFrom, simSpan())
	items := append(append([]Item(nil), rec.Items...), rec.Tail(simFrom.Add(simSpan()+time.Hour))...)
	site := rec.Site.Site
	dir := t.TempDir()
	keepOnFailure(t, dir)
	port := FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := StartPassant(t, dir, "serve", "--mqtt", m.URL(), "--http", fmt.Sprintf("127.0.0.1:%d", port),
		"--data", dir, "--site", rec.WriteSite(t, t.TempDir()), "--auth=false", "--client-id", "passant-e2e-crash")
	WaitHealthy(t, base, time.Minute)
	pub := NewPublisher(t, m.URL(), "e2e-sensors")
	ctx := context.Background()

	restart := func(sig syscall.Signal, upTo int) {
		t.Helper()
		from := 0
		if upTo > len(items)/2 {
			from = len(items) / 3
		}
		if err := pub.Send(ctx, site, items[from:upTo-50], 8); err != nil {
			t.Fatal(err)
		}
		// The last batches before the signal are in flight.
		sent := make(chan error, 1)
		go func() { sent <- pub.Send(ctx, site, items[upTo-50:upTo], 8) }()
		time.Sleep(5 * time.Millisecond)
		p.Signal(sig)
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		p.Start()
		WaitHealthy(t, base, time.Minute)
	}
	restart(syscall.SIGTERM, len(items)/3)
	restart(syscall.SIGKILL, 2*len(items)/3)
	if err := pub.Send(ctx, site, items[2*len(items)/3:], 8); err != nil {
		t.Fatal(err)
	}
	waitBatches(t, base, site, len(items), p.Log)
	ref, _ := ReplayItems(t, rec.Site, items)
	var live wire.Report
	GetJSON(t, fmt.Sprintf("%s/api/sites/%s/report?from=%d&to=%d", base, site, ref.Report.From, ref.Report.To), &live)
	p.Signal(syscall.SIGTERM)

	lines := JournalLines(t, dir, site)
	unique, obs := uniqueBatches(lines)
	if unique != len(items) || obs != rec.Obs {
		t.Errorf("journal: %d distinct batches with %d observations; sent %d with %d", unique, obs, len(items), rec.Obs)
	}
	if ref.Report.Totals.Visitors == 0 {
		t.Fatal("no visitors in the simulated shop")
	}
	SameJSON(t, "reports after a restart and a crash, and of a replay of what was sent", &live, ref.Report)
	st := OpenStore(t, "", dir)
	n, err := st.CountObservations(ctx, site, 0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	if n != rec.Obs {
		logs, _ := os.ReadFile(p.Log)
		t.Errorf("stored %d observations, %d were sent (each once: journaled batches the writer had not stored when killed are stored on recovery)\n%s",
			n, rec.Obs, grepLines(string(logs), "recover"))
	}
	t.Logf("%d batches, %d observations sent; journal %d lines (redeliveries included); stored %d observations",
		len(items), rec.Obs, len(lines), n)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// keepOnFailure copies dir (the server's log and journal) to
// $PASSANT_TEST_ARTIFACTS/<test>-<time> when the test fails.
func keepOnFailure(t *testing.T, dir string) {
	art := os.Getenv("PASSANT_TEST_ARTIFACTS")
	if art == "" {
		return
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		dst := filepath.Join(art, fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano()))
		if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
			t.Logf("keeping %s: %v", dir, err)
			return
		}
		t.Logf("server log and journal kept in %s", dst)
	})
}
