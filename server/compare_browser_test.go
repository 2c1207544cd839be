package server

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/passant/passant/web/webtest"
)

// compareShown is what the footfall page shows of its comparison: each
// tile's change ("▲ +50 % vs 4") and direction, and the charts' data.
type compareShown struct {
	Deltas  map[string]string       `json:"deltas"`
	Dirs    map[string]string       `json:"dirs"`
	Plotted [][][]*float64          `json:"plotted"`
	Hours   []struct{ Start int64 } `json:"hours"`
	Span    string                  `json:"span"`
}

const readCompare = `(() => {
	const deltas = {}, dirs = {};
	for (const k of document.querySelectorAll('.kpi')) {
		const d = k.querySelector('.delta');
		if (d) { deltas[k.id.replace('kpi-', '')] = d.textContent; dirs[k.id.replace('kpi-', '')] = d.dataset.dir; }
	}
	const f = window.passantFootfall;
	return { deltas, dirs, plotted: f.plotted, hours: f.report.hours,
		span: (document.querySelector('#ff-compare-span') || {}).textContent || '' };
})()`

// TestBrowserCompareWithAWeekBefore: the footfall page of a shop with
// known people today and a week before compares today so far with the
// same part of the day a week before: 6 visitors "▲ +50 % vs 4" (not
// against the 9 of the whole day), in the tiles, the hourly chart's line
// (hour by hour) and the daily chart; with "Nothing" chosen the changes go;
// the chain's column says the same.
func TestBrowserCompareWithAWeekBefore(t *testing.T) {
	srv, tw := startTwoWeeks(t, false)
	tab := webtest.Browser(t)
	c, cancel := context.WithTimeout(tab, 40*time.Second)
	defer cancel()
	step := webtest.Steps(t, tab, c)
	base := "http://" + srv.HTTPAddr()
	step("open the footfall page (the last 7 days against the 7 before)",
		chromedp.Navigate(base+"/#/footfall/"+tw.site.Site),
		chromedp.WaitVisible(chromedp.CSS(`main[data-footfall="ready"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ff-daily canvas`)))
	want := map[string]string{
		"visitors":      "▲ +50 % vs 4",
		"passersby":     "▲ +100 % vs 5",
		"passersby-est": "▲ +100 % vs 5",
		"capture":       "▼ −6.9 pts vs 44.4 %", // 6/16 against 4/9
		"dwell":         "● ±0 % vs 9 min",
		"returning":     "– vs 0", // 2 regulars today, none a week before: no percentage of 0
	}
	check := func(what string, days int) compareShown {
		t.Helper()
		shown, err := webtest.Eval[compareShown](c, readCompare)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if shown.Deltas[k] != v {
				t.Errorf("%s: tile %s's change %q, want %q", what, k, shown.Deltas[k], v)
			}
		}
		if shown.Dirs["visitors"] != "up" || shown.Dirs["capture"] != "down" || shown.Dirs["returning"] != "none" {
			t.Errorf("%s: directions %v", what, shown.Dirs)
		}
		if _, ok := shown.Deltas["conversion"]; ok {
			t.Errorf("%s: a change under the till conversion, with no receipts either week: %q", what, shown.Deltas["conversion"])
		}
		// The hourly chart's fifth series: a week ago's visitors at the
		// hours they compare with, 0 in the other hours up to now's, none
		// after (today's rest of the day is not compared yet).
		hourly := shown.Plotted[0]
		if len(hourly) != 5 {
			t.Fatalf("%s: the hourly chart has %d series, want 5", what, len(hourly))
		}
		now := time.Now().UnixMilli()
		seen := 0
		for i, h := range shown.Hours {
			v := hourly[4][i]
			switch {
			case h.Start > now:
				if v != nil {
					t.Errorf("%s: hour %d (to come) compared with %v", what, i, *v)
				}
			case h.Start < now-3600_000:
				if v == nil || int(*v) != tw.prevHours[h.Start] {
					t.Errorf("%s: hour %d charted against %v, want %d", what, i, v, tw.prevHours[h.Start])
				}
				if v != nil {
					seen += int(*v)
				}
			}
		}
		if seen+tw.prevHours[time.UnixMilli(now).Truncate(time.Hour).UnixMilli()] != 4 {
			t.Errorf("%s: %d visitors of a week ago charted before this hour", what, seen)
		}
		if days > 3 {
			daily := shown.Plotted[2]
			if len(daily) != 4 || len(daily[3]) != days || daily[3][days-1] == nil || *daily[3][days-1] != 4 || daily[3][0] == nil || *daily[3][0] != 0 {
				t.Errorf("%s: the daily chart's comparison %v", what, daily[len(daily)-1])
			}
		}
		return shown
	}
	shown := check("last 7 days", 7)
	t.Logf("compared with %s", shown.Span)
	webtest.Screenshot(t, c, "footfall-compare")

	step("today", chromedp.Evaluate[chromedp.Void](`delete window.passantFootfall; [...document.querySelectorAll('main .toolbar button')].find(b => b.textContent === 'Today').click()`),
		chromedp.Poll[chromedp.Void](`window.passantFootfall !== undefined`))
	check("today", 1)
	webtest.Screenshot(t, c, "footfall-compare-today")

	step("compare with nothing", chromedp.Evaluate[chromedp.Void](`delete window.passantFootfall; const s = document.querySelector('#ff-compare'); s.value = 'none'; s.dispatchEvent(new Event('change'))`),
		chromedp.Poll[chromedp.Void](`window.passantFootfall !== undefined`))
	if n, _ := webtest.Eval[int](c, `document.querySelectorAll('.kpi .delta').length + (window.passantFootfall.plotted[0].length === 4 ? 0 : 100)`); n != 0 {
		t.Errorf("with nothing to compare with: %d changes shown (100+: a comparison series)", n)
	}

	step("the chain", chromedp.Evaluate[chromedp.Void](`localStorage.removeItem('passant.compare')`),
		chromedp.Navigate(base+"/#/chain"), chromedp.WaitVisible(chromedp.CSS(`main[data-chain="ready"]`)))
	cell, _ := webtest.Eval[string](c, `document.querySelector('#chain-table tr[data-site] td.vs-prev').textContent`)
	total, _ := webtest.Eval[string](c, `document.querySelector('#chain-visitors-change').textContent`)
	if cell != "▲ +50 % vs 4" || total != "▲ +50 % vs 4" {
		t.Errorf("chain: the site's change %q, the chain's %q; want ▲ +50 %% vs 4", cell, total)
	}
}
