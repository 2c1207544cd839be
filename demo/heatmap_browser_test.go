package demo

// The heatmap in the browser against the real server (see browser_test.go).

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

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
	step := webtest.Steps(t, tab, c)
	step("open the heatmap view", chromedp.Navigate(base+"/#/heatmap/"+site))
	step("the view has drawn the API's grid", chromedp.WaitVisible(chromedp.CSS(`main[data-heatmap="ready"]`)))
	step("the overlay is shown", chromedp.WaitVisible(chromedp.CSS(`img.heat`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('img.heat').complete && document.querySelector('img.heat').naturalWidth > 0`))
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
	scale := max // heatmap.js: Math.sqrt(g.max || 1)
	if scale == 0 {
		scale = 1
	}
	var bad []string
	for j := range h {
		for i := range w {
			v := values[j*w+i]
			o := ((h-1-j)*w + i) * 4
			f := 0.0
			if v > 0 {
				f = math.Sqrt(v) / math.Sqrt(scale)
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
