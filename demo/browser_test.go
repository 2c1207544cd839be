package demo

// Browser tests of the dashboard against the real server: `passant demo`
// runs in-process (embedded broker, embedded store, the simulated shop
// publishing over MQTT) and headless Chromium drives the heatmap, the
// footfall view, the site editor and the calibration page. The web
// package's own browser tests run the same views against an in-memory fake
// backend; these show that the real server gives them what they need.
//
// Run: PASSANT_TEST_CHROMIUM=/usr/bin/chromium PASSANT_TEST_ARTIFACTS=/tmp/art \
//   go test -count=1 -run Browser ./demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

const site = "sim-small"

// shared is one demo for all the browser tests of this file: the shop's
// warm-up is what takes time, so it is played once. TestMain stops it.
var shared struct {
	once   sync.Once
	base   string
	err    error
	cancel context.CancelFunc
	done   chan error
	dir    string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
		select {
		case <-shared.done:
		case <-time.After(10 * time.Second):
		}
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sharedDemo returns the base URL of the running demo, once the shop's
// warm-up has produced passers-by and visitors in today's report and a
// heatmap.
func sharedDemo(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "passant-demo-browser-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dir = dir
		ctx, cancel := context.WithCancel(context.Background())
		shared.cancel = cancel
		shared.done = make(chan error, 1)
		urls := make(chan string, 1)
		go func() {
			shared.done <- Run(ctx, Config{HTTP: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", DataDir: dir, Seed: 5,
				Warmup: 4 * time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Ready: func(u string) { urls <- u }})
		}()
		select {
		case shared.base = <-urls:
		case err := <-shared.done:
			shared.err = fmt.Errorf("demo stopped: %v", err)
			return
		case <-time.After(60 * time.Second):
			shared.err = fmt.Errorf("demo did not start")
			return
		}
		// Wait until the warm-up has put people in the report and the heatmap.
		start := time.Now()
		for time.Since(start) < 60*time.Second {
			var rep wire.Report
			var hm struct {
				Max float64 `json:"max"`
			}
			if get(shared.base+"/api/sites/"+site+"/report", &rep) == nil && rep.Totals.Passersby > 0 && rep.Totals.Visitors > 0 &&
				get(shared.base+"/api/sites/"+site+"/heatmap", &hm) == nil && hm.Max > 0 {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		shared.err = fmt.Errorf("after 60 s the demo's report has no passers-by or visitors, or its heatmap is empty")
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.base
}

// get GETs a JSON endpoint.
func get(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(b))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func timeout(t *testing.T, ctx context.Context, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(ctx, d)
	t.Cleanup(cancel)
	return c
}

// TestBrowserHeatmapRendersAndDownloads: the heatmap view draws the real
// server's grid over the plan, and its "Download PNG" button downloads a
// PNG that decodes.
func TestBrowserHeatmapRendersAndDownloads(t *testing.T) {
	tab := webtest.Browser(t)
	base := sharedDemo(t)
	var before wire.Site
	if err := get(base+"/api/sites/"+site, &before); err != nil {
		t.Fatal(err)
	}
	c := timeout(t, tab, 50*time.Second)
	err := chromedp.Do(c,
		chromedp.Navigate(base+"/#/heatmap/"+site),
		chromedp.WaitVisible(chromedp.CSS(`main[data-heatmap="ready"]`)),
		chromedp.WaitVisible(chromedp.CSS(`img.heat`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('img.heat').complete && document.querySelector('img.heat').naturalWidth > 0`),
	)
	if err != nil {
		webtest.Screenshot(t, tab, "heatmap-failed")
		t.Fatal(err)
	}
	shown, err := webtest.Eval[struct {
		W, H      int
		Max, Cell float64
	}](c, `window.passantHeatmap`)
	if err != nil {
		t.Fatal(err)
	}
	// The grid the page shows is the API's for the same query.
	href, err := webtest.Eval[string](c, `document.querySelector('#hm-download').getAttribute('href')`)
	if err != nil || !strings.Contains(href, "/heatmap.png?") || !strings.Contains(href, "download=1") {
		t.Fatalf("download link %q (%v)", href, err)
	}
	var grid heatGrid
	if err := get(base+strings.Replace(strings.Replace(href, "/heatmap.png?", "/heatmap?", 1), "&download=1", "", 1), &grid); err != nil {
		t.Fatal(err)
	}
	// sim-small's bounds are 30 x 16 m: 60 x 32 cells of 0.5 m.
	if shown.W != grid.W || shown.H != grid.H || shown.Cell != grid.Cell || grid.W != 60 || grid.H != 32 || shown.Max <= 0 {
		t.Fatalf("page shows %+v; API grid %dx%d of %g m, max %g", shown, grid.W, grid.H, grid.Cell, grid.Max)
	}
	hot := 0
	for _, v := range grid.Values {
		if v > 0 && math.Sqrt(v/grid.Max) >= 0.02 {
			hot++
		}
	}
	// The overlay is really drawn: the image has the grid's size and as many
	// coloured pixels as the grid has visible cells (the grid may grow a
	// little between the page's read and ours).
	px, err := webtest.Eval[[]int](c, `(() => {
		const i = document.querySelector('img.heat'), r = i.getBoundingClientRect();
		const c = document.createElement('canvas'); c.width = i.naturalWidth; c.height = i.naturalHeight;
		const g = c.getContext('2d'); g.drawImage(i, 0, 0);
		const d = g.getImageData(0, 0, c.width, c.height).data;
		let n = 0; for (let k = 3; k < d.length; k += 4) if (d[k] > 0) n++;
		return [i.naturalWidth, i.naturalHeight, n, Math.round(r.width), Math.round(r.height)];
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	if px[0] != grid.W || px[1] != grid.H || px[2] == 0 || px[3] < 100 || px[4] < 50 {
		t.Fatalf("overlay image %dx%d with %d coloured pixels, %dx%d px on screen; grid %dx%d", px[0], px[1], px[2], px[3], px[4], grid.W, grid.H)
	}
	if float64(px[2]) < 0.5*float64(hot) || float64(px[2]) > 2*float64(hot)+10 {
		t.Fatalf("overlay has %d coloured pixels, the API's grid %d visible cells", px[2], hot)
	}
	t.Logf("heatmap %dx%d cells of %g m, max %.0f s, %d coloured pixels (API: %d cells)", shown.W, shown.H, shown.Cell, shown.Max, px[2], hot)

	// Cell by cell, the overlay is the API's grid in the colour map.
	showHeat(t, c, base)
	webtest.Screenshot(t, c, "heatmap")

	// "Download PNG": Chromium saves the file the button links to.
	dir := t.TempDir()
	progress := chromedp.Events(c, browser.DownloadProgress)
	yes := true
	err = chromedp.Do(c,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &yes})
			return err
		}),
		chromedp.Click(chromedp.CSS(`#hm-download button`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	guid := ""
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, guid))
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, data, "downloaded")

	// And the URL itself serves a PNG as an attachment.
	resp, err := http.Get(base + href)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("GET %s: %s, %q, %q", href, resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	checkPNG(t, body, "fetched")

	// Only the street, only the last hour or so: the page asks the server
	// for it and shows what it answers, which is a part of the whole
	// site's time in every cell.
	now := time.Now().In(before.Location())
	h0, h1 := now.Add(-10*time.Minute).Hour(), now.Hour()+1
	if h0 > h1 {
		h0 = 0
	}
	err = chromedp.Do(c,
		chromedp.SetValue(chromedp.CSS(`#hm-zone`), "street"),
		chromedp.SetValue(chromedp.CSS(`#hm-h0`), fmt.Sprint(h0)),
		chromedp.SetValue(chromedp.CSS(`#hm-h1`), fmt.Sprint(h1)),
	)
	if err != nil {
		t.Fatal(err)
	}
	street, href := showHeat(t, c, base)
	if !strings.Contains(href, "zone=street") || !strings.Contains(href, fmt.Sprintf("hours=%d-%d", h0, h1)) {
		t.Fatalf("download link %q", href)
	}
	var all heatGrid
	if err := get(base+strings.Replace(strings.Replace(strings.Replace(href, "/heatmap.png?", "/heatmap?", 1), "&download=1", "", 1), "zone=street", "zone=", 1), &all); err != nil {
		t.Fatal(err)
	}
	var sumStreet, sumAll float64
	for i, v := range street.Values {
		if v > all.Values[i]+1e-6 {
			t.Fatalf("cell %d: %g s on the street, %g s in the whole site", i, v, all.Values[i])
		}
		sumStreet += v
		sumAll += all.Values[i]
	}
	if sumStreet <= 0 || sumStreet >= sumAll {
		t.Fatalf("street heatmap %g s in all, whole site %g s", sumStreet, sumAll)
	}
	t.Logf("hours %d-%d: the street holds %.0f s of the site's %.0f s", h0, h1, sumStreet, sumAll)
	webtest.Screenshot(t, c, "heatmap-street")
}

// heatGrid is the heatmap API's answer.
type heatGrid struct {
	W      int       `json:"w"`
	H      int       `json:"h"`
	Cell   float64   `json:"cell"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"`
}

// showHeat presses the heatmap view's "Show" and checks that the overlay
// drawn is, cell by cell, the API's grid for the page's query in the colour
// map. The shop keeps walking, so it asks again until the page and the API
// read the same grid. It returns the grid and the download link.
func showHeat(t *testing.T, c context.Context, base string) (heatGrid, string) {
	t.Helper()
	var bad []string
	var grid heatGrid
	var href string
	for try := 0; try < 10; try++ {
		err := chromedp.Do(c,
			chromedp.Evaluate[chromedp.Void](`delete window.passantHeatmap; document.querySelector('#hm-show').click()`),
			chromedp.Poll[chromedp.Void](`window.passantHeatmap !== undefined && document.querySelector('img.heat').complete && document.querySelector('img.heat').naturalWidth > 0`),
		)
		if err != nil {
			t.Fatal(err)
		}
		rgba, err := webtest.Eval[[]int](c, `(() => {
			const i = document.querySelector('img.heat');
			const c = document.createElement('canvas'); c.width = i.naturalWidth; c.height = i.naturalHeight;
			const g = c.getContext('2d'); g.drawImage(i, 0, 0);
			return Array.from(g.getImageData(0, 0, c.width, c.height).data);
		})()`)
		if err != nil {
			t.Fatal(err)
		}
		href, err = webtest.Eval[string](c, `document.querySelector('#hm-download').getAttribute('href')`)
		if err != nil {
			t.Fatal(err)
		}
		grid = heatGrid{}
		if err := get(base+strings.Replace(strings.Replace(href, "/heatmap.png?", "/heatmap?", 1), "&download=1", "", 1), &grid); err != nil {
			t.Fatal(err)
		}
		if bad = compareHeat(grid.W, grid.H, grid.Max, grid.Values, rgba); len(bad) == 0 {
			return grid, href
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the overlay is not the API's grid: %d cells differ, e.g. %s", len(bad), strings.Join(bad[:min(len(bad), 5)], "; "))
	return grid, href
}

// viridis is the colour map of heatmap.js.
var viridis = [][3]float64{{68, 1, 84}, {71, 44, 122}, {59, 81, 139}, {44, 113, 142}, {33, 144, 141}, {39, 173, 129}, {92, 200, 99}, {170, 220, 50}, {253, 231, 37}}

// compareHeat compares the overlay image's pixels (RGBA, top row first) with
// the API's grid (row 0 at the bottom) as heatmap.js colours it: a square
// root scale, cells under 2 % transparent, fainter cells more transparent.
// It returns the cells that differ.
func compareHeat(w, h int, max float64, values []float64, rgba []int) []string {
	if len(values) != w*h || len(rgba) != 4*w*h {
		return []string{fmt.Sprintf("grid %dx%d has %d values, the image %d bytes", w, h, len(values), len(rgba))}
	}
	round := func(v float64) int { return int(math.Floor(v + 0.5)) }
	var bad []string
	for j := range h {
		for i := range w {
			v := values[j*w+i]
			o := ((h-1-j)*w + i) * 4
			f := 0.0
			if v > 0 {
				f = math.Sqrt(v) / math.Sqrt(math.Max(max, 1))
			}
			got := rgba[o : o+4]
			if f < 0.02 {
				if got[3] != 0 {
					bad = append(bad, fmt.Sprintf("cell (%d,%d) %.3g s: alpha %d, want 0", i, j, v, got[3]))
				}
				continue
			}
			x := math.Min(f, 1) * float64(len(viridis)-1)
			k := min(int(x), len(viridis)-2)
			fr := x - float64(k)
			a := round(255 * math.Min(1, 0.1+1.5*f))
			// The canvas keeps colours premultiplied by alpha: faint cells
			// lose precision on the way through the PNG.
			tol := 2 + 255/a
			ok := abs(got[3]-a) <= 1
			for ch := range 3 {
				want := round(viridis[k][ch] + (viridis[k+1][ch]-viridis[k][ch])*fr)
				ok = ok && abs(got[ch]-want) <= tol
			}
			if !ok {
				bad = append(bad, fmt.Sprintf("cell (%d,%d) %.3g s of %.3g: rgba %v", i, j, v, max, got))
			}
		}
	}
	return bad
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// checkPNG checks that data is a PNG that decodes to a picture that is not
// of one colour.
func checkPNG(t *testing.T, data []byte, what string) {
	t.Helper()
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("%s heatmap: not a PNG: % x", what, data[:min(len(data), 8)])
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s heatmap: %v", what, err)
	}
	b := img.Bounds()
	colours := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if b.Dx() < 32 || b.Dy() < 16 || len(colours) < 3 {
		t.Fatalf("%s heatmap: %dx%d with %d colours", what, b.Dx(), b.Dy(), len(colours))
	}
	t.Logf("%s heatmap PNG: %d bytes, %dx%d, %d colours", what, len(data), b.Dx(), b.Dy(), len(colours))
}

// footfallShown is what the footfall view shows: the report it got, the
// charts' data, the totals tiles and the days table.
type footfallShown struct {
	Report  wire.Report    `json:"report"`
	Plotted [][][]*float64 `json:"plotted"`
	KPI     map[string]string
	Days    [][]string
	From    string
	To      string
}

const readFootfall = `(() => {
	const f = window.passantFootfall;
	const kpi = {};
	for (const k of document.querySelectorAll('.kpi')) kpi[k.id.replace('kpi-', '')] = k.querySelector('.v').textContent;
	const days = [...document.querySelectorAll('#ff-days tr')].slice(1).map(tr => [...tr.children].map(td => td.textContent));
	return { report: f.report, plotted: f.plotted, KPI: kpi, Days: days,
		From: document.querySelector('#ff-from').value, To: document.querySelector('#ff-to').value };
})()`

// TestBrowserFootfallShowsTheAPIsNumbers: the footfall view, for today and
// for the last 7 days, shows the numbers of the real server's report for
// the same range: the tiles, the charts and the days table.
func TestBrowserFootfallShowsTheAPIsNumbers(t *testing.T) {
	tab := webtest.Browser(t)
	base := sharedDemo(t)
	c := timeout(t, tab, 50*time.Second)
	err := chromedp.Do(c,
		chromedp.Navigate(base+"/#/footfall/"+site),
		chromedp.WaitVisible(chromedp.CSS(`main[data-footfall="ready"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	today := checkFootfall(t, c, base, "Today")
	if len(today.Days) != 1 || len(today.Hours) < 23 || len(today.Hours) > 25 {
		t.Fatalf("today's report has %d days, %d hours", len(today.Days), len(today.Hours))
	}
	webtest.Screenshot(t, c, "footfall-today")
	week := checkFootfall(t, c, base, "Last 7 days")
	if len(week.Hours) < 7*24-1 || len(week.Hours) > 7*24+1 || week.Totals.Passersby < today.Totals.Passersby {
		t.Fatalf("the last 7 days' report has %d hours, %d passers-by (today %d)", len(week.Hours), week.Totals.Passersby, today.Totals.Passersby)
	}
	webtest.Screenshot(t, c, "footfall-week")
}

// checkFootfall presses the footfall view's button (e.g. "Today") and checks
// that what the page then shows is the API's report for the range it
// shows: the tiles, the hourly charts, the daily chart and the days table.
// It returns the report.
func checkFootfall(t *testing.T, c context.Context, base, button string) wire.Report {
	t.Helper()
	// The demo runs live, so the report may change between the page's read
	// and ours: ask again until both agree.
	var shown footfallShown
	var api wire.Report
	agree := false
	for try := 0; try < 10 && !agree; try++ {
		err := chromedp.Do(c,
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`delete window.passantFootfall; [...document.querySelectorAll('main .toolbar button')].find(b => b.textContent === %q).click()`, button)),
			chromedp.Poll[chromedp.Void](`window.passantFootfall !== undefined`),
		)
		if err != nil {
			t.Fatalf("%s: %v", button, err)
		}
		shown, err = webtest.Eval[footfallShown](c, readFootfall)
		if err != nil {
			t.Fatal(err)
		}
		if err := get(fmt.Sprintf("%s/api/sites/%s/report?from=%s&to=%s", base, site, shown.From, shown.To), &api); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(api)
		p, _ := json.Marshal(shown.Report)
		agree = bytes.Equal(a, p)
		if !agree {
			time.Sleep(300 * time.Millisecond)
		}
	}
	if !agree {
		t.Fatalf("%s: the page's report never equalled the API's: page %+v, API %+v", button, shown.Report.Totals, api.Totals)
	}
	T := api.Totals
	if T.Passersby == 0 || T.Visitors == 0 {
		t.Fatalf("%s (%s to %s): %d passers-by, %d visitors", button, shown.From, shown.To, T.Passersby, T.Visitors)
	}
	t.Logf("%s (%s to %s): %d passers-by, %d visitors, %d hours, %d days", button, shown.From, shown.To, T.Passersby, T.Visitors, len(api.Hours), len(api.Days))

	// The tiles. (A percentage may round a tie either way: JavaScript's
	// toFixed rounds it up, Go's %.1f to even.)
	want := map[string][]string{
		"passersby":     {intText(T.Passersby)},
		"passersby-est": {intText(int(math.Round(T.PassersbyEst)))},
		"visitors":      {intText(T.Visitors)},
		"capture":       pctText(T.CaptureRate),
		"dwell":         {durText(T.DwellMedianS)},
		"dwell-est":     {durText(T.DwellMedianEstS)},
	}
	for _, p := range pctText(ratio(T.Returning, T.Visitors)) {
		want["returning"] = append(want["returning"], fmt.Sprintf("%s (%s)", intText(T.Returning), p))
	}
	if T.ReturningEst == nil {
		want["returning-est"] = []string{"–"}
	} else {
		share := *T.ReturningEst / float64(T.Visitors)
		for _, p := range pctText(&share) {
			want["returning-est"] = append(want["returning-est"], fmt.Sprintf("%s (%s)", intText(int(math.Round(*T.ReturningEst))), p))
		}
	}
	for k, v := range want {
		if !slices.Contains(v, shown.KPI[k]) {
			t.Errorf("%s: tile %s shows %q, API %q", button, k, shown.KPI[k], v[0])
		}
	}
	// The charts: passers-by and visitors per hour, capture rate per hour,
	// and for more than 3 days, visitors and capture rate per day.
	charts := 2
	if len(api.Days) > 3 {
		charts = 3
	}
	if len(shown.Plotted) != charts {
		t.Fatalf("%s: %d charts plotted, want %d", button, len(shown.Plotted), charts)
	}
	hourly, rates := shown.Plotted[0], shown.Plotted[1]
	if len(hourly) != 4 || len(rates) < 2 || len(hourly[0]) != len(api.Hours) || len(rates[1]) != len(api.Hours) {
		t.Fatalf("%s: charts have %d/%d series of %d points, API %d hours", button, len(hourly), len(rates), len(hourly[0]), len(api.Hours))
	}
	busy := 0
	for i, h := range api.Hours {
		if val(hourly[0][i]) != float64(h.Start/1000) || val(hourly[1][i]) != float64(h.Passersby) || val(hourly[2][i]) != float64(h.Visitors) {
			t.Fatalf("%s: hour %d charted at %v: %v passers-by, %v visitors; API %d: %d, %d", button, i, val(hourly[0][i]), val(hourly[1][i]), val(hourly[2][i]), h.Start/1000, h.Passersby, h.Visitors)
		}
		if val(hourly[3][i]) != h.PassersbyEst {
			t.Fatalf("%s: hour %d charted %v passers-by as people, API %v", button, i, val(hourly[3][i]), h.PassersbyEst)
		}
		if !sameRate(rates[1][i], h.CaptureRate) {
			t.Fatalf("%s: hour %d capture rate charted %v, API %v", button, i, rates[1][i], h.CaptureRate)
		}
		if h.Passersby > 0 {
			busy++
		}
	}
	if busy == 0 {
		t.Fatalf("%s: no hour of the chart has passers-by", button)
	}
	if charts == 3 {
		daily := shown.Plotted[2]
		if len(daily) != 3 || len(daily[0]) != len(api.Days) {
			t.Fatalf("%s: the daily chart has %d series of %d points, API %d days", button, len(daily), len(daily[0]), len(api.Days))
		}
		for i, d := range api.Days {
			if val(daily[0][i]) != float64(d.Start/1000) || val(daily[1][i]) != float64(d.Visitors) || !sameRate(daily[2][i], d.CaptureRate) {
				t.Fatalf("%s: day %s charted %v/%v/%v, API %d/%d/%v", button, d.Date, val(daily[0][i]), val(daily[1][i]), daily[2][i], d.Start/1000, d.Visitors, d.CaptureRate)
			}
		}
	}
	// The days table.
	if len(shown.Days) != len(api.Days) {
		t.Fatalf("%s: the days table has %d rows, API %d days", button, len(shown.Days), len(api.Days))
	}
	for i, d := range api.Days {
		row := shown.Days[i]
		if len(row) < 3 || row[0] != d.Date || row[1] != intText(d.Passersby) || row[2] != intText(d.Visitors) {
			t.Fatalf("%s: days table row %q, API %s: %d passers-by, %d visitors", button, row, d.Date, d.Passersby, d.Visitors)
		}
	}
	// The charts are drawn on the page, not just computed.
	drawn, err := webtest.Eval[int](c, `document.querySelectorAll('#ff-hours canvas, #ff-rates canvas').length`)
	if err != nil || drawn < 2 {
		t.Fatalf("%s: %d chart canvases (%v)", button, drawn, err)
	}
	return api
}

func sameRate(charted, api *float64) bool {
	if charted == nil || api == nil {
		return charted == nil && api == nil
	}
	return math.Abs(*charted-*api) < 1e-12
}

func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	r := float64(a) / float64(b)
	return &r
}

// intText is fmt.int of api.js: toLocaleString('en').
func intText(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// pctText is fmt.pct of api.js, both ways of rounding a tie.
func pctText(v *float64) []string {
	if v == nil {
		return []string{"–"}
	}
	return []string{fmt.Sprintf("%.1f %%", 100**v), fmt.Sprintf("%.1f %%", 100**v+1e-9)}
}

// durText is fmt.dur of api.js.
func durText(s *float64) string {
	switch {
	case s == nil:
		return "–"
	case *s < 60:
		return fmt.Sprintf("%.0f s", math.Floor(*s+0.5))
	case *s < 3600:
		return fmt.Sprintf("%.0f min", math.Floor(*s/60+0.5))
	}
	return fmt.Sprintf("%.1f h", *s/3600)
}

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
	for _, p := range corners {
		xy, err := webtest.Eval[[]float64](c, fmt.Sprintf(`window.passantEditor.pagePoint(%g, %g)`, p[0], p[1]))
		if err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(c, chromedp.MouseClickXY(xy[0], xy[1])); err != nil {
			t.Fatal(err)
		}
	}
	webtest.Screenshot(t, c, "editor-drawing")
	err = chromedp.Do(c,
		chromedp.Click(chromedp.CSS(`#ed-zone-finish`)),
		chromedp.WaitVisible(chromedp.CSS(`#ed-zones li[data-zone="promo"]`)),
		chromedp.Click(chromedp.CSS(`#ed-save`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('main').dataset.saved !== undefined`),
	)
	if err != nil {
		webtest.Screenshot(t, tab, "editor-failed")
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
		webtest.Screenshot(t, tab, "live-failed")
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
		webtest.Screenshot(t, tab, "calibrate-failed")
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
		webtest.Screenshot(t, tab, "calibrate-start-failed")
		t.Fatalf("start the walk: %v", err)
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
		webtest.Screenshot(t, tab, "calibrate-tap-failed")
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
