package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

// browse starts a test server of b and a browser, and returns the server's
// URL, a tab with a 30 s deadline and a step runner that records the tab
// when a step fails.
func browse(t *testing.T, b Backend) (string, context.Context, func(string, ...chromedp.Action[chromedp.Void])) {
	ctx := webtest.Browser(t)
	srv := newTestServer(t, b, Config{})
	c := within(t, ctx, 30*time.Second)
	return srv.URL, c, webtest.Steps(t, ctx, c)
}

// browserZone runs the tab's clock in the time zone tz, as a browser
// elsewhere than the shop would.
func browserZone(tz string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: tz})
		return err
	})
}

// TestBrowserTimesInSiteZone: a head office in New York looks at the Berlin
// shop: the live map's last fix and the sensors' last batch are the shop's
// wall clock, marked with its zone, not the browser's.
func TestBrowserTimesInSiteZone(t *testing.T) {
	b := newDemoBackend()
	// 2026-12-01 17:46:05 UTC: 18:46:05 in Berlin, 12:46:05 in New York.
	at := time.Date(2026, 12, 1, 17, 46, 5, 0, time.UTC).UnixMilli()
	b.publish("demo", fix("k1", at, 12, 12))
	b.mu.Lock()
	b.sensors["demo"][0].LastSeen = at
	b.mu.Unlock()
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	step := webtest.Steps(t, ctx, c)
	step("open the live map from New York", browserZone("America/New_York"),
		chromedp.Navigate(srv.URL+"/#/live/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="live"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#live-last').textContent !== '–'`))
	last, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#live-last`)))
	if !strings.HasPrefix(last, "18:46:05") || !strings.Contains(last, "CET") {
		t.Errorf("last fix shown as %q, want the shop's 18:46:05 CET", last)
	}
	step("open the sensors", chromedp.Navigate(srv.URL+"/#/sensors/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-sensors="ready"]`)))
	seen, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#sensor-table tr[data-sensor="s1"] td:nth-child(3)`)))
	if !strings.Contains(seen, "1 Dec 2026") || !strings.Contains(seen, "18:46") || !strings.Contains(seen, "CET") {
		t.Errorf("s1's last batch shown as %q, want the shop's Tue 1 Dec 2026, 18:46 CET", seen)
	}
	webtest.Screenshot(t, c, "sensors-new-york")
}

// failingReports answers every report and heatmap with a server error.
type failingReports struct{ *memBackend }

func (failingReports) Report(ctx context.Context, site string, from, to int64) (*wire.Report, error) {
	return nil, errors.New("database unreachable")
}

func (failingReports) Heatmap(ctx context.Context, q HeatmapQuery) (*Heatmap, error) {
	return nil, errors.New("database unreachable")
}

// TestBrowserFootfallEmptyAndError: a shop with nothing counted says so
// (and points to the sensors) instead of drawing flat charts; a report
// that fails shows the error in place, with a way to try again, as do
// the paths and the heatmap; the tab's title names the view and shop.
func TestBrowserFootfallEmptyAndError(t *testing.T) {
	b := newDemoBackend()
	b.mu.Lock()
	b.reports["demo"] = &wire.Report{Site: "demo"}
	b.mu.Unlock()
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	step := webtest.Steps(t, ctx, c)
	step("open an empty shop's footfall", chromedp.Navigate(srv.URL+"/#/footfall/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-footfall="ready"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ff-empty a[href="#/sensors/demo"]`)))
	if n, _ := webtest.Eval[int](c, `document.querySelectorAll('#ff-body canvas').length`); n != 0 {
		t.Errorf("%d charts drawn for a shop with nothing counted", n)
	}
	// What the tiles mean is on the page, not only in tooltips.
	step("open the glossary", chromedp.Click(chromedp.CSS(`#ff-glossary summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#ff-glossary dd`)))
	if n, _ := webtest.Eval[int](c, `document.querySelectorAll('#ff-glossary dt').length`); n < 8 {
		t.Errorf("the glossary explains %d tiles", n)
	}
	conv, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#kpi-conversion`)))
	if strings.Contains(conv, "POS") || !strings.Contains(conv, "no till receipts") {
		t.Errorf("conversion tile without receipts reads %q", conv)
	}
	webtest.Screenshot(t, c, "empty")

	url2, c2, step2 := browse(t, failingReports{newDemoBackend()})
	step2("open footfall with the database down", chromedp.Navigate(url2+"/#/footfall/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-footfall="error"] #ff-error button`)))
	if busy, _ := webtest.Eval[bool](c2, `document.querySelector('#ff-body').hasAttribute('aria-busy')`); busy {
		t.Error("the failed page still says it is loading")
	}
	webtest.Screenshot(t, c2, "error")
	if title, _ := webtest.Eval[string](c2, `document.title`); title != "Footfall · Demo Store · Passant" {
		t.Errorf("the tab's title is %q", title)
	}
	step2("open paths with the database down", chromedp.Navigate(url2+"/#/paths/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-paths="error"] #pa-error`)))
	step2("open the heatmap with the database down", chromedp.Navigate(url2+"/#/heatmap/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-heatmap="error"] #hm-info[role="alert"]`)))
}

// TestBrowserChainDayIsTheShops: the chain view first shows the shops'
// today, not the browser's: shops on Kiritimati (UTC+14) seen from
// Pago Pago (UTC-11) are always a calendar day ahead.
func TestBrowserChainDayIsTheShops(t *testing.T) {
	b := newMemBackend()
	s, err := wire.ParseSite([]byte(strings.Replace(demoSiteJSON, `"timezone":"Europe/Berlin"`, `"timezone":"Pacific/Kiritimati"`, 1)), false)
	if err != nil {
		t.Fatal(err)
	}
	b.put(s, "file", "")
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	step := webtest.Steps(t, ctx, c)
	before := time.Now() // the shops' today, before and after the page took it
	step("open the chain from Pago Pago", browserZone("Pacific/Pago_Pago"), chromedp.Navigate(srv.URL+"/#/chain"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-chain="ready"]`)))
	// A first visit to the chain shows a site in the (disabled) site
	// picker, not an empty box.
	if sel, _ := webtest.Eval[string](c, `document.querySelector('#site-select').value`); sel != "demo" {
		t.Errorf("the site picker shows %q on a first visit to the chain", sel)
	}
	loc, err := time.LoadLocation("Pacific/Kiritimati")
	if err != nil {
		t.Skip(err)
	}
	day, _ := webtest.Eval[string](c, `document.querySelector('#chain-date').value`)
	// The shops' midnight may fall between the two: either day is theirs.
	if want, after := before.In(loc).Format(time.DateOnly), time.Now().In(loc).Format(time.DateOnly); day != want && day != after {
		t.Errorf("the chain opens on %s, the shops' today is %s", day, after)
	}
}

// newShop is a shop just installed: its sensors never sent a batch and
// nobody was seen.
type newShop struct{ *memBackend }

func (s newShop) Sensors(ctx context.Context, site string) ([]SensorHealth, error) {
	hs, err := s.memBackend.Sensors(ctx, site)
	for i := range hs {
		hs[i] = SensorHealth{ID: hs[i].ID, X: hs[i].X, Y: hs[i].Y, Known: true, State: "unknown"}
	}
	return hs, err
}

func (s newShop) Heatmap(ctx context.Context, q HeatmapQuery) (*Heatmap, error) {
	site, _, err := s.Site(ctx, q.Site)
	if err != nil {
		return nil, err
	}
	g := heatmap.NewGrid(site.Bounds, q.Cell)
	return &Heatmap{Site: q.Site, From: q.From, To: q.To, Bounds: g.Bounds(), Cell: g.Cell, W: g.NX, H: g.NY, Values: g.V, Max: g.Max()}, nil
}

// TestBrowserNewShop: sensors that never sent anything are "never seen"
// in the table and on the map, with no clock reading (not a green
// "0 ms"); the heatmap of nobody says so.
func TestBrowserNewShop(t *testing.T) {
	url, c, step := browse(t, newShop{newDemoBackend()})
	step("open the sensors", chromedp.Navigate(url+"/#/sensors/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-sensors="ready"]`)))
	row, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#sensor-table tr[data-sensor="s1"]`)))
	if !strings.Contains(row, "never seen") || strings.Contains(row, "ms") {
		t.Errorf("a sensor never heard from reads %q", row)
	}
	tip, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#sensor-map .leaflet-tooltip`)))
	if !strings.Contains(tip, "never seen") {
		t.Errorf("its map label reads %q", tip)
	}
	webtest.Screenshot(t, c, "sensors")
	step("open the heatmap", chromedp.Navigate(url+"/#/heatmap/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-heatmap="ready"]`)))
	info, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#hm-info`)))
	if !strings.Contains(info, "Nobody was seen") {
		t.Errorf("an empty heatmap says %q", info)
	}
	webtest.Screenshot(t, c, "heatmap")
}

// contrast is the WCAG contrast ratio of each selector's first element's
// text with the background it stands on (-1: no such element).
const contrast = `((sels) => {
	const rgb = (s) => s.match(/[\d.]+/g).map(Number);
	const lum = ([r, g, b]) => { const f = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
	const bg = (e) => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length < 4 || c[3] > 0) return c; } return [255, 255, 255]; };
	const out = {};
	for (const s of sels) {
		const e = document.querySelector(s);
		if (!e) { out[s] = -1; continue; }
		const a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e));
		out[s] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
	}
	return out;
})`

// checkContrast fails t for each selector whose text in the page of ctx
// is below WCAG AA contrast (4.5:1) or missing.
func checkContrast(t *testing.T, ctx context.Context, sels []string) {
	t.Helper()
	ratios, err := webtest.Eval[map[string]float64](ctx, contrast+"("+mustJSON(sels)+")")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sels {
		if r := ratios[s]; r < 4.5 {
			t.Errorf("%s: contrast %.2f:1, want at least 4.5:1", s, r)
		}
	}
}

// TestBrowserAccessibility: small text reaches WCAG AA contrast (4.5:1):
// the status pills, the alerts badge, muted text and table headers; the
// map and its heat image have names for a screen reader; the chain
// table sorts from the keyboard.
func TestBrowserAccessibility(t *testing.T) {
	url, c, step := browse(t, alertingBackend{newDemoBackend()})
	step("open the sensors", chromedp.Navigate(url+"/#/sensors/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-sensors="ready"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#alerts`)),
		// A clock pill out of line, as a sensor with a drifting clock has.
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#sensor-summary').insertAdjacentHTML('beforeend', ' <span class="pill warn">+700 ms</span>')`))
	sels := []string{".pill.on", ".pill.off", ".pill.warn", "#alerts", "#sensor-summary", "#sensor-table th", "#sensor-alerts li"}
	checkContrast(t, c, sels)
	step("open the heatmap", chromedp.Navigate(url+"/#/heatmap/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-heatmap="ready"] img.heat`)))
	label, _ := webtest.Eval[string](c, `document.querySelector('#hm-map').getAttribute('aria-label') || ''`)
	alt, _ := webtest.Eval[string](c, `document.querySelector('#hm-map img.heat').alt`)
	if !strings.HasPrefix(label, "Heatmap of Demo Store") || !strings.HasPrefix(alt, "Heatmap") {
		t.Errorf("the map is named %q, its heat image %q", label, alt)
	}

	step("sort the chain by keyboard", chromedp.Navigate(url+"/#/chain"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-chain="ready"]`)),
		chromedp.Focus(chromedp.CSS(`th[data-sort="site"]`)),
		chromedp.KeyEvent("\r"),
		chromedp.Poll[chromedp.Void](`document.querySelector('th[data-sort="site"]').getAttribute('aria-sort') === 'ascending'`),
		chromedp.KeyEvent(" "),
		chromedp.Poll[chromedp.Void](`document.querySelector('th[data-sort="site"]').getAttribute('aria-sort') === 'descending' && document.activeElement.dataset.sort === 'site'`))
}

// TestBrowserLiveToday: the live panel shows today's visitors so far, the
// same report as the Footfall page's "Today" (the API's report of the
// site's local today).
func TestBrowserLiveToday(t *testing.T) {
	b := newDemoBackend()
	srv, ctx := browserServer(t, b)
	var rep wire.Report
	res, err := http.Get(srv.URL + "/api/sites/demo/report")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(res.Body).Decode(&rep)
	res.Body.Close()
	if err != nil || rep.Totals.Visitors == 0 {
		t.Fatalf("today's report: %v, %d visitors", err, rep.Totals.Visitors)
	}
	c := within(t, ctx, 30*time.Second)
	step := webtest.Steps(t, ctx, c)
	step("open the live map", chromedp.Navigate(srv.URL+"/#/live/demo"),
		chromedp.WaitVisible(chromedp.CSS(`#live-today-visitors`)))
	got, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#live-today-visitors`)))
	if strings.ReplaceAll(got, ",", "") != fmt.Sprint(rep.Totals.Visitors) {
		t.Errorf("the live panel says %s visitors today, the report %d", got, rep.Totals.Visitors)
	}
	line, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#live-today`)))
	if !strings.Contains(line, intComma(rep.Totals.Passersby)+" passers-by") {
		t.Errorf("today's line %q lacks the report's %d passers-by", line, rep.Totals.Passersby)
	}
}

// intComma writes n as fmt.int of api.js does: 2760 -> "2,760".
func intComma(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestBrowserLiveSaysWhenPositionsStop: while the shop is open, a map with
// no new positions for minutes says so and points to the sensors (it
// looked like a calm shop); a new fix clears it.
func TestBrowserLiveSaysWhenPositionsStop(t *testing.T) {
	b := newMemBackend()
	s, err := wire.ParseSite([]byte(strings.Replace(demoSiteJSON, `"open":{"mon-fri":["09:00","20:00"],"sat":["10:00","18:00"]}`, `"open":{"mon-sun":["00:00","24:00"]}`, 1)), false)
	if err != nil || len(s.Open) != 1 {
		t.Fatalf("an always open site: %v %v", err, s.Open)
	}
	b.put(s, "file", "")
	b.publish("demo", fix("k1", time.Now().Add(-10*time.Minute).UnixMilli(), 12, 12))
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	step := webtest.Steps(t, ctx, c)
	step("open the live map", chromedp.Navigate(srv.URL+"/#/live/demo"),
		chromedp.WaitVisible(chromedp.CSS(`#live-stale a[href="#/sensors/demo"]`)))
	msg, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#live-stale`)))
	if !strings.Contains(msg, "No new positions for 10 min") {
		t.Errorf("the warning reads %q", msg)
	}
	// One phone is "1 device", and an all-day shop is "open", not "open until 24:00".
	if line, _ := webtest.Eval[string](c, `document.querySelector('#live-tracks').parentElement.textContent`); !strings.HasPrefix(line, "1 device on the map") {
		t.Errorf("the devices line reads %q", line)
	}
	if pill, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#live-open`))); pill != "open" {
		t.Errorf("the hours pill of an all-day shop reads %q", pill)
	}
	webtest.Screenshot(t, c, "stale")
	b.publish("demo", fix("k1", time.Now().UnixMilli(), 13, 12))
	step("a new fix clears it", chromedp.WaitNotVisible(chromedp.CSS(`#live-stale`)))
}

// TestBrowserPhoneMapShowsTheShop: on a phone the maps (live, heatmap,
// paths, sensors, site editor) open on the shop, not on the whole site
// with a long street (the shop was a thumbnail; paths, sensors and editor
// until 2026-12-06, the demo's 10 m shop about 100 px wide under its
// sensors' labels); on a wide screen they show the whole site.
func TestBrowserPhoneMapShowsTheShop(t *testing.T) {
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
		{"live", `main[data-ready="live"]`, "#live-map"},
		{"heatmap", `main[data-heatmap="ready"]`, "#hm-map"},
		{"paths", `main[data-paths="ready"]`, "#pa-map"},
		{"sensors", `main[data-sensors="ready"]`, "#sensor-map"},
		{"editor", `main[data-ready="editor"]`, "#ed-map"},
	} {
		step("open the "+v.view+" on a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(url+"/#/"+v.view+"/demo"),
			chromedp.WaitVisible(chromedp.CSS(v.ready)))
		if f, err := webtest.Eval[float64](c, share+"("+mustJSON(v.mapSel)+")"); err != nil || f < 0.7 {
			t.Errorf("%s on a phone: the store takes %.0f%% of the map's width, want at least 70%% (%v)", v.view, 100*f, err)
		}
		webtest.Screenshot(t, c, v.view+"-phone")
		step("open the "+v.view+" on a wide screen", chromedp.EmulateViewport(1400, 900), chromedp.Navigate(url+"/#/"+v.view+"/demo"),
			chromedp.WaitVisible(chromedp.CSS(v.ready)))
		if f, err := webtest.Eval[float64](c, share+"("+mustJSON(v.mapSel)+")"); err != nil || f > 0.45 {
			t.Errorf("%s on a wide screen: the store takes %.0f%% of the map's width; the whole 94 m site should show (%v)", v.view, 100*f, err)
		}
	}
}

// TestBrowserPathsUseZoneNames: a zone named in the editor ("Aisle 1") is
// called so on the paths page too (its table, Sankey and arrows), as on the
// live map, not by its id.
func TestBrowserPathsUseZoneNames(t *testing.T) {
	b := newMemBackend()
	s, err := wire.ParseSite([]byte(strings.Replace(demoSiteJSON, `{"id":"aisle-1","kind":"area"`, `{"id":"aisle-1","name":"Aisle 1","kind":"area"`, 1)), false)
	if err != nil || s.Zone("aisle-1").Name != "Aisle 1" {
		t.Fatalf("a named zone: %v", err)
	}
	b.put(s, "file", "")
	url, c, step := browse(t, b)
	step("open the paths", chromedp.Navigate(url+"/#/paths/demo"), chromedp.WaitVisible(chromedp.CSS(`main[data-paths="ready"]`)))
	got, err := webtest.Eval[[]string](c, `[document.querySelector('#pa-list tr.path').textContent,
		[...document.querySelectorAll('#pa-sankey text')].map(t => t.textContent).join('|')]`)
	if err != nil || !strings.Contains(got[0], "Aisle 1") || strings.Contains(got[0], "aisle-1") ||
		!strings.Contains(got[1], "Aisle 1") || strings.Contains(got[1], "aisle-1") {
		t.Errorf("paths show %q (%v), want the zone's name", got, err)
	}
}
