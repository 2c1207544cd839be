package web

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
)

// TestBrowserCalibrateLink: #/calibrate/SITE, the address the nav's other
// views have, opens the calibration walk of that site. Before, it was an
// unknown view and showed the live map without a word.
func TestBrowserCalibrateLink(t *testing.T) {
	b := newDemoBackend()
	srv, ctx := browserServer(t, b)
	if err := chromedp.Do(within(t, ctx, 10*time.Second), chromedp.Navigate(srv.URL+"/#/calibrate/demo")); err != nil {
		t.Fatal(err)
	}
	// The page goes on to the walk's own page: ask where it is until then.
	where := ""
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(100 * time.Millisecond) {
		if p, err := webtest.Eval[string](within(t, ctx, 2*time.Second), `document.readyState === 'complete' ? location.pathname : ''`); err == nil && p != "" {
			if where = p; where == "/static/calibrate.html" {
				break
			}
		}
	}
	if where != "/static/calibrate.html" {
		t.Fatalf("#/calibrate/demo: at %q, want the calibration walk", where)
	}
	if q, _ := webtest.Eval[string](ctx, `location.search`); q != "?site=demo" {
		t.Errorf("the calibration walk opened with %q, want ?site=demo", q)
	}
}
