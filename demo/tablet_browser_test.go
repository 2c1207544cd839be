package demo

// The dashboard on a tablet (see browser_test.go).

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
)

// overflowJS lists the elements that stick out of the page sideways (at
// most ten): shown (not in a closed details, not hidden or transparent),
// and not inside a box that scrolls or clips sideways
// (a map's panes, the menu's strip, a table's card), which keeps its
// content to itself. The page's own sideways scroll is told apart.
const overflowJS = `(() => {
	const W = document.documentElement.clientWidth, out = [];
	const over = document.documentElement.scrollWidth - W;
	if (over > 0) out.push('the page scrolls sideways by ' + over + ' px');
	for (const el of document.querySelectorAll('body *')) {
		const r = el.getBoundingClientRect();
		// Its box, or its text (a line that does not wrap) past the edge.
		const text = el.childElementCount === 0 && r.left + el.scrollWidth > W + 1;
		if (r.width === 0 || r.height === 0 || (r.right <= W + 1 && r.left >= -1 && !text)) continue;
		if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue; // a closed details' content, a faded toast
		let p = el.parentElement, kept = false;
		for (; p && p !== document.body; p = p.parentElement) {
			if (getComputedStyle(p).overflowX !== 'visible') { kept = true; break; }
		}
		if (kept) continue;
		const cls = typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '';
		out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls + (text ? ' (its text ' + JSON.stringify(el.textContent.slice(0, 40)) + ')' : '') +
			' spans ' + Math.round(r.left) + '..' + Math.round(text ? r.left + el.scrollWidth : r.right) + ' of ' + W + ' px');
		if (out.length >= 10) break;
	}
	return out;
})()`

// TestBrowserTablet: the live map, the footfall page (its admin tools
// opened too) and the heatmap, on the demo's shop (history and a live
// shop), at a tablet's size (768x1024, touch, 2x pixels, upright and
// turned sideways) and a phone's: each renders (its view ready, its map or
// charts drawn), nothing sticks out sideways, and the console logs no
// error, the page throws nothing and no request fails (webtest.Watch).
// Before, the footfall page scrolled sideways on a tablet by 17 px (37
// turned): a comparison's "nothing counted last week" did not wrap in its
// card.
func TestBrowserTablet(t *testing.T) {
	tab := webtest.Browser(t)
	base := sharedDemo(t)
	w, err := webtest.NewWatch(tab)
	if err != nil {
		t.Fatal(err)
	}
	views := []struct{ route, ready, drawn, then string }{
		{"#/live/" + site, `main[data-ready="live"]`, `#live-map .leaflet-pane`, ""},
		// The admin's tools opened too.
		{"#/footfall/" + site, `main[data-footfall="ready"]`, `main svg, main canvas`, `details.admin summary`},
		{"#/heatmap/" + site, `main[data-heatmap="ready"]`, `main .leaflet-pane`, ""},
	}
	for _, sc := range []struct {
		name string
		w, h int64
	}{{"tablet 768x1024", 768, 1024}, {"tablet 1024x768", 1024, 768}, {"phone 390x844", 390, 844}} {
		for _, v := range views {
			where := sc.name + " " + v.route
			w.At(where)
			c, cancel := context.WithTimeout(tab, 60*time.Second)
			err := chromedp.Do(c,
				chromedp.EmulateViewport(sc.w, sc.h, chromedp.EmulateScale(2), chromedp.EmulateMobile),
				chromedp.Navigate(base+"/"+v.route),
				chromedp.WaitVisible(chromedp.CSS(v.ready)),
				chromedp.WaitReady(chromedp.CSS(v.drawn)),
			)
			if err != nil {
				cancel()
				webtest.Failed(t, tab, "tablet")
				t.Fatalf("%s: not rendered: %v", where, err)
			}
			time.Sleep(500 * time.Millisecond) // late layout: charts sized to their card, the map's tiles
			check := func(where string) {
				over, err := webtest.Eval[[]string](c, overflowJS)
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				if len(over) > 0 {
					t.Errorf("%s: sticks out sideways:\n\t%s", where, strings.Join(over, "\n\t"))
				}
			}
			check(where)
			if v.then != "" {
				if err := chromedp.Do(c, chromedp.Click(chromedp.CSS(v.then))); err != nil {
					t.Fatalf("%s: click %s: %v", where, v.then, err)
				}
				time.Sleep(300 * time.Millisecond)
				check(where + " (" + v.then + " clicked)")
			}
			cancel()
			webtest.Screenshot(t, tab, "tablet-"+strings.NewReplacer(" ", "-", "#/", "", "/", "-").Replace(where))
		}
	}
	for _, p := range w.Problems(0) {
		t.Error(p)
	}
}
