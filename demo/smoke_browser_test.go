package demo

// The dashboard's smoke test against the real server (see browser_test.go).

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/web/webtest"
)

// newSite is a shop just set up beside the demo's: its sensors placed, no
// zones drawn yet, nobody counted, in another time zone.
const newSite = `{"site": "smoke-new", "name": "New shop", "timezone": "America/New_York", "bounds": [[0, 0], [20, 12]],
	"sensors": [{"id": "a1", "x": 2, "y": 2, "z": 2.5}, {"id": "a2", "x": 18, "y": 2, "z": 2.5}, {"id": "a3", "x": 10, "y": 10, "z": 2.5}]}`

// TestBrowserSmoke: every view of the dashboard, on the demo's shop (days of
// history and a live shop) and on a new site with no data, at a desktop's
// and a phone's width, with each view's main interactions, throws nothing,
// logs no error, has no request fail or answered 5xx, and is not left
// loading (webtest.Smoke).
func TestBrowserSmoke(t *testing.T) {
	tab := webtest.Browser(t)
	base := sharedDemo(t)
	req, _ := http.NewRequest("PUT", base+"/api/sites/smoke-new", strings.NewReader(newSite))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("add the new site: %v %v", res, err)
	}
	res.Body.Close()
	problems := webtest.Smoke(t, tab, webtest.SmokeConfig{Base: base, Role: "admin", Calibrate: true,
		Sites: []webtest.SmokeSite{{ID: site, Data: true}, {ID: "smoke-new"}}}, 3*time.Minute)
	for _, p := range problems {
		t.Error(p)
	}
}
