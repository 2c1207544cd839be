package web

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

func browserServer(t *testing.T, b *memBackend) (*httptest.Server, context.Context) {
	ctx := webtest.Browser(t)
	srv := newTestServer(t, b, Config{})
	return srv, ctx
}

func within(t *testing.T, ctx context.Context, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(ctx, d)
	t.Cleanup(cancel)
	return c
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestBrowserHeatmap(t *testing.T) {
	b := newDemoBackend()
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	err := chromedp.Do(c,
		chromedp.Navigate(srv.URL+"/#/heatmap/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-heatmap="ready"]`)),
		chromedp.WaitVisible(chromedp.CSS(`img.heat`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	got, err := webtest.Eval[map[string]float64](c, `window.passantHeatmap`)
	if err != nil {
		t.Fatal(err)
	}
	// The demo bounds are 34 x 30 m: 68 x 60 cells of 0.5 m.
	if got["w"] != 68 || got["h"] != 60 || got["max"] <= 0 {
		t.Fatalf("heatmap shown %v, want the API's 68x60 grid", got)
	}
	// Pick a zone and an hour range: the query reaches the backend.
	err = chromedp.Do(c,
		chromedp.SetValue(chromedp.CSS(`#hm-zone`), "aisle-1"),
		chromedp.SetValue(chromedp.CSS(`#hm-h0`), "10"),
		chromedp.SetValue(chromedp.CSS(`#hm-h1`), "14"),
		chromedp.SetValue(chromedp.CSS(`#hm-cell`), "1"),
		chromedp.Click(chromedp.CSS(`#hm-show`)),
		chromedp.Poll[chromedp.Void](`window.passantHeatmap && window.passantHeatmap.w === 34`),
	)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	q := b.heatQ[len(b.heatQ)-1]
	b.mu.Unlock()
	if q.Zone != "aisle-1" || q.HourFrom != 10 || q.HourTo != 14 || q.Cell != 1 || q.Staff {
		t.Fatalf("backend asked %+v", q)
	}
	// People by default; the Staff box asks for the staff's time too.
	err = chromedp.Do(c,
		chromedp.Click(chromedp.CSS(`#hm-staff`)),
		chromedp.Click(chromedp.CSS(`#hm-show`)),
		chromedp.Poll[chromedp.Void](`window.passantHeatmap && window.passantHeatmap.staff === 1`),
	)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	q = b.heatQ[len(b.heatQ)-1]
	b.mu.Unlock()
	if !q.Staff || q.Zone != "aisle-1" {
		t.Fatalf("with the Staff box the backend asked %+v", q)
	}
	// The download link serves the PNG.
	magic, err := chromedp.Run(c, chromedp.Evaluate[string](`fetch(document.querySelector('#hm-download').href).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b).slice(1, 4)).map(c => String.fromCharCode(c)).join(''))`, chromedp.EvalAwaitPromise))
	if err != nil || magic != "PNG" {
		t.Fatalf("download: %q %v", magic, err)
	}
	href, _ := webtest.Eval[string](c, `document.querySelector('#hm-download').getAttribute('href')`)
	if !strings.Contains(href, "heatmap.png?") || !strings.Contains(href, "zone=aisle-1") || !strings.Contains(href, "download=1") {
		t.Fatalf("download link %q", href)
	}
	webtest.Screenshot(t, c, "heatmap")
}

func TestBrowserFootfall(t *testing.T) {
	b := newDemoBackend()
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	err := chromedp.Do(c,
		chromedp.Navigate(srv.URL+"/#/footfall/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-footfall="ready"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ff-hours canvas`)),
		chromedp.WaitVisible(chromedp.CSS(`#ff-rates canvas`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := webtest.Eval[wire.Report](c, `window.passantFootfall.report`)
	if err != nil {
		t.Fatal(err)
	}
	// The report the page shows is the API's for the same range.
	want, _ := b.Report(context.Background(), "demo", rep.From, rep.To)
	if rep.Totals.Visitors != want.Totals.Visitors || len(rep.Hours) != len(want.Hours) || len(rep.Hours) < 24*7-1 {
		t.Fatalf("page report: %d visitors, %d hours; API: %d, %d", rep.Totals.Visitors, len(rep.Hours), want.Totals.Visitors, len(want.Hours))
	}
	visitors, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#kpi-visitors .v`)))
	if wantText := fmt.Sprintf("%d", want.Totals.Visitors); strings.ReplaceAll(visitors, ",", "") != wantText {
		t.Fatalf("visitors KPI %q, want %s", visitors, wantText)
	}
	// The hourly chart plots the API's numbers, and leaves the hours of
	// today that have not begun empty (not zero).
	plotted, err := webtest.Eval[[][][]*float64](c, `window.passantFootfall.plotted`)
	if err != nil {
		t.Fatal(err)
	}
	now, toCome := time.Now().UnixMilli(), 0
	for i, h := range want.Hours {
		if *plotted[0][0][i] != float64(h.Start/1000) {
			t.Fatalf("hour %d plotted at %v, API %d", i, *plotted[0][0][i], h.Start/1000)
		}
		switch {
		case h.Start > now+60_000:
			toCome++
			if plotted[0][1][i] != nil || plotted[0][2][i] != nil {
				t.Fatalf("hour %d has not begun, plotted %v/%v", i, plotted[0][1][i], plotted[0][2][i])
			}
		case h.Start < now-60_000:
			if *plotted[0][1][i] != float64(h.Passersby) || *plotted[0][2][i] != float64(h.Visitors) {
				t.Fatalf("hour %d plotted %v/%v, API %d/%d", i, *plotted[0][1][i], *plotted[0][2][i], h.Passersby, h.Visitors)
			}
		}
	}
	if last := want.Hours[len(want.Hours)-1].Start; last > now+60_000 && toCome == 0 {
		t.Fatal("no hour to come checked")
	}
	cells, _ := webtest.Eval[int](c, `document.querySelectorAll('#ff-week td').length`)
	if cells != 7*24 {
		t.Fatalf("week x hour grid has %d cells", cells)
	}
	webtest.Screenshot(t, c, "footfall")

	// The admin imports till receipts from a CSV file.
	csvPath := filepath.Join(t.TempDir(), "till.csv")
	os.WriteFile(csvPath, []byte("receipt,time,amount\nR1,2026-12-01 10:15,12.50\nR2,2026-12-01 10:20,3\n"), 0o644)
	err = chromedp.Do(c,
		chromedp.Click(chromedp.CSS(`details.admin summary`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#ff-pos-file`), []string{csvPath}),
		chromedp.WaitVisible(chromedp.CSS(`main[data-pos="2"]`)),
	)
	if err != nil {
		t.Fatalf("POS import: %v", err)
	}
	b.mu.Lock()
	n := len(b.tx["demo"])
	b.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d receipts stored, want 2", n)
	}

	// Re-processing a range older than the passers-by retention: the page
	// says which days kept their passers-by.
	b.mu.Lock()
	b.reprocessed = Reprocessed{ThinnedBefore: time.Now().Add(-24 * time.Hour).UnixMilli(),
		Days: []KeptDay{{Date: "2026-11-30", Kept: 230, Rebuilt: 61}, {Date: "2026-11-29", Kept: 12}}}
	b.mu.Unlock()
	err = chromedp.Do(c,
		chromedp.Click(chromedp.CSS(`#ff-reprocess`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('toast').textContent.includes('2026-11-30 visitors rebuilt, 230 passers-by and others kept; 2026-11-29 kept as it was')`),
	)
	if err != nil {
		msg, _ := webtest.Eval[string](c, `document.getElementById('toast').textContent`)
		t.Fatalf("re-processing a thinned range: %v; toast %q", err, msg)
	}
}

// TestBrowserFootfallNothingToCompare: against a week in which nobody
// was counted (the sensors went in since), the tiles say so in words
// instead of "– vs 0".
func TestBrowserFootfallNothingToCompare(t *testing.T) {
	b := newDemoBackend()
	b.since = time.Now().UnixMilli()
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	err := chromedp.Do(c,
		chromedp.Navigate(srv.URL+"/#/footfall/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-footfall="ready"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"visitors", "passersby", "capture"} {
		got, err := webtest.Eval[string](c, `document.querySelector('#kpi-`+id+` .delta')?.textContent ?? 'no line'`)
		if err != nil || got != "nothing counted last week" {
			t.Errorf("%s tile: %q %v, want \"nothing counted last week\"", id, got, err)
		}
	}
}

func TestBrowserEditorZoneAppearsInOccupancy(t *testing.T) {
	b := newDemoBackend()
	// Two devices stand at (12, 12) and (13, 11), in no area yet.
	b.publish("demo", fix("k1", 1000, 12, 12))
	b.publish("demo", fix("k2", 1000, 13, 11))
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 40*time.Second)
	err := chromedp.Do(c,
		chromedp.Navigate(srv.URL+"/#/editor/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="editor"]`)),
		chromedp.SetValue(chromedp.CSS(`#ed-zone-id`), "promo"),
		chromedp.Click(chromedp.CSS(`#ed-mode-zone`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := webtest.ClickPlan(c, [2]float64{10, 9}, [2]float64{16, 9}, [2]float64{16, 14}, [2]float64{10, 14}); err != nil {
		t.Fatal(err)
	}
	webtest.Screenshot(t, c, "editor-drawing")
	err = chromedp.Do(c,
		chromedp.Click(chromedp.CSS(`#ed-zone-finish`)),
		chromedp.WaitVisible(chromedp.CSS(`#ed-zones li[data-zone="promo"]`)),
		chromedp.Evaluate[chromedp.Void](`(() => { const i = document.querySelector('#ed-zones li[data-zone="promo"] input'); i.value = 'Promo table'; i.dispatchEvent(new Event('change')); })()`),
		chromedp.Click(chromedp.CSS(`#ed-save`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-saved="2"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	site, v, _ := b.Site(context.Background(), "demo")
	z := site.Zone("promo")
	if v.Version != 2 || z == nil || z.Kind != "area" || len(z.Polygon) != 4 || z.Name != "Promo table" {
		t.Fatalf("saved version %d, zone %+v", v.Version, z)
	}
	for i, want := range [][2]float64{{10, 9}, {16, 9}, {16, 14}, {10, 14}} {
		if math.Abs(z.Polygon[i][0]-want[0]) > 0.25 || math.Abs(z.Polygon[i][1]-want[1]) > 0.25 {
			t.Fatalf("corner %d at %v, clicked %v", i, z.Polygon[i], want)
		}
	}
	webtest.Screenshot(t, c, "editor-saved")
	err = chromedp.Do(c,
		chromedp.Navigate(srv.URL+"/#/live/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="live"]`)),
		chromedp.Poll[chromedp.Void](`(document.querySelector('#live-occupancy li[data-zone="promo"] .n') || {}).textContent === "2"`),
	)
	if err != nil {
		t.Fatalf("the new zone's occupancy: %v", err)
	}
	webtest.Screenshot(t, c, "live-with-new-zone")
}

func TestBrowserOtherViews(t *testing.T) {
	b := newDemoBackend()
	s2, _ := wire.ParseSite([]byte(strings.Replace(demoSiteJSON, `"site":"demo"`, `"site":"berlin-2"`, 1)), false)
	b.put(s2, "file", "")
	srv, ctx := browserServer(t, b)
	for _, v := range []struct{ view, ready, check string }{
		{"sensors/demo", `main[data-sensors="ready"]`, `document.querySelectorAll('#sensor-table tr[data-sensor]').length === 4`},
		{"paths/demo", `main[data-paths="ready"]`, `document.querySelectorAll('#pa-list tr.path').length === 3 && document.querySelectorAll('path.flow').length === 3 && document.querySelectorAll('#pa-sankey path.band').length === 3`},
		{"chain", `main[data-chain="ready"]`, `document.querySelectorAll('#chain-table tr[data-site]').length === 2 &&
			(document.querySelector('th[data-sort="site"]').click(), document.querySelector('#chain-table tr[data-site]').dataset.site === 'berlin-2') &&
			(document.querySelector('th[data-sort="site"]').click(), document.querySelector('#chain-table tr[data-site]').dataset.site === 'demo')`},
	} {
		c := within(t, ctx, 30*time.Second)
		err := chromedp.Do(c,
			chromedp.Navigate(srv.URL+"/#/"+v.view),
			chromedp.WaitVisible(chromedp.CSS(v.ready)),
			chromedp.Poll[chromedp.Void](v.check),
		)
		if err != nil {
			t.Fatalf("%s: %v", v.view, err)
		}
		webtest.Screenshot(t, c, strings.ReplaceAll(v.view, "/", "-"))
	}
}

func TestBrowserEditorPlanUpload(t *testing.T) {
	b := newMemBackend()
	s, err := wire.ParseSite([]byte(strings.Replace(demoSiteJSON, `"plan":{"image":"floor.png","bounds":[[0,0],[30,20]]},`, "", 1)), false)
	if err != nil || s.Plan != nil {
		t.Fatalf("site without plan: %v", err)
	}
	b.put(s, "file", "")
	// A 300 x 200 plan: walls and two shelves.
	img := image.NewRGBA(image.Rect(0, 0, 300, 200))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{250, 250, 245, 255}), image.Point{}, draw.Src)
	for _, r := range []image.Rectangle{image.Rect(0, 0, 300, 4), image.Rect(0, 196, 300, 200), image.Rect(0, 0, 4, 200), image.Rect(296, 0, 300, 200),
		image.Rect(30, 40, 60, 170), image.Rect(120, 40, 150, 170)} {
		draw.Draw(img, r, image.NewUniform(color.RGBA{90, 90, 100, 255}), image.Point{}, draw.Src)
	}
	path := filepath.Join(t.TempDir(), "plan.png")
	f, _ := os.Create(path)
	png.Encode(f, img)
	f.Close()

	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 40*time.Second)
	err = chromedp.Do(c,
		chromedp.Navigate(srv.URL+"/#/editor/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="editor"]`)),
		chromedp.SetValue(chromedp.CSS(`#ed-plan-width`), "15"),
		chromedp.SetUploadFiles(chromedp.CSS(`#ed-plan-file`), []string{path}),
		chromedp.Poll[chromedp.Void](`document.querySelector('#ed-map img.leaflet-image-layer') && document.querySelector('#ed-map img.leaflet-image-layer').complete && document.querySelector('#ed-map img.leaflet-image-layer').naturalWidth === 300`),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The plan's 15 m width was a guess: its bottom wall, from (0, 0) to
	// (15, 0) on the map, is really 30 m long.
	err = chromedp.Do(c, chromedp.SetValue(chromedp.CSS(`#ed-measure-m`), "30"), chromedp.Click(chromedp.CSS(`#ed-measure`)))
	if err != nil {
		t.Fatal(err)
	}
	if err := webtest.ClickPlan(c, [2]float64{0, 0}, [2]float64{15, 0}); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(c,
		chromedp.Poll[chromedp.Void](`document.querySelector('#ed-plan-x1').value !== "15"`),
		chromedp.Click(chromedp.CSS(`#ed-save`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-saved="2"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Plan(context.Background(), "demo")
	if err != nil || p.ContentType != "image/png" {
		t.Fatalf("stored plan: %v %q", err, p.ContentType)
	}
	got, _, _ := b.Site(context.Background(), "demo")
	// 15 m wide at first, 10 m high by the image's 3:2 aspect; then scaled
	// by 2 so that the wall measures 30 m. Clicks land within a pixel or so.
	if got.Plan == nil || got.Plan.Bounds[0] != (wire.Point{0, 0}) ||
		math.Abs(got.Plan.Bounds[1][0]-30) > 0.6 || math.Abs(got.Plan.Bounds[1][1]-20) > 0.4 {
		t.Fatalf("saved plan %+v, want bounds [[0,0],[30,20]]", got.Plan)
	}
	webtest.Screenshot(t, c, "plan")
}

// alertingBackend keeps one open alert.
type alertingBackend struct{ *memBackend }

func (a alertingBackend) Alerts(ctx context.Context, site string, openOnly bool) ([]Alert, error) {
	if site != "" && site != "demo" {
		return nil, nil
	}
	return []Alert{{ID: 1, Site: "demo", Sensor: "s4", Kind: "offline", Message: "sensor s4 has sent nothing for 7m0s", Raised: 1764850000000}}, nil
}

func TestBrowserAlerts(t *testing.T) {
	ctx := webtest.Browser(t)
	srv := newTestServer(t, alertingBackend{newDemoBackend()}, Config{})
	c := within(t, ctx, 30*time.Second)
	err := chromedp.Do(c,
		chromedp.Navigate(srv.URL+"/#/live/demo"),
		chromedp.WaitVisible(chromedp.CSS(`#alerts`)),
		chromedp.Click(chromedp.CSS(`#alerts`)),
		chromedp.WaitVisible(chromedp.CSS(`#sensor-alerts li[data-alert="offline"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#sensor-alerts li`)))
	if !strings.Contains(text, "sensor s4 has sent nothing") {
		t.Fatalf("alert shown %q", text)
	}
	webtest.Screenshot(t, c, "alerts")
}

// TestBrowserPhone: on a phone-sized screen every view fits the width (no
// sideways scrolling of the page) and the live map is visible.
func TestBrowserPhone(t *testing.T) {
	b := newDemoBackend()
	b.publish("demo", fix("k1", 1000, 12, 12))
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 60*time.Second)
	if err := chromedp.Do(c, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct{ view, ready string }{
		{"live/demo", `main[data-ready="live"]`},
		{"footfall/demo", `main[data-footfall="ready"]`},
		{"heatmap/demo", `main[data-heatmap="ready"]`},
		{"sensors/demo", `main[data-sensors="ready"]`},
		{"editor/demo", `main[data-ready="editor"]`},
		{"chain", `main[data-chain="ready"]`},
	} {
		err := chromedp.Do(c, chromedp.Navigate(srv.URL+"/#/"+v.view), chromedp.WaitVisible(chromedp.CSS(v.ready)))
		if err != nil {
			t.Fatalf("%s: %v", v.view, err)
		}
		over, err := webtest.Eval[int](c, `document.documentElement.scrollWidth - window.innerWidth`)
		if err != nil || over > 0 {
			t.Errorf("%s: the page is %d px wider than the phone (%v)", v.view, over, err)
		}
		// The header leaves the phone's screen to the view: two lines
		// (brand and site; the views, scrolling sideways), not four.
		if h, _ := webtest.Eval[float64](c, `document.querySelector('header.top').getBoundingClientRect().height`); h > 100 {
			t.Errorf("%s: the header is %g px high on a phone", v.view, h)
		}
		if in, _ := webtest.Eval[bool](c, `(() => { const r = document.querySelector('#nav a.active').getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth; })()`); !in {
			t.Errorf("%s: the current view's tab is off the screen", v.view)
		}
		if strings.HasPrefix(v.view, "live") {
			h, _ := webtest.Eval[float64](c, `document.querySelector('#live-map').getBoundingClientRect().height`)
			if h < 300 {
				t.Errorf("live map %g px high on a phone", h)
			}
		}
		webtest.Screenshot(t, c, "phone-"+strings.ReplaceAll(v.view, "/", "-"))
	}
}
