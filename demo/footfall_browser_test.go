package demo

// The footfall view in the browser against the real server (see browser_test.go).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

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
	// The shared demo has a history (the evenings of the days before
	// today): the week shows those days with people, and regulars.
	past := 0
	for _, d := range week.Days[:len(week.Days)-1] {
		if d.Passersby > 0 && d.Visitors > 0 {
			past++
		}
	}
	if past < 2 || week.Totals.Returning == 0 {
		t.Errorf("the last 7 days show %d past days with passers-by and visitors, %d returning visitors", past, week.Totals.Returning)
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
	// (The fifth hourly series, and the fourth daily one, are the same days
	// a week before, the page's default comparison: server/compare_browser_test.go.)
	if len(hourly) != 5 || len(rates) < 2 || len(hourly[0]) != len(api.Hours) || len(rates[1]) != len(api.Hours) || len(hourly[4]) != len(api.Hours) {
		t.Fatalf("%s: charts have %d/%d series of %d points, API %d hours", button, len(hourly), len(rates), len(hourly[0]), len(api.Hours))
	}
	busy := 0
	now := time.Now().UnixMilli()
	for i, h := range api.Hours {
		if val(hourly[0][i]) != float64(h.Start/1000) {
			t.Fatalf("%s: hour %d charted at %v, API %d", button, i, val(hourly[0][i]), h.Start/1000)
		}
		// The hours of today that have not begun are left empty, not 0.
		if h.Start > now+60_000 {
			if hourly[1][i] != nil || hourly[2][i] != nil || hourly[3][i] != nil {
				t.Fatalf("%s: hour %d has not begun, charted %v/%v/%v", button, i, val(hourly[1][i]), val(hourly[2][i]), val(hourly[3][i]))
			}
			continue
		}
		if h.Start > now-60_000 {
			continue // begun or not, by the page's clock
		}
		if val(hourly[1][i]) != float64(h.Passersby) || val(hourly[2][i]) != float64(h.Visitors) {
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
		if len(daily) != 4 || len(daily[0]) != len(api.Days) {
			t.Fatalf("%s: the daily chart has %d series of %d points, API %d days", button, len(daily), len(daily[0]), len(api.Days))
		}
		for i, d := range api.Days {
			// Each day's bar stands at its noon (the day's start + 12 h).
			if val(daily[0][i]) != float64(d.Start/1000+43200) || val(daily[1][i]) != float64(d.Visitors) || !sameRate(daily[2][i], d.CaptureRate) {
				t.Fatalf("%s: day %s charted %v/%v/%v, API %d (+12 h)/%d/%v", button, d.Date, val(daily[0][i]), val(daily[1][i]), daily[2][i], d.Start/1000, d.Visitors, d.CaptureRate)
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
