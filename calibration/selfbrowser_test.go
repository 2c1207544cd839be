package calibration

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

// TestBrowserSelfCalibration drives the calibration page's self-calibration
// in headless Chromium: six sensors heard each other for six hours, s2
// lost 4 dB after three; the page lists what applying would write (s2)
// and why the others are kept, "Apply self-calibration" writes s2 as a new
// version (source selfcal), "Revert" restores the one before.
func TestBrowserSelfCalibration(t *testing.T) {
	ctx := webtest.Browser(t)
	w := newWorld()
	sites := &sourceSites{memSites: memSites{versions: []*wire.Site{cloneSite(w.site)}}}
	svc := NewService(sites)
	svc.SelfWindow = 3600_000
	anchors := sensorAnchors(w.site, 0xa0)
	svc.SetAnchors("sim", anchors)
	rng := rand.New(rand.NewPCG(8, 9))
	ls := linkShadows(rng, len(anchors), 2)
	const t0 = 1764806400000 // on the hour: the refits fall where TestSelfApply's do
	selfShop(w, svc, rng, anchors, ls, t0, 0, 3, func(int, int) float64 { return 0 })
	selfShop(w, svc, rng, anchors, ls, t0, 3, 6, func(i, _ int) float64 {
		if i == 1 {
			return 4
		}
		return 0
	})
	mux := http.NewServeMux()
	mux.Handle("/api/", svc.Handler())
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(os.DirFS("../web/static"))))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	run := webtest.Steps(t, ctx, c)
	run("open the page", chromedp.Navigate(srv.URL+"/static/calibrate.html?site=sim"),
		chromedp.WaitVisible(chromedp.CSS(`#selfcal tr[data-sensor="s2"][data-apply="true"]`)),
		chromedp.WaitEnabled(chromedp.CSS(`#selfapply`)))
	rows, err := chromedp.Run(c, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#selfcal tr[data-sensor]')].map((r) => r.dataset.sensor + ': ' + r.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("self-calibration table:\n%s", strings.Join(rows, "\n"))
	if len(rows) != 6 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		if !strings.HasPrefix(r, "s2") && !strings.Contains(r, "under 0.5 dB") && !strings.Contains(r, "links disagree") {
			t.Errorf("row %q gives no reason for keeping the values", r)
		}
	}
	label, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#selfapply`)))
	if label != "Apply self-calibration (1 sensor)" {
		t.Errorf("button %q", label)
	}
	webtest.Screenshot(t, c, "selfcal")
	run("apply", chromedp.Click(chromedp.CSS(`#selfapply`)), chromedp.WaitVisible(chromedp.CSS(`main[data-selfapplied="2"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#selfrevert`)))
	sites.mu.Lock()
	v2 := sites.versions[len(sites.versions)-1]
	n, src := len(sites.versions), strings.Join(sites.sources, ",")
	sites.mu.Unlock()
	if n != 2 || src != SourceSelfCal || v2.Sensors[1].RSSI1m == nil || math.Abs(*v2.Sensors[1].RSSI1m-(w.site.Radio.RSSI1m-4)) > 0.7 ||
		v2.Sensors[0].RSSI1m != nil {
		t.Fatalf("apply wrote %d versions (%s), s2 %v", n, src, v2.Sensors[1].RSSI1m)
	}
	// Measured from what was written, nothing is left to apply.
	run("nothing left", chromedp.WaitVisible(chromedp.CSS(`#selfcal tr[data-sensor="s2"][data-apply="false"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#selfapply:enabled`)))
	run("revert", chromedp.Click(chromedp.CSS(`#selfrevert`)), chromedp.WaitVisible(chromedp.CSS(`main[data-selfreverted="3"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#selfcal tr[data-sensor="s2"][data-apply="true"]`)))
	sites.mu.Lock()
	defer sites.mu.Unlock()
	if len(sites.versions) != 3 || sites.versions[2].Sensors[1].RSSI1m != nil {
		t.Errorf("revert: %d versions", len(sites.versions))
	}
}
