package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// comparedAt asks the test server, its clock at now, for the report of
// from..to (query values) compared by mode.
func comparedAt(t *testing.T, now time.Time, from, to, mode string) Comparison {
	t.Helper()
	srv := newTestServer(t, newDemoBackend(), Config{Now: func() time.Time { return now }})
	res, body := do(t, "GET", fmt.Sprintf("%s/api/sites/demo/report?from=%s&to=%s&compare=%s", srv.URL, from, to, mode), "", nil)
	if res.StatusCode != 200 {
		t.Fatalf("report: %d %s", res.StatusCode, body)
	}
	var rep struct {
		Hours   []struct{ Start int64 } `json:"hours"`
		Compare *Comparison             `json:"compare"`
	}
	if err := json.Unmarshal(body, &rep); err != nil || rep.Compare == nil {
		t.Fatalf("report: %v, no compare in %.200s", err, body)
	}
	if len(rep.Compare.Hours) != len(rep.Hours) {
		t.Fatalf("%d comparison hours for %d hours", len(rep.Compare.Hours), len(rep.Hours))
	}
	return *rep.Compare
}

// TestCompareWeekAcrossDST: Wednesday 1 April 2026 in Berlin (summer time
// since Sunday) against Wednesday 25 March (winter time): each hour is
// compared with the same local hour, which is 167 hours before, not 168.
func TestCompareWeekAcrossDST(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(y int, m time.Month, d, h, min int) int64 {
		return time.Date(y, m, d, h, min, 0, 0, berlin).UnixMilli()
	}
	c := comparedAt(t, time.Date(2026, 12, 1, 12, 0, 0, 0, berlin), "2026-04-01", "2026-04-01", CompareWeek)
	if c.From != at(2026, 3, 25, 0, 0) || c.To != at(2026, 3, 26, 0, 0) || c.Cut {
		t.Fatalf("compared with %v..%v (cut %v), want 25 March", time.UnixMilli(c.From).In(berlin), time.UnixMilli(c.To).In(berlin), c.Cut)
	}
	if len(c.Hours) != 24 || c.Hours[10] == nil || c.Hours[10].Start != at(2026, 3, 25, 10, 0) {
		t.Fatalf("10:00 compared with %+v, want 25 March 10:00 CET", c.Hours[10])
	}
	// The synthetic backend's hour i of a range has i visitors (and no
	// days): the comparison's totals are its whole day's, hour 10's 10.
	if c.Totals.Visitors != 276 || c.Hours[10].Visitors != 10 {
		t.Fatalf("totals %d visitors, hour 10 %d", c.Totals.Visitors, c.Hours[10].Visitors)
	}

	// The day the clocks go forward (23 hours) against a day of 24: every
	// hour has its counterpart, 03:00 against 03:00 (02:00 of the Sunday
	// before has none).
	c = comparedAt(t, time.Date(2026, 12, 1, 12, 0, 0, 0, berlin), "2026-03-29", "2026-03-29", CompareWeek)
	if len(c.Hours) != 23 || c.Hours[2] == nil || c.Hours[2].Start != at(2026, 3, 22, 3, 0) || c.Hours[22].Start != at(2026, 3, 22, 23, 0) {
		t.Fatalf("29 March (23 hours): hour 2 against %+v, want 22 March 03:00", c.Hours[2])
	}
	// The day they go back (25 hours): both 02:00 against the one 02:00.
	c = comparedAt(t, time.Date(2026, 12, 1, 12, 0, 0, 0, berlin), "2026-10-25", "2026-10-25", CompareWeek)
	if len(c.Hours) != 25 || c.Hours[2].Start != at(2026, 10, 18, 2, 0) || c.Hours[3].Start != at(2026, 10, 18, 2, 0) || c.Hours[4].Start != at(2026, 10, 18, 3, 0) {
		t.Fatalf("25 October (25 hours): hours 2, 3, 4 against %v, %v, %v", c.Hours[2].Start, c.Hours[3].Start, c.Hours[4].Start)
	}
}

// TestCompareTodaySoFar: at 10:37 on Wednesday 1 April the last 7 days
// (to today) are compared with the 7 days a week before, the last of them
// only up to 10:37 (its local time, in winter time).
func TestCompareTodaySoFar(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 4, 1, 10, 37, 0, 0, berlin)
	c := comparedAt(t, now, "2026-03-26", "2026-04-01", CompareWeek)
	if want := time.Date(2026, 3, 25, 10, 37, 0, 0, berlin).UnixMilli(); c.To != want || !c.Cut ||
		c.From != time.Date(2026, 3, 19, 0, 0, 0, 0, berlin).UnixMilli() {
		t.Fatalf("compared with %v..%v (cut %v), want 19 March to 25 March 10:37 CET", time.UnixMilli(c.From).In(berlin), time.UnixMilli(c.To).In(berlin), c.Cut)
	}
	// Today's hours to 10:00 have their counterparts, the later ones none.
	n := len(c.Hours)
	if c.Hours[n-24+10] == nil || c.Hours[n-24+10].Start != time.Date(2026, 3, 25, 10, 0, 0, 0, berlin).UnixMilli() || c.Hours[n-24+11] != nil {
		t.Fatalf("today's 10:00 and 11:00 against %+v, %+v", c.Hours[n-24+10], c.Hours[n-24+11])
	}
	// Today alone, and the previous period of it (yesterday up to 10:37).
	c = comparedAt(t, now, "2026-04-01", "2026-04-01", ComparePrev)
	if c.From != time.Date(2026, 3, 31, 0, 0, 0, 0, berlin).UnixMilli() || c.To != time.Date(2026, 3, 31, 10, 37, 0, 0, berlin).UnixMilli() {
		t.Fatalf("today against the previous period %v..%v", time.UnixMilli(c.From).In(berlin), time.UnixMilli(c.To).In(berlin))
	}
	// 11 hours begun (00:00 to 10:00, the last in part): 0+1+...+10.
	if c.Totals.Visitors != 55 || c.Hours[10] == nil || c.Hours[11] != nil {
		t.Fatalf("yesterday to 10:37: %d visitors, hours 10/11 %+v/%+v", c.Totals.Visitors, c.Hours[10], c.Hours[11])
	}
	// A range that has not begun is compared with nothing yet.
	c = comparedAt(t, now, "2026-04-02", "2026-04-02", CompareWeek)
	if c.To != c.From || c.Totals.Visitors != 0 || c.Hours[0] != nil {
		t.Fatalf("tomorrow compared with %d..%d, %d visitors", c.From, c.To, c.Totals.Visitors)
	}
	// 52 weeks back: a Saturday against a Saturday.
	c = comparedAt(t, now, "2026-12-05", "2026-12-05", CompareYear)
	if d := time.UnixMilli(c.From).In(berlin); d.Format(time.DateOnly) != "2025-12-06" || d.Weekday() != time.Saturday {
		t.Fatalf("last year's counterpart of Sat 5 Dec 2026: %v", d)
	}
}

func TestCompareShiftPrev(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// A week of local days is shifted by 7 calendar days across the change
	// of clocks (7 × 24 − 1 hours), a part of a day by its length.
	from, to := time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(2026, 4, 5, 0, 0, 0, 0, berlin)
	shift, ok := compareShift(ComparePrev, from.UnixMilli(), to.UnixMilli(), berlin)
	if !ok || !shift(from).Equal(time.Date(2026, 3, 22, 0, 0, 0, 0, berlin)) || !shift(to).Equal(from) {
		t.Fatalf("previous week of 29 March: %v..%v", shift(from), shift(to))
	}
	a, b := time.Date(2026, 4, 1, 10, 0, 0, 0, berlin), time.Date(2026, 4, 1, 12, 30, 0, 0, berlin)
	shift, _ = compareShift(ComparePrev, a.UnixMilli(), b.UnixMilli(), berlin)
	if !shift(a).Equal(a.Add(-150 * time.Minute)) {
		t.Fatalf("previous period of 10:00-12:30: from %v", shift(a))
	}
	if _, ok := compareShift("month", 0, 1, berlin); ok {
		t.Fatal("an unknown mode accepted")
	}
	srv := newTestServer(t, newDemoBackend(), Config{})
	if res, _ := do(t, "GET", srv.URL+"/api/sites/demo/report?compare=month", "", nil); res.StatusCode != 400 {
		t.Fatalf("compare=month: %d, want 400", res.StatusCode)
	}
	// Without ?compare the report is as before: no compare object.
	_, body := do(t, "GET", srv.URL+"/api/sites/demo/report", "", nil)
	if bytes.Contains(body, []byte(`"compare"`)) {
		t.Fatalf("a report without ?compare has one: %.200s", body)
	}
}

// TestChainComparesWithAWeekBefore: the chain's visitors_prev is the same
// weekday a week before, up to now's local time of day for today, in the
// JSON and the CSV.
func TestChainComparesWithAWeekBefore(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 12, 5, 10, 37, 0, 0, berlin)
	srv := newTestServer(t, newDemoBackend(), Config{Now: func() time.Time { return now }})
	for _, tc := range []struct {
		date, prev string
		to         time.Time
		visitors   int
	}{
		{"", "2026-11-28", time.Date(2026, 11, 28, 10, 37, 0, 0, berlin), 55},          // today so far: hours 0..10
		{"2026-12-01", "2026-11-24", time.Date(2026, 11, 25, 0, 0, 0, 0, berlin), 276}, // a whole day
	} {
		var out []SiteSummary
		_, body := do(t, "GET", srv.URL+"/api/chain?date="+tc.date, "", nil)
		if err := json.Unmarshal(body, &out); err != nil || len(out) != 1 {
			t.Fatalf("chain: %v %s", err, body)
		}
		s := out[0]
		if s.VisitorsPrev == nil || *s.VisitorsPrev != tc.visitors || s.PrevDate != tc.prev || s.PrevTo != tc.to.UnixMilli() {
			t.Errorf("date %q: visitors_prev %v on %s to %v, want %d on %s to %v", tc.date, s.VisitorsPrev, s.PrevDate,
				time.UnixMilli(s.PrevTo).In(berlin), tc.visitors, tc.prev, tc.to)
		}
	}
	_, body := do(t, "GET", srv.URL+"/api/chain.csv?date=2026-12-01", "", nil)
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 2 || recs[0][13] != "visitors_prev" || recs[1][13] != "276" || recs[1][14] != "2026-11-24" {
		t.Fatalf("chain csv: %v %v", err, recs)
	}
}
