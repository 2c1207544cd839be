package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
)

// axisOverlaps lists the time axes' labels that run into the next one, on
// every uPlot chart the footfall page exposes (window.passantCharts): each
// label's lines measured in the axis's font, centred on its tick.
const axisOverlaps = `(() => {
	const out = [], g = document.createElement('canvas').getContext('2d');
	for (const [name, u] of Object.entries(window.passantCharts || {})) {
		const a = u.axes[0], splits = a._splits || [], values = a._values || [];
		g.font = Array.isArray(a.font) ? a.font[0] : a.font;
		let prev = null;
		for (let i = 0; i < splits.length; i++) {
			const text = values[i] == null ? '' : String(values[i]);
			if (!text.trim()) continue;
			// (uPlot keeps the axis's font in canvas pixels.)
			const w = Math.max(...text.split('\n').map(l => g.measureText(l).width)) / (window.devicePixelRatio || 1), x = u.valToPos(splits[i], 'x');
			if (prev && x - w / 2 < prev.x + prev.w / 2 + 2) out.push(name + ': "' + prev.text.replace('\n', ' ') + '" runs into "' + text.replace('\n', ' ') + '"');
			prev = { x, w, text };
		}
	}
	return out;
})()`

// TestBrowserTimeAxesReadable: on a phone, a tablet and a desktop the
// footfall page's time axes (the week ahead, the hours, the capture rate)
// have labels that do not run into each other. Before, on a phone the
// week ahead read "Sun 6 DecTue 8 DecThu 10 DecSat 12 Dec".
func TestBrowserTimeAxesReadable(t *testing.T) {
	_, srv, _ := weekdayServer(t)
	ctx := webtest.Browser(t)
	c := within(t, ctx, 60*time.Second)
	for _, wh := range [][2]int64{{390, 844}, {768, 1024}, {1400, 1000}} {
		vp := chromedp.EmulateViewport(wh[0], wh[1])
		if wh[0] < 500 {
			vp = chromedp.EmulateViewport(wh[0], wh[1], chromedp.EmulateScale(2), chromedp.EmulateMobile)
		}
		err := chromedp.Do(c, vp, chromedp.Navigate(srv.URL+"/#/footfall/demo"),
			chromedp.WaitVisible(chromedp.CSS(`main[data-forecast="ready"] #fc-chart canvas`)),
			chromedp.WaitVisible(chromedp.CSS(`main[data-footfall="ready"] #ff-hours canvas`)))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // charts sized to their cards
		n, err := webtest.Eval[int](c, `Object.keys(window.passantCharts || {}).length`)
		if err != nil || n < 3 {
			t.Fatalf("%dx%d: %d charts exposed (%v), want the week ahead, the hours and the rates", wh[0], wh[1], n, err)
		}
		got, err := webtest.Eval[[]string](c, axisOverlaps)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range got {
			t.Errorf("%dx%d: %s", wh[0], wh[1], p)
		}
		if len(got) > 0 {
			webtest.Screenshot(t, c, fmt.Sprintf("axes-%d", wh[0]))
		}
	}
}
