package server

import (
	"context"
	"strings"
	"testing"
)

// TestOfflineAlertSaysOffline: a sensor that announces itself offline (its
// retained last will, met at a start) before it sent anything this run
// raises the offline alert with a message that says so. Before, the
// message took its silence from a last batch at time zero: "sensor b has
// sent nothing for 489536h12m…" (56 years), on the alerts page and in the
// webhook.
func TestOfflineAlertSaysOffline(t *testing.T) {
	dir := t.TempDir()
	srv, stop := startServer(t, Config{SiteFiles: []string{testSiteFile(t, dir, "shop")}, DataDir: dir})
	defer stop()
	ctx := context.Background()
	srv.status("shop", "b", statusOffline())
	srv.checkAlerts(ctx, srv.runner("shop"))
	as, err := srv.Alerts(ctx, "shop", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Sensor != "b" || as[0].Kind != "offline" {
		t.Fatalf("alerts %+v, want b's offline alert", as)
	}
	if msg := as[0].Message; !strings.Contains(msg, "sensor b is offline") || strings.Contains(msg, "h") && strings.Contains(msg, "sent nothing for") {
		t.Fatalf("message %q", msg)
	}
}
