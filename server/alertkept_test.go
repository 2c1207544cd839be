package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
)

// TestAlertKeptAcrossRestart: a sensor goes offline and comes back while
// PostgreSQL is away (the test's proxy cut), and the server is restarted
// before the database is back. The alert raised meanwhile is kept on disk
// and stored once the database answers: raised when the sensor went and
// cleared when it came back. So is one kept for a sensor the site no longer
// has (no round of checkAlerts asks for it again). Before, kept alerts
// lived in memory only, and the restart lost them (the sensor being back,
// nothing raised them again).
func TestAlertKeptAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	db, proxy := storetest.Proxied(t, storetest.PostgresURL(t))
	var logs logBuffer
	cfg := Config{SiteFiles: []string{testSiteFile(t, dir, "shop")}, DataDir: dir, DB: db, Migrate: true,
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	srv, stop := startServer(t, cfg)
	ctx := context.Background()
	proxy.Cut()
	srv.status("shop", "b", statusOffline())
	srv.housekeepRound(ctx)
	goneAt := time.Now().Add(-time.Minute).UnixMilli()
	srv.alert(ctx, "shop", "gone", store.AlertClock, true, goneAt, "sensor gone clock is 5000 ms off the others")
	srv.housekeepRound(ctx)
	srv.status("shop", "b", ingest.Status{V: 1, State: "online"})
	srv.housekeepRound(ctx)
	if kept := srv.unstored.keys(); len(kept) != 2 {
		t.Fatalf("alerts kept during the outage %v, want 2 (b offline, gone's clock)", kept)
	}
	stop()
	stopped := time.Now().UnixMilli()

	proxy.Restore()
	srv, stop = startServer(t, cfg)
	defer stop()
	srv.housekeepRound(ctx)
	as, err := srv.Alerts(ctx, "shop", false)
	if err != nil {
		t.Fatal(err)
	}
	var b, gone bool
	for _, a := range as {
		switch {
		case a.Sensor == "b" && a.Kind == store.AlertOffline:
			b = a.Raised < stopped && a.Cleared != 0 && a.Cleared >= a.Raised && a.Cleared < stopped
		case a.Sensor == "gone" && a.Kind == store.AlertClock:
			gone = a.Raised == goneAt && a.Cleared != 0
		}
	}
	if !b || !gone {
		t.Fatalf("alerts after the restart %+v, want b's offline alert and gone's clock alert, raised and cleared", as)
	}
	if kept := srv.unstored.keys(); len(kept) != 0 {
		t.Errorf("alerts %v still kept once stored", kept)
	}
	if _, err := os.Stat(filepath.Join(dir, keptAlertsFile)); !os.IsNotExist(err) {
		t.Errorf("the kept alerts' file is still there once they are stored (%v)", err)
	}
	if !strings.Contains(logs.String(), "alerts kept before a restart") {
		t.Errorf("nothing logged of the alerts kept across the restart:\n%s", logs.String())
	}
}
