package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
)

// TestHugeBoundsRefused: heatmaps, their hourly tiles and the accuracy map
// are grids over a site's bounds, and the bounds were not limited: an
// installer's PUT of a site with bounds of 10,000 km (by mistake or not)
// was stored, and the site runner's tiles asked for 4 x 10^14 cells: the
// server panicked and, the site stored, again at every start. Such bounds
// are refused now (wire.MaxBoundsSide), and a viewer's heatmap over the
// largest bounds with a small cell is refused too (web.MaxHeatCells) where
// it asked for 10^8 cells (800 MB).
func TestHugeBoundsRefused(t *testing.T) {
	dir := t.TempDir()
	in := startInstance(t, Config{HTTP: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", SiteFiles: []string{testSiteFile(t, dir, "shop")},
		DataDir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer in.stop()
	base := "http://" + in.srv.HTTPAddr() + "/api/sites/shop"
	do := func(method, path string, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		msg, _ := io.ReadAll(res.Body)
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return res.StatusCode, string(msg)
	}
	site := func(side float64) []byte {
		return []byte(fmt.Sprintf(`{"site":"shop","bounds":[[%g,%g],[%g,%g]],
		 "sensors":[{"id":"a","x":0,"y":0,"z":2.5},{"id":"b","x":20,"y":0,"z":2.5},{"id":"c","x":20,"y":15,"z":2.5}],
		 "zones":[{"id":"store","kind":"store","polygon":[[0,0],[20,0],[20,15],[0,15]]}]}`, -side/2, -side/2, side/2, side/2))
	}
	if code, msg := do("PUT", "", site(1e7)); code != http.StatusBadRequest {
		t.Fatalf("PUT a site of 10,000 km: %d %s, want 400", code, msg)
	}
	if code, msg := do("PUT", "", site(1000)); code != 200 {
		t.Fatalf("PUT a site of 1 km: %d %s", code, msg)
	}
	if code, msg := do("GET", "/heatmap?cell=0.1", nil); code != http.StatusBadRequest {
		t.Errorf("heatmap of 1 km at 0.1 m: %d %s, want 400", code, msg)
	}
	for _, p := range []string{"/heatmap", "/heatmap?cell=1", "/heatmap.png"} {
		if code, msg := do("GET", p, nil); code != 200 {
			t.Errorf("GET %s of 1 km: %d %s", p, code, msg)
		}
	}
}
