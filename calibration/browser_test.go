package calibration

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

// TestBrowserCalibrationWalk drives web/static/calibrate.html on a phone's
// viewport in headless Chromium: pick the phone at a sensor, tap positions
// on the plan, follow the waypoint route with "I'm here", fit, apply,
// revert. The server is the calibration API over an in-memory site store
// and the page's files from web/static; a simulated phone walks in step
// with the server's (fake) clock.
func TestBrowserCalibrationWalk(t *testing.T) {
	ctx := webtest.Browser(t)
	w := newWorld()
	w.five = w.site.Radio.Offset5GHz - 2 // the site's 5 GHz offset is 2 dB off
	rng := rand.New(rand.NewPCG(8, 8))
	wps := Waypoints(w.site)
	const taps = 8
	// The phone: held at s1 for 20 s, then the first waypoints (tapped on
	// the plan), then back to the start of the route and along all of it
	// ("I'm here" at each), at 1 m/s.
	s1 := w.site.Sensors[0]
	path := walkPath{pts: []wire.Point{{s1.X, s1.Y}, {s1.X, s1.Y}}, ts: []int64{liveT0, liveT0 + 20000}}
	var arrive []int64 // arrival time at each route point, in order
	goTo := func(p wire.Point) {
		last := path.pts[len(path.pts)-1]
		d := math.Hypot(p[0]-last[0], p[1]-last[1])
		path.pts = append(path.pts, p)
		path.ts = append(path.ts, path.ts[len(path.ts)-1]+int64(d*1000)+1)
		arrive = append(arrive, path.ts[len(path.ts)-1])
	}
	for _, p := range wps[:taps] {
		goTo(p)
	}
	for _, p := range wps {
		goTo(p)
	}
	ls := newLiveShopPath(w, rng, path)
	mux := http.NewServeMux()
	mux.Handle("/api/", ls.svc.Handler())
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(os.DirFS("../web/static"))))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ls.svc.Session("sim")
	// Self-calibration runs too: the sensors heard each other for the last
	// three hours.
	var anchors []Anchor
	for i, se := range w.site.Sensors {
		anchors = append(anchors, Anchor{Dev: wire.Dev(0xa0 + i), ID: se.ID, X: se.X, Y: se.Y, Z: se.Z})
	}
	ls.svc.SetAnchors("sim", anchors)
	for tm := int64(liveT0 - 3*3600_000); tm < liveT0; tm += 60_000 {
		for i, se := range w.site.Sensors {
			b := wire.Batch{V: 1, Sensor: se.ID}
			for j, a := range anchors {
				if d := math.Hypot(a.X-se.X, a.Y-se.Y); d > 1 {
					r := w.true_[i].RSSI1m - 10*w.true_[i].Exponent*math.Log10(d) + 2*rng.NormFloat64()
					b.Obs = append(b.Obs, wire.Observation{T: tm + int64(j), Dev: a.Dev, RSSI: math.Round(r), Seq: -1})
				}
			}
			ls.svc.Observe("sim", &b)
		}
	}
	ls.advance(liveT0 + 15000)

	c, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	run := webtest.Steps(t, ctx, c)
	run("open the page on a phone",
		chromedp.Emulate(device.IPhone12),
		chromedp.Navigate(srv.URL+"/static/calibrate.html?site=sim"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#devices li.top[data-dev="%s"]`, ls.phone))))
	width, err := chromedp.Run(c, chromedp.Evaluate[int](`document.documentElement.clientWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 430 {
		t.Errorf("viewport %d px wide, want a phone's", width)
	}
	run("drift shown", chromedp.WaitVisible(chromedp.CSS(`#drift tr[data-sensor="s6"] svg polyline`)),
		chromedp.WaitVisible(chromedp.CSS(`#drift-anchors[data-n="6"]`)))
	if txt, err := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById('drift-anchors').textContent`)); err != nil ||
		!strings.Contains(txt, "s1, s2") || !strings.Contains(txt, "transmitting sensors") {
		t.Errorf("anchors line %q (%v)", txt, err)
	}
	run("pick the phone", chromedp.Click(chromedp.CSS(`#devices li.top button`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-state="walking"]`)))
	run("scroll to the plan", chromedp.ScrollIntoView(chromedp.CSS(`#plan`)))
	for k, p := range wps[:taps] {
		ls.advance(arrive[k])
		xy, err := chromedp.Run(c, chromedp.Evaluate[[]float64](fmt.Sprintf(`window.calib.toPx(%g, %g)`, p[0], p[1])))
		if err != nil || len(xy) != 2 {
			t.Fatalf("toPx: %v %v", xy, err)
		}
		run("tap", chromedp.MouseClickXY(xy[0], xy[1]),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-marks="%d"]`, k+1))))
	}
	// Staying at the last tapped spot marks it again every 3 s.
	run("stay", chromedp.Click(chromedp.CSS(`#stay`)), chromedp.WaitVisible(chromedp.CSS(`#stay.on`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-marks="%d"]`, taps+1))),
		chromedp.Click(chromedp.CSS(`#stay`)), chromedp.WaitNotPresent(chromedp.CSS(`#stay.on`)))
	n0 := len(ls.svc.Session("sim").marksCopy())
	if last := ls.svc.Session("sim").marksCopy()[n0-1]; n0 <= taps || math.Hypot(last.X-wps[taps-1][0], last.Y-wps[taps-1][1]) > 0.3 {
		t.Errorf("stay marked (%v, %v), want the last tapped spot %v", last.X, last.Y, wps[taps-1])
	}
	for len(ls.svc.Session("sim").marksCopy()) > taps { // the route below counts its own marks
		ls.svc.Session("sim").Undo()
	}
	// The page shows the undone count at its next poll; until then a
	// stale count would let the route's first click pass unawaited.
	run("undone", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-marks="%d"]`, taps))))
	run("route mode", chromedp.Click(chromedp.CSS(`#mode-route`)), chromedp.WaitVisible(chromedp.CSS(`#here`)))
	for k := range wps {
		ls.advance(arrive[taps+k])
		// A script's click: the page's sticky header may lie over the
		// button where the browser scrolled it, and take a mouse click.
		run("I'm here", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`document.querySelector('#here').click(), true`)(ctx, t)
			return err
		}),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-marks="%d"]`, taps+k+1))))
	}
	ls.advance(arrive[len(arrive)-1] + 3000)
	run("ready", chromedp.WaitVisible(chromedp.CSS(`main[data-state="ready"]`)))
	webtest.Screenshot(t, c, "walked")
	// The marks the page sent are where the phone was.
	se := ls.svc.Session("sim")
	se.mu.Lock()
	var worst float64
	for _, m := range se.marks {
		x, y := path.at(m.T)
		if e := math.Hypot(m.X-x, m.Y-y); e > 0.3 {
			t.Logf("mark %+v: the phone was at (%.2f, %.2f)", m, x, y)
		}
		worst = math.Max(worst, math.Hypot(m.X-x, m.Y-y))
	}
	n := len(se.marks)
	se.mu.Unlock()
	if n != taps+len(wps) || worst > 0.3 {
		t.Errorf("%d marks, worst %.2f m from the phone", n, worst)
	}
	run("fit", chromedp.Click(chromedp.CSS(`#fit`)), chromedp.WaitVisible(chromedp.CSS(`main[data-fitted]`)))
	verdict, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#verdict`)))
	t.Logf("verdict: %s", verdict)
	// The walk's 5 GHz offset, when the fit reports one, is on the page.
	se.mu.Lock()
	var off5 *Offset5Report
	if se.last != nil {
		off5 = se.last.Offset5
	}
	se.mu.Unlock()
	shown, _ := chromedp.Run(c, chromedp.Evaluate[string](`(document.getElementById('offset5') || {}).textContent || ''`))
	if off5 == nil || !strings.Contains(shown, fmt.Sprintf("→ %.1f", off5.Fitted)) {
		t.Errorf("fit reports offset_5ghz %+v, the page shows %q", off5, shown)
	}
	t.Logf("offset line: %q", shown)
	run("apply", chromedp.WaitEnabled(chromedp.CSS(`#apply`)), chromedp.Click(chromedp.CSS(`#apply`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-applied="2"]`)))
	sites := ls.svc.Sites.(*memSites)
	if len(sites.versions) != 2 || sites.versions[1].Sensors[0].RSSI1m == nil {
		t.Fatalf("apply wrote %d versions", len(sites.versions))
	}
	webtest.Screenshot(t, c, "applied")
	run("revert", chromedp.WaitVisible(chromedp.CSS(`#revert`)), chromedp.Click(chromedp.CSS(`#revert`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-reverted="3"]`)))
	if len(sites.versions) != 3 || sites.versions[2].Sensors[0].RSSI1m != nil {
		t.Errorf("revert: %d versions", len(sites.versions))
	}
}
