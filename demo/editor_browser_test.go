package demo

// The site editor, the live map and the calibration page in the browser
// against the real server (see browser_test.go).

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

// TestBrowserEditorZoneAppearsInOccupancy: a zone drawn in the site editor
// and saved is in the real server's live occupancy and in the live view's
// zone list soon after (the server rebuilds today with the new plan).
func TestBrowserEditorZoneAppearsInOccupancy(t *testing.T) {
	tab := webtest.Browser(t)
	base := sharedDemo(t)
	var before wire.Site
	if err := get(base+"/api/sites/"+site, &before); err != nil {
		t.Fatal(err)
	}
	if before.Zone("promo") != nil {
		t.Fatal("the site has a zone promo already")
	}
	c := timeout(t, tab, 50*time.Second)
	// A second tab watches the live view while the zone is drawn.
	watch, closeWatch := chromedp.NewContext(c)
	defer closeWatch()
	err := chromedp.Do(watch,
		chromedp.Navigate(base+"/#/live/"+site),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="live"]`)),
		chromedp.Poll[chromedp.Void](`window.passantLive && !('promo' in window.passantLive.occupancy()) && !document.querySelector('#live-occupancy li[data-zone="promo"]')`),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(c,
		chromedp.Navigate(base+"/#/editor/"+site),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="editor"]`)),
		chromedp.SetValue(chromedp.CSS(`#ed-zone-id`), "promo"),
		chromedp.Click(chromedp.CSS(`#ed-mode-zone`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The middle aisle between the rails, where simulated shoppers linger
	// and no zone is yet.
	corners := [][2]float64{{3.2, 3.5}, {5.8, 3.5}, {5.8, 7.8}, {3.2, 7.8}}
	if err := webtest.ClickPlan(c, corners...); err != nil {
		t.Fatal(err)
	}
	webtest.Screenshot(t, c, "editor-drawing")
	err = chromedp.Do(c,
		chromedp.Click(chromedp.CSS(`#ed-zone-finish`)),
		chromedp.WaitVisible(chromedp.CSS(`#ed-zones li[data-zone="promo"]`)),
		chromedp.Click(chromedp.CSS(`#ed-save`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('main').dataset.saved !== undefined`),
	)
	if err != nil {
		webtest.Failed(t, tab, "editor")
		t.Fatal(err)
	}
	saved := time.Now()
	webtest.Screenshot(t, c, "editor-saved")
	var after wire.Site
	if err := get(base+"/api/sites/"+site, &after); err != nil {
		t.Fatal(err)
	}
	z := after.Zone("promo")
	if z == nil || z.Kind != wire.ZoneArea || len(z.Polygon) != 4 || len(after.Zones) != len(before.Zones)+1 {
		t.Fatalf("saved site has zone %+v and %d zones (before %d)", z, len(after.Zones), len(before.Zones))
	}
	for i, want := range corners {
		if math.Abs(z.Polygon[i][0]-want[0]) > 0.25 || math.Abs(z.Polygon[i][1]-want[1]) > 0.25 {
			t.Fatalf("corner %d saved at %v, clicked at %v", i, z.Polygon[i], want)
		}
	}

	// The live occupancy has the new zone.
	var live struct {
		Occupancy map[string]int  `json:"occupancy"`
		Tracks    []wire.Position `json:"tracks"`
	}
	for {
		if err := get(base+"/api/sites/"+site+"/live", &live); err != nil {
			t.Fatal(err)
		}
		if _, ok := live.Occupancy["promo"]; ok {
			break
		}
		if time.Since(saved) > 30*time.Second {
			t.Fatalf("30 s after the save the live occupancy %v has no promo", live.Occupancy)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("live occupancy %v after %s", live.Occupancy, time.Since(saved).Round(time.Millisecond))
	// Each person in the store is in one area at most.
	areas := 0
	for _, z := range after.Zones {
		if z.Kind == wire.ZoneArea {
			areas += live.Occupancy[z.ID]
		}
	}
	if areas > live.Occupancy["store"] {
		t.Fatalf("occupancy %v: more in the areas than in the store", live.Occupancy)
	}

	// The live view that was open all along has the new zone, from the
	// server's stream, without a reload.
	if err := chromedp.Do(watch, chromedp.WaitVisible(chromedp.CSS(`#live-occupancy li[data-zone="promo"]`))); err != nil {
		webtest.Screenshot(t, watch, "live-open-failed")
		t.Fatalf("the open live view's zone list: %v", err)
	}
	liveShowsPromo(t, watch, base)
	webtest.Screenshot(t, watch, "live-open-with-new-zone")

	// And so does a live view opened now.
	err = chromedp.Do(c,
		chromedp.Navigate(base+"/#/live/"+site),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="live"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live-occupancy li[data-zone="promo"]`)),
		chromedp.Poll[chromedp.Void](`window.passantLive && 'promo' in window.passantLive.occupancy()`),
	)
	if err != nil {
		webtest.Failed(t, tab, "live")
		t.Fatalf("the live view's zone list: %v", err)
	}
	liveShowsPromo(t, c, base)
	webtest.Screenshot(t, c, "live-with-new-zone")

	// Today's report follows the new plan: the new zone is among its zones.
	var rep wire.Report
	if err := get(base+"/api/sites/"+site+"/report", &rep); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, zs := range rep.Zones {
		ids = append(ids, zs.Zone)
	}
	if !slices.Contains(ids, "promo") {
		t.Errorf("today's report has zones %v, not promo", ids)
	}
}

// liveShowsPromo checks that the live view in tab lists the zone promo, and
// that its row, its label on the map and the page's occupancy show the
// API's count (asked again while the shop moves on).
func liveShowsPromo(t *testing.T, tab context.Context, base string) {
	t.Helper()
	type livePage struct {
		N     string         `json:"n"`
		Label string         `json:"label"`
		Occ   map[string]int `json:"occ"`
	}
	var page livePage
	var live struct {
		Occupancy map[string]int `json:"occupancy"`
	}
	for try := 0; try < 20; try++ {
		var err error
		page, err = webtest.Eval[livePage](tab, `({n: document.querySelector('#live-occupancy li[data-zone="promo"] .n').textContent,
			label: [...document.querySelectorAll('#live-map .zone-label')].map(e => e.textContent).find(s => s.startsWith('promo')) || '',
			occ: window.passantLive.occupancy()})`)
		if err != nil {
			t.Fatal(err)
		}
		if err := get(base+"/api/sites/"+site+"/live", &live); err != nil {
			t.Fatal(err)
		}
		n, ok := live.Occupancy["promo"]
		if ok && page.N == fmt.Sprint(n) && page.Label == fmt.Sprintf("promo · %d", n) && page.Occ["promo"] == n {
			t.Logf("live view: promo %s", page.N)
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("the live view shows promo %q, label %q (occupancy %v), the API %v", page.N, page.Label, page.Occ, live.Occupancy)
}

// TestBrowserCalibratePhone: the calibration walk's page, on a phone-sized
// screen, loads the real server's site, lists the devices heard at a sensor
// (the API's), starts a walk with one as the phone and marks a tap on the
// plan where it was tapped.
func TestBrowserCalibratePhone(t *testing.T) {
	tab := webtest.Browser(t)
	base := sharedDemo(t)
	c := timeout(t, tab, 40*time.Second)
	err := chromedp.Do(c,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(base+"/static/calibrate.html?site="+site),
		chromedp.Poll[chromedp.Void](`document.querySelector('main').dataset.state !== 'loading'`),
	)
	if err != nil {
		t.Fatal(err)
	}
	st, err := webtest.Eval[map[string]string](c, `({state: document.querySelector('main').dataset.state, sensor: document.querySelector('#sensor').value,
		name: document.querySelector('#site-name').textContent, sensors: String(document.querySelectorAll('#sensor option').length)})`)
	if err != nil || st["state"] != "pick" || st["sensor"] != "s1" || st["name"] != "Simulated boutique" || st["sensors"] != "4" {
		webtest.Failed(t, tab, "calibrate")
		t.Fatalf("calibration page %v (%v)", st, err)
	}
	// The page polls the devices every 2 s; they are the API's.
	type cand struct {
		Dev    string  `json:"dev"`
		RSSI   float64 `json:"rssi"`
		Frames int     `json:"frames"`
	}
	var shown []string
	var api struct {
		Devices []cand `json:"devices"`
	}
	match := 0
	for try := 0; try < 30 && match == 0; try++ {
		shown, err = webtest.Eval[[]string](c, `[...document.querySelectorAll('#devices li[data-dev]')].map(li => li.dataset.dev)`)
		if err != nil {
			t.Fatal(err)
		}
		if err := get(base+"/api/sites/"+site+"/calibration/devices?sensor=s1", &api); err != nil {
			t.Fatal(err)
		}
		for _, d := range shown {
			if slices.ContainsFunc(api.Devices, func(a cand) bool { return a.Dev == d }) {
				match++
			}
		}
		if match == 0 {
			time.Sleep(time.Second)
		}
	}
	if match == 0 {
		webtest.Screenshot(t, tab, "calibrate-no-devices")
		t.Fatalf("the page lists devices %v at s1, the API %v", shown, api.Devices)
	}
	if len(shown) > 6 || len(api.Devices) == 0 {
		t.Fatalf("the page lists %d devices, the API %d", len(shown), len(api.Devices))
	}
	t.Logf("s1: page lists %d devices, %d of them the API's (API: %d)", len(shown), match, len(api.Devices))
	// "Mine" on the strongest device starts the walk with it as the phone;
	// a tap on the plan marks where the walker stands.
	phone := shown[0]
	err = chromedp.Do(c,
		chromedp.Click(chromedp.CSS(`#devices li[data-dev="`+phone+`"] button`)),
		chromedp.Poll[chromedp.Void](`['walking', 'ready'].includes(document.querySelector('main').dataset.state)`),
		chromedp.ScrollIntoView(chromedp.CSS(`#plan`)),
	)
	if err != nil {
		webtest.Failed(t, tab, "calibrate-start")
		t.Fatalf("start the walk: %v", err)
	}
	// The plan shows the shop, not the street around it: the 10 m wide
	// boutique fills most of the phone's width, so that a tap lands near
	// where it was meant.
	share, err := webtest.Eval[float64](c, `(window.calib.toPx(10, 0)[0] - window.calib.toPx(0, 0)[0]) / document.querySelector('#plan').getBoundingClientRect().width`)
	if err != nil || share < 0.7 {
		t.Errorf("the shop takes %.0f%% of the plan's width on a phone, want at least 70%% (%v)", 100*share, err)
	}
	// Its pixels are the screen's, so that the sensors' labels are
	// legible (a fixed 700 px canvas shrunk to half made them 6 px).
	sharp, err := webtest.Eval[bool](c, `(() => { const p = document.querySelector('#plan'); return Math.abs(p.width - p.clientWidth * devicePixelRatio) <= 1; })()`)
	if err != nil || !sharp {
		t.Errorf("the plan's canvas is not drawn at the screen's pixels (%v)", err)
	}
	xy, err := webtest.Eval[[]float64](c, `window.calib.toPx(5, 4)`)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(c,
		chromedp.MouseClickXY(xy[0], xy[1]),
		chromedp.Poll[chromedp.Void](`document.querySelector('main').dataset.marks === '1'`),
	)
	if err != nil {
		webtest.Failed(t, tab, "calibrate-tap")
		t.Fatalf("tap on the plan: %v", err)
	}
	var status struct {
		Phone *struct {
			Dev string `json:"dev"`
		} `json:"phone"`
		Marks []wire.Point `json:"marks"`
	}
	if err := get(base+"/api/sites/"+site+"/calibration/status", &status); err != nil {
		t.Fatal(err)
	}
	if status.Phone == nil || status.Phone.Dev != phone || len(status.Marks) != 1 ||
		math.Abs(status.Marks[0][0]-5) > 0.2 || math.Abs(status.Marks[0][1]-4) > 0.2 {
		t.Fatalf("calibration status: phone %+v, marks %v; want %s and one mark at (5, 4)", status.Phone, status.Marks, phone)
	}
	t.Logf("walk started with %s, marked at %v", phone, status.Marks[0])
	over, err := webtest.Eval[int](c, `document.documentElement.scrollWidth - window.innerWidth`)
	if err != nil || over > 0 {
		t.Errorf("the calibration page is %d px wider than the phone (%v)", over, err)
	}
	webtest.Screenshot(t, c, "calibrate-phone")
}
