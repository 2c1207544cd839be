package server

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/passant/passant/web/webtest"
)

// hostileSite is a site whose free-text names carry markup, as an installer
// (or whoever holds an installer's login or token) can save them.
const hostileSite = `{"site":"shop","name":"<b id=\"xss-site\">Shop</b>","bounds":[[-2,-8],[22,17]],
 "sensors":[{"id":"a","x":0,"y":0,"z":2.5},{"id":"b","x":20,"y":0,"z":2.5},{"id":"c","x":20,"y":15,"z":2.5}],
 "zones":[{"id":"store","kind":"store","name":"<img id=\"xss-store\" src=\"/healthz\">Shop floor","polygon":[[0,0],[20,0],[20,15],[0,15]]},
          {"id":"till","kind":"area","name":"<b id=\"xss-till\">Till</b>","polygon":[[1,1],[5,1],[5,5],[1,5]]}]}`

// TestBrowserNamesAreText opens the live map and the heatmap of a site
// whose zone names are markup, against the real server, in headless
// Chromium: the zone labels must show the names as text. The floor map
// gave them to Leaflet's tooltips as strings, which Leaflet puts into
// innerHTML, so a zone name became elements of the dashboard (the CSP's
// script-src 'self' kept inline scripts from running, not markup from
// being injected).
func TestBrowserNamesAreText(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "shop.json")
	if err := os.WriteFile(site, []byte(hostileSite), 0o644); err != nil {
		t.Fatal(err)
	}
	in := startInstance(t, Config{HTTP: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", SiteFiles: []string{site}, DataDir: dir,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer in.stop()
	tab := webtest.Browser(t)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	run := webtest.Steps(t, tab, ctx)
	base := "http://" + in.srv.HTTPAddr()
	for _, view := range []string{"live", "heatmap"} {
		run("open "+view, chromedp.Navigate(base+"/#/"+view+"/shop"),
			chromedp.WaitVisible(chromedp.CSS(`main[data-ready="`+view+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`.zone-label`)))
		injected, err := webtest.Eval[int](ctx, `document.querySelectorAll('[id^="xss-"]').length`)
		if err != nil {
			t.Fatal(err)
		}
		labels, err := webtest.Eval[[]string](ctx, `[...document.querySelectorAll('.zone-label')].map(e => e.textContent)`)
		if err != nil {
			t.Fatal(err)
		}
		if injected != 0 {
			webtest.Screenshot(t, tab, view)
			t.Errorf("%s: %d elements made of names' markup; zone labels read %q", view, injected, labels)
		}
		found := false
		for _, l := range labels {
			if strings.HasPrefix(l, `<b id="xss-till">Till</b>`) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no zone label shows the name %q as text: %q", view, `<b id="xss-till">Till</b>`, labels)
		}
	}
}
