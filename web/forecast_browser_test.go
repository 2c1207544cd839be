package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/footfall"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

// TestBrowserForecast: the footfall page's "The week ahead" card shows what
// GET /forecast says: a chart of the expected visitors with its range, the
// busiest expected hours in order with their figures, each day's expected
// visitors (Sunday closed), the history it stands on and last week's
// check; a shop without history says so instead.
func TestBrowserForecast(t *testing.T) {
	b, srv, today := weekdayServer(t)
	loc := today.Location()
	ctx := webtest.Browser(t)
	c := within(t, ctx, 30*time.Second)
	step := webtest.Steps(t, ctx, c)

	_, body := do(t, "GET", srv.URL+"/api/sites/demo/forecast", "", nil)
	var fc footfall.Forecast
	if err := json.Unmarshal(body, &fc); err != nil || fc.Basis.Backtest == nil {
		t.Fatalf("forecast: %v %s", err, body)
	}
	step("open footfall", chromedp.Navigate(srv.URL+"/#/footfall/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-forecast="ready"] #fc-chart canvas`)))

	// The busiest hours: the API's top five open hours, in order.
	var open []footfall.ForecastHour
	for _, h := range fc.Hours {
		if h.Open {
			open = append(open, h)
		}
	}
	sort.SliceStable(open, func(i, j int) bool { return open[i].Visitors.Expected > open[j].Visitors.Expected })
	starts, _ := webtest.Eval[[]int64](c, `[...document.querySelectorAll('#fc-busiest li')].map(li => Number(li.dataset.start))`)
	texts, _ := webtest.Eval[[]string](c, `[...document.querySelectorAll('#fc-busiest li')].map(li => li.textContent)`)
	if len(starts) != 5 {
		t.Fatalf("%d busiest hours listed", len(starts))
	}
	for i, s := range starts {
		h := open[i]
		lt := time.UnixMilli(h.Start).In(loc)
		want := fmt.Sprintf("%s, %s–%s: about %d visitors (likely %d–%d)", lt.Format("Mon 2 Jan"), lt.Format("15:04"), lt.Add(time.Hour).Format("15:04"),
			int(math.Round(h.Visitors.Expected)), int(h.Visitors.Low), int(h.Visitors.High))
		if s != h.Start || strings.TrimSpace(texts[i]) != want {
			t.Errorf("busiest %d: %q (%d), want %q (%d)", i+1, texts[i], s, want, h.Start)
		}
	}

	// Day by day: the sum of each day's expected hours; Sunday closed.
	rows, _ := webtest.Eval[[][]string](c, `[...document.querySelectorAll('#fc-days tr[data-date]')].map(tr => [tr.dataset.date, ...[...tr.cells].map(td => td.textContent)])`)
	if len(rows) != 7 {
		t.Fatalf("%d days in the table", len(rows))
	}
	sums := map[string]float64{}
	for _, h := range fc.Hours {
		sums[time.UnixMilli(h.Start).In(loc).Format(time.DateOnly)] += h.Visitors.Expected
	}
	for _, r := range rows {
		d, _ := time.ParseInLocation(time.DateOnly, r[0], loc)
		if d.Weekday() == time.Sunday {
			if r[2] != "closed" || r[3] != "–" {
				t.Errorf("Sunday %s: %q", r[0], r)
			}
			continue
		}
		if want := fmt.Sprintf("%d", int(math.Round(sums[r[0]]))); strings.ReplaceAll(r[3], ",", "") != want {
			t.Errorf("%s: %s expected visitors shown, the API's hours sum to %s", r[0], r[3], want)
		}
	}

	// The chart plots the API's expected visitors, nothing when closed.
	plotted, _ := webtest.Eval[[]*float64](c, `window.passantForecast.forecast.hours.map(h => h.open ? h.visitors.expected : null)`)
	if len(plotted) != len(fc.Hours) {
		t.Fatalf("%d hours plotted, %d in the forecast", len(plotted), len(fc.Hours))
	}
	basis, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#fc-basis`)))
	bt := fc.Basis.Backtest.Visitors
	if fc.From != today.UnixMilli() || fc.Basis.Weeks != 3 || fc.Basis.Days != 18 {
		t.Errorf("from %d (today %d), basis: %v weeks, %d open days; want 3 and 18", fc.From, today.UnixMilli(), fc.Basis.Weeks, fc.Basis.Days)
	}
	for _, want := range []string{fmt.Sprintf("Based on the last %v weeks of counts (18 open days)", fc.Basis.Weeks), fmt.Sprintf("off by %.1f visitors an hour", bt.MAEHour),
		fmt.Sprintf("%d%% of its hours fell in the likely range", int(math.Round(100*bt.Coverage))), "cannot know holidays"} {
		if !strings.Contains(basis, want) {
			t.Errorf("the basis reads %q, without %q", basis, want)
		}
	}
	webtest.Screenshot(t, c, "week-ahead")

	// A new shop: no history, no chart, a word on when it comes.
	b.mu.Lock()
	b.hours = map[string][]wire.Hour{}
	b.mu.Unlock()
	step("open a new shop's footfall", chromedp.Navigate("about:blank"), chromedp.Navigate(srv.URL+"/#/footfall/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-forecast="empty"] #fc-empty`)))
	if n, _ := webtest.Eval[int](c, `document.querySelectorAll('#fc-card canvas').length`); n != 0 {
		t.Errorf("%d charts for a shop without history", n)
	}
}

// weekdayServer serves the demo site with three weeks of its hours and a
// clock on a Wednesday, 25 November 2026, 11:00 local, and returns that
// day's midnight. The forecast's history and its week ahead are then the
// same whatever day the test runs (with the wall clock, a Sunday's three
// weeks began on a closed Sunday and read 2.9 weeks, and a midnight between
// the test's request and the page's changed the week).
func weekdayServer(t *testing.T) (*memBackend, *httptest.Server, time.Time) {
	t.Helper()
	b := newDemoBackend()
	site, _, _ := b.Site(t.Context(), "demo")
	loc := site.Location()
	now := time.Date(2026, 11, 25, 11, 0, 0, 0, loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	seedHours(b, site, today.AddDate(0, 0, -21), 21, 3)
	return b, newTestServer(t, b, Config{Now: func() time.Time { return now }}), today
}
