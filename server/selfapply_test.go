package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/passant/passant/calibration"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

// callJSON sends a request to the server's API and decodes the answer
// into v (nil: dropped); it returns the status.
func callJSON(t *testing.T, srv *Server, method, path string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+srv.HTTPAddr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s %s: %d, %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

// selfApplyOverHTTP applies the self-calibration of the transmitting
// sensors' shop (s3 lost 4 dB) as the calibration page does: s3 only is
// written, as a new version (source selfcal) that the live pipeline takes
// with no restart, and one call reverts it.
func selfApplyOverHTTP(t *testing.T, srv *Server, site *wire.Site) {
	t.Helper()
	const p = "/api/sites/tx/calibration/"
	var prop struct {
		Enabled    bool                       `json:"enabled"`
		Sensors    []calibration.SelfProposed `json:"sensors"`
		Applicable int                        `json:"applicable"`
	}
	if c := callJSON(t, srv, "GET", p+"selfcal", &prop); c != 200 || !prop.Enabled || len(prop.Sensors) != len(site.Sensors) {
		t.Fatalf("selfcal: %d %+v", c, prop)
	}
	var s3 float64
	for _, sp := range prop.Sensors {
		t.Logf("selfcal %s: %.2f -> %.2f dB (%+.2f), %d links, held-out %.2f / %.2f dB, apply %v %s", sp.ID, sp.Site.RSSI1m,
			sp.Proposed.RSSI1m, sp.Change, sp.Links, sp.HeldKeep, sp.HeldFit, sp.Apply, sp.Reason)
		if sp.ID == "s3" {
			s3 = sp.Proposed.RSSI1m
			if !sp.Apply || math.Abs(sp.Change+4) > 0.5 || sp.Links != 4 {
				t.Errorf("s3: %+v, want applied, -4 ± 0.5 dB from 4 links", sp)
			}
		} else if sp.Apply || sp.Reason == "" {
			t.Errorf("%s: %+v, want refused with a reason", sp.ID, sp)
		}
	}
	before, v0, err := srv.store.Site(context.Background(), "tx")
	if err != nil {
		t.Fatal(err)
	}
	var applied calibration.SelfApplied
	if c := callJSON(t, srv, "POST", p+"selfcal/apply", &applied); c != 200 || applied.Previous != v0.Version ||
		applied.Version != v0.Version+1 || len(applied.Sensors) != 1 || applied.Sensors[0] != "s3" || len(applied.Refused) != 3 {
		t.Fatalf("selfcal/apply: %d %+v", c, applied)
	}
	// Stored with its source, and live: the runner locates with it.
	after, v1, err := srv.store.Site(context.Background(), "tx")
	if err != nil || v1.Source != "selfcal" || after.Sensors[2].RSSI1m == nil || *after.Sensors[2].RSSI1m != s3 {
		t.Fatalf("stored after apply: %v %+v %+v", err, v1, after.Sensors[2])
	}
	r := srv.runner("tx")
	eventually(t, "the live pipeline takes the self-calibrated site", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.site.SensorRadio(2).RSSI1m == s3
	})
	// Nothing is left to apply; one call reverts.
	var none map[string]any
	if c := callJSON(t, srv, "POST", p+"selfcal/apply", &none); c != http.StatusConflict || none["refused"] == nil {
		t.Errorf("second apply: %d %v", c, none)
	}
	var rv struct{ Version int }
	if c := callJSON(t, srv, "POST", p+"selfcal/revert", &rv); c != 200 || rv.Version != v1.Version+1 {
		t.Fatalf("selfcal/revert: %d %+v", c, rv)
	}
	reverted, _, _ := srv.store.Site(context.Background(), "tx")
	if b, a := before.SensorRadio(2).RSSI1m, reverted.SensorRadio(2).RSSI1m; a != b {
		t.Errorf("s3 after revert %.2f dB, before apply %.2f", a, b)
	}
	eventually(t, "the live pipeline takes the reverted site", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.site.SensorRadio(2).RSSI1m == before.SensorRadio(2).RSSI1m
	})
	if c := callJSON(t, srv, "GET", p+"selfcal", &prop); c != 200 || prop.Applicable != 1 {
		t.Errorf("after revert: %d %+v", c, prop)
	}
}

// selfApplyInBrowser does what selfApplyOverHTTP does on the calibration
// page in headless Chromium, against the real server: the table offers s3
// only, "Apply self-calibration" stores a selfcal version that the live
// runner takes, "Revert" restores the one before.
func selfApplyInBrowser(t *testing.T, srv *Server) {
	ctx := webtest.Browser(t)
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	run := webtest.Steps(t, ctx, c)
	_, v0, err := srv.store.Site(context.Background(), "tx")
	if err != nil {
		t.Fatal(err)
	}
	run("open the page", chromedp.Navigate("http://"+srv.HTTPAddr()+"/static/calibrate.html?site=tx"),
		chromedp.WaitVisible(chromedp.CSS(`#selfcal tr[data-sensor="s3"][data-apply="true"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#selfcal tr[data-sensor="s1"][data-apply="false"]`)),
		chromedp.WaitEnabled(chromedp.CSS(`#selfapply`)))
	webtest.Screenshot(t, c, "selfcal")
	run("apply", chromedp.Click(chromedp.CSS(`#selfapply`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-selfapplied="%d"]`, v0.Version+1))))
	st, v1, err := srv.store.Site(context.Background(), "tx")
	if err != nil || v1.Source != "selfcal" || st.Sensors[2].RSSI1m == nil || st.Sensors[0].RSSI1m != nil {
		t.Fatalf("stored after the page's apply: %v %+v", err, v1)
	}
	r := srv.runner("tx")
	eventually(t, "the live pipeline takes the self-calibrated site", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.site.SensorRadio(2).RSSI1m == *st.Sensors[2].RSSI1m
	})
	run("revert", chromedp.WaitVisible(chromedp.CSS(`#selfrevert`)), chromedp.Click(chromedp.CSS(`#selfrevert`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-selfreverted="%d"]`, v1.Version+1))),
		chromedp.WaitVisible(chromedp.CSS(`#selfcal tr[data-sensor="s3"][data-apply="true"]`)))
	if st, _, _ := srv.store.Site(context.Background(), "tx"); st.Sensors[2].RSSI1m != nil {
		t.Errorf("s3 after the page's revert: %v", *st.Sensors[2].RSSI1m)
	}
}
