package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

// TestBrowserPhonePathsAndSensorsShowTheShop: on a phone the paths' map
// (the merchandiser's arrows), the sensors' map and the site editor's (the
// installer's, who is on the shop floor with a phone) open on the shop, as
// the live map and the heatmap do; on a wide screen they show the whole
// site. Before, they showed the whole site on a phone: the demo's 10 m
// shop was about 100 px wide, its four sensors' labels covering it.
func TestBrowserPhonePathsAndSensorsShowTheShop(t *testing.T) {
	b := newMemBackend()
	// The demo store (30 m) on a 94 m stretch of street.
	js := strings.NewReplacer(`"bounds":[[-2,-8],[32,22]]`, `"bounds":[[-32,-8],[62,22]]`,
		`[[-2,-8],[32,-8],[32,0],[-2,0]]`, `[[-32,-8],[62,-8],[62,0],[-32,0]]`).Replace(demoSiteJSON)
	s, err := wire.ParseSite([]byte(js), false)
	if err != nil {
		t.Fatal(err)
	}
	b.put(s, "file", "")
	url, c, step := browse(t, b)
	// The share of the map's width the store zone takes.
	const share = `((map) => document.querySelector(map + ' path.zone-store').getBoundingClientRect().width / document.querySelector(map).getBoundingClientRect().width)`
	for _, v := range []struct{ view, ready, mapSel string }{
		{"paths", `main[data-paths="ready"]`, "#pa-map"},
		{"sensors", `main[data-sensors="ready"]`, "#sensor-map"},
		{"editor", `main[data-ready="editor"]`, "#ed-map"},
	} {
		step("open the "+v.view+" on a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(url+"/#/"+v.view+"/demo"),
			chromedp.WaitVisible(chromedp.CSS(v.ready)))
		if f, err := webtest.Eval[float64](c, share+"("+mustJSON(v.mapSel)+")"); err != nil || f < 0.7 {
			t.Errorf("%s on a phone: the store takes %.0f%% of the map's width, want at least 70%% (%v)", v.view, 100*f, err)
			webtest.Screenshot(t, c, v.view+"-phone")
		}
		step("open the "+v.view+" on a wide screen", chromedp.EmulateViewport(1400, 900), chromedp.Navigate(url+"/#/"+v.view+"/demo"),
			chromedp.WaitVisible(chromedp.CSS(v.ready)))
		if f, err := webtest.Eval[float64](c, share+"("+mustJSON(v.mapSel)+")"); err != nil || f > 0.45 {
			t.Errorf("%s on a wide screen: the store takes %.0f%% of the map's width; the whole 94 m site should show (%v)", v.view, 100*f, err)
		}
	}
}
