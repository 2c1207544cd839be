package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/store"
)

// alertOutage is a store whose alerts cannot be written while armed: the
// database away while housekeeping raises and clears them.
type alertOutage struct {
	store.Store
	armed atomic.Bool
}

var errAlertsAway = errors.New("test: the database is away")

func (a *alertOutage) RaiseAlert(ctx context.Context, al store.Alert) (store.Alert, bool, error) {
	if a.armed.Load() {
		return store.Alert{}, false, errAlertsAway
	}
	return a.Store.RaiseAlert(ctx, al)
}

func (a *alertOutage) ClearAlert(ctx context.Context, site, sensor, kind string, t int64) (bool, error) {
	if a.armed.Load() {
		return false, errAlertsAway
	}
	return a.Store.ClearAlert(ctx, site, sensor, kind, t)
}

// TestAlertRaisedDuringOutage: a sensor goes offline and comes back while
// the database is away. The failed writes are logged (once, with the site,
// sensor and kind), and once the database is back the alert is stored,
// raised when the sensor went and cleared when it came back. Before, the
// errors went without a word and the alert was never stored: by the time
// the database was back there was nothing to raise.
func TestAlertRaisedDuringOutage(t *testing.T) {
	dir := t.TempDir()
	out := &alertOutage{}
	var logs logBuffer
	srv, stop := startServer(t, Config{SiteFiles: []string{testSiteFile(t, dir, "shop")}, DataDir: dir,
		Log:       slog.New(slog.NewTextHandler(&logs, nil)),
		wrapStore: func(st store.Store) store.Store { out.Store = st; return out }})
	defer stop()
	ctx := context.Background()
	r := srv.runner("shop")
	out.armed.Store(true)
	srv.status("shop", "b", statusOffline())
	srv.checkAlerts(ctx, r)
	srv.checkAlerts(ctx, r)
	srv.status("shop", "b", ingest.Status{V: 1, State: "online"})
	srv.checkAlerts(ctx, r)
	failed := 0
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "alert not stored") && strings.Contains(l, "site=shop") && strings.Contains(l, "sensor=b") &&
			strings.Contains(l, "kind=offline") && strings.Contains(l, "test: the database is away") {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d log lines of b's offline alert not stored, want 1:\n%s", failed, logs.String())
	}
	out.armed.Store(false)
	srv.checkAlerts(ctx, r)
	as, err := srv.Alerts(ctx, "shop", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Sensor != "b" || as[0].Kind != "offline" || as[0].Cleared == 0 || as[0].Cleared < as[0].Raised {
		t.Fatalf("alerts %+v, want b's offline alert, raised and cleared", as)
	}
	if !strings.Contains(logs.String(), "alert stored after the database came back") {
		t.Errorf("nothing logged when the alert was stored:\n%s", logs.String())
	}
}
