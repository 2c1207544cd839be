package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passant/passant/sim/simtest"
)

// TestCheckpointRefusedLeavesNothing: a checkpoint refused after it was
// read (written for another configuration of the site, or its journal
// gone) must leave the runner as a start without one: before, the
// runner's own fields read from it stayed (the floor of the site's old
// version, which keeps a site change from storing yesterday's visits
// under the new plan; the first fix's time; the fixes counted).
func TestCheckpointRefusedLeavesNothing(t *testing.T) {
	site, bs := midnightBatches(t)
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, Log: log})
	sendAll(t, srv, site.Site, bs)
	stop()
	ck := filepath.Join(dir, "journal", site.Site, checkpointFile)
	if _, err := os.Stat(ck); err != nil {
		t.Fatalf("no checkpoint written: %v", err)
	}

	type fields struct{ floor, firstT, lastT, positions int64 }
	start := func() fields {
		t.Helper()
		srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, Log: log})
		defer stop()
		r := srv.runner(site.Site)
		r.mu.Lock()
		defer r.mu.Unlock()
		return fields{r.floor, r.firstT, r.lastT, r.positions}
	}
	// The site changed since (version 2: its floor is today's start).
	edited := *site
	edited.Name += " (renamed)"
	path = simtest.WriteSite(t, dir, &edited)
	from := len(logs.String())
	refused := start()
	if !strings.Contains(logs.String()[from:], "another configuration of the site") {
		t.Fatalf("the checkpoint was not refused:\n%s", logs.String()[from:])
	}
	os.Remove(ck)
	without := start()
	if refused != without {
		t.Errorf("after a refused checkpoint %+v, without one %+v", refused, without)
	}
}
