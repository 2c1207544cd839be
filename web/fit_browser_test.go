package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
)

// spills lists what sticks out: the page's own sideways scroll (the
// document wider than the window), and any text or element that reaches
// past the right edge of the tile (.kpi) it is in.
const spills = `(() => {
	const out = [], de = document.documentElement;
	if (de.scrollWidth > de.clientWidth) out.push('the page scrolls sideways: ' + de.scrollWidth + ' px wide in ' + de.clientWidth);
	for (const k of document.querySelectorAll('.kpi')) {
		const r = k.getBoundingClientRect().right;
		for (const e of k.querySelectorAll('*')) {
			const b = e.getBoundingClientRect();
			// A text node's box: its element's content may be wider than the element.
			const rg = document.createRange(); rg.selectNodeContents(e);
			const right = Math.max(b.right, rg.getBoundingClientRect().right);
			if (right > r + 1) out.push((k.id || 'a tile') + ': "' + e.textContent + '" reaches ' + Math.round(right - r) + ' px past the tile');
		}
		// A share in brackets is one piece: "(13.2 %)", never "(13.2" over "%)".
		for (const e of k.querySelectorAll('.v small')) {
			const lines = new Set([...e.getClientRects()].map(b => Math.round(b.top)));
			if (lines.size > 1) out.push((k.id || 'a tile') + ': "' + e.textContent + '" broken over ' + lines.size + ' lines');
		}
	}
	return out;
})()`

// TestBrowserFootfallFits: the footfall page at a desktop's, a tablet's and
// a phone's width does not scroll sideways, and nothing in its tiles
// reaches past the tile. Before, each tile's "nothing counted last week"
// ran into the next tile and past the window's edge (the page scrolled
// sideways by 34 px at 1400), a share in brackets broke as "(13.2" and
// "%)", and the Admin box's import field, closed, still took room 180 px
// past the right edge.
func TestBrowserFootfallFits(t *testing.T) {
	for _, compare := range []string{"nothing", "synthetic", "demo"} {
		b := newDemoBackend()
		switch compare {
		case "nothing":
			b.since = time.Now().UnixMilli() // nobody counted last week
		case "demo":
			// The demo's week as its tiles showed it: 331 of 2,519 visitors
			// returning (est.), 13.2 %.
			r := syntheticReport("demo", time.Now().Add(-7*24*time.Hour).UnixMilli(), time.Now().UnixMilli())
			r.Totals.Passersby, r.Totals.Visitors, r.Totals.Returning = 21195, 2519, 110
			est := 331.4
			r.Totals.ReturningEst, r.Totals.PassersbyEst = &est, 20774
			b.reports["demo"] = r
		}
		srv, ctx := browserServer(t, b)
		c := within(t, ctx, 60*time.Second)
		for _, wh := range [][2]int64{{1400, 1000}, {1280, 900}, {768, 1024}, {390, 844}} {
			what := fmt.Sprintf("%dx%d, %s", wh[0], wh[1], compare)
			vp := chromedp.EmulateViewport(wh[0], wh[1])
			if wh[0] < 500 {
				vp = chromedp.EmulateViewport(wh[0], wh[1], chromedp.EmulateScale(2), chromedp.EmulateMobile)
			}
			err := chromedp.Do(c, vp, chromedp.Navigate(srv.URL+"/#/footfall/demo"),
				chromedp.WaitVisible(chromedp.CSS(`main[data-footfall="ready"]`)),
				chromedp.WaitReady(chromedp.CSS(`#ff-pos-file`)))
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			// The page as it settles (fonts, charts), then with the Admin box open.
			time.Sleep(300 * time.Millisecond)
			for _, open := range []bool{false, true} {
				if open {
					if _, err := webtest.Eval[bool](c, `document.querySelector('details.admin').open = true`); err != nil {
						t.Fatal(err)
					}
				}
				got, err := webtest.Eval[[]string](c, spills)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range got {
					t.Errorf("%s, Admin open: %v: %s", what, open, p)
				}
				if len(got) > 0 {
					webtest.Screenshot(t, c, fmt.Sprintf("footfall-%d-%s-%v", wh[0], compare, open))
				}
			}
		}
	}
}

// TestBrowserChainFits: on a laptop's screen (1280 and 1400 px) the
// chain's table fits its card, so the sensors-online column is in sight
// without scrolling sideways. Before, its headers did not wrap ("AS PEOPLE
// (EST.)", "VS A WEEK BEFORE", "SENSORS ONLINE" on one line each): the
// table was 1,458 px wide for one shop, 90 px past a 1400 px window's card.
func TestBrowserChainFits(t *testing.T) {
	b := newDemoBackend()
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	for _, wh := range [][2]int64{{1400, 1000}, {1280, 900}} {
		err := chromedp.Do(c, chromedp.EmulateViewport(wh[0], wh[1]), chromedp.Navigate(srv.URL+"/#/chain"),
			chromedp.WaitVisible(chromedp.CSS(`main[data-chain="ready"]`)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := webtest.Eval[[]int](c, `(() => { const t = document.getElementById('chain-table');
			return [Math.round(t.getBoundingClientRect().width), t.parentElement.clientWidth, document.querySelectorAll('#chain-table tr[data-site]').length]; })()`)
		if err != nil {
			t.Fatal(err)
		}
		if got[2] == 0 || got[0] > got[1] {
			t.Errorf("%dx%d: the chain's table (%d rows) is %d px wide in a card of %d", wh[0], wh[1], got[2], got[0], got[1])
			webtest.Screenshot(t, c, fmt.Sprintf("chain-%d", wh[0]))
		}
	}
}
