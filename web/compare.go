package web

// Comparison with an earlier period: a report's range against the same
// days a week (or 52 weeks) earlier, or the period just before it, with
// today compared only up to the same local time of day.

import (
	"context"
	"fmt"
	"time"

	"github.com/passant/passant/wire"
)

// Comparison modes (?compare=).
const (
	CompareNone = "none"
	ComparePrev = "prev" // the period of the same length just before
	CompareWeek = "week" // the same days one week earlier
	CompareYear = "year" // the same weekdays 52 weeks (364 days) earlier
)

// Comparison is a report's comparison period (extension: the report's
// "compare" object with ?compare=prev|week|year). Hours[i] and Days[i] are
// the counterparts of the report's hours[i] and days[i] (the same local
// time of day on the shifted day; null when the comparison has none, as
// for an hour that a change of clocks skipped); Totals are the whole
// comparison period's, cut like To.
type Comparison struct {
	Mode string `json:"mode"`
	From int64  `json:"from"`
	// To is the end of the comparison period: the end of the shifted range,
	// or, when the report's range holds now, the same local time of day as
	// now on the shifted day (Cut true), so that "today so far" is compared
	// with as much of the other day.
	To     int64          `json:"to"`
	Cut    bool           `json:"cut"`
	Totals wire.Totals    `json:"totals"`
	Hours  []*CompareHour `json:"hours"`
	Days   []*CompareDay  `json:"days"`
}

// CompareHour is the comparison period's counterpart of one hour.
type CompareHour struct {
	Start       int64    `json:"start"`
	Passersby   int      `json:"passersby"`
	Visitors    int      `json:"visitors"`
	CaptureRate *float64 `json:"capture_rate"`
}

// CompareDay is the comparison period's counterpart of one day.
type CompareDay struct {
	Date        string   `json:"date"`
	Start       int64    `json:"start"`
	Passersby   int      `json:"passersby"`
	Visitors    int      `json:"visitors"`
	CaptureRate *float64 `json:"capture_rate"`
}

// comparedReport is the report's JSON with its comparison.
type comparedReport struct {
	*wire.Report
	Compare *Comparison `json:"compare,omitempty"`
}

// compareShift returns the function that maps an instant of [from, to) to
// its counterpart in the comparison period of mode, by the local wall clock
// of loc: a week earlier is the same local time 7 calendar days before
// (not 168 hours: across a change of clocks the hours differ). "prev"
// shifts a range of whole local days by its number of days, any other
// range by its length. ok is false for an unknown mode.
func compareShift(mode string, from, to int64, loc *time.Location) (shift func(time.Time) time.Time, ok bool) {
	days := func(n int) func(time.Time) time.Time {
		return func(t time.Time) time.Time {
			t = t.In(loc)
			y, m, d := t.Date()
			return time.Date(y, m, d-n, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
		}
	}
	switch mode {
	case CompareWeek:
		return days(7), true
	case CompareYear:
		return days(364), true
	case ComparePrev:
		if n, whole := wholeDays(from, to, loc); whole {
			return days(n), true
		}
		d := time.Duration(to-from) * time.Millisecond
		return func(t time.Time) time.Time { return t.Add(-d) }, true
	}
	return nil, false
}

// wholeDays returns the number of local days of [from, to) when both are
// local midnights.
func wholeDays(from, to int64, loc *time.Location) (int, bool) {
	a, b := time.UnixMilli(from).In(loc), time.UnixMilli(to).In(loc)
	midnight := func(t time.Time) bool {
		return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
	}
	if !midnight(a) || !midnight(b) {
		return 0, false
	}
	ya, ma, da := a.Date()
	yb, mb, db := b.Date()
	n := int(time.Date(yb, mb, db, 12, 0, 0, 0, time.UTC).Sub(time.Date(ya, ma, da, 12, 0, 0, 0, time.UTC)).Hours()+0.5) / 24
	return n, n > 0
}

// compareRange returns the comparison period of [from, to) at now: the
// shifted range, cut at now's counterpart when the range holds now.
func compareRange(shift func(time.Time) time.Time, from, to, now int64) (cfrom, cto int64, cut bool) {
	cfrom, cto = shift(time.UnixMilli(from)).UnixMilli(), shift(time.UnixMilli(to)).UnixMilli()
	if from <= now && now < to {
		cto, cut = min(cto, shift(time.UnixMilli(now)).UnixMilli()), true
	} else if now < from {
		cto, cut = cfrom, true // nothing of the range has happened yet
	}
	return cfrom, cto, cut
}

// compare builds rep's comparison period of mode ("" or "none": nil).
func (s *Server) compare(ctx context.Context, site *wire.Site, rep *wire.Report, mode string) (*Comparison, error) {
	if mode == "" || mode == CompareNone {
		return nil, nil
	}
	loc := site.Location()
	shift, ok := compareShift(mode, rep.From, rep.To, loc)
	if !ok {
		return nil, fmt.Errorf("%w: compare: want none, prev, week or year", ErrInvalid)
	}
	cfrom, cto, cut := compareRange(shift, rep.From, rep.To, s.cfg.Now().UnixMilli())
	c := &Comparison{Mode: mode, From: cfrom, To: cto, Cut: cut,
		Hours: make([]*CompareHour, len(rep.Hours)), Days: make([]*CompareDay, len(rep.Days))}
	if cto <= cfrom {
		return c, nil
	}
	old, err := s.backend.Report(ctx, site.Site, cfrom, cto)
	if err != nil {
		return nil, fmt.Errorf("compare: report %d..%d: %w", cfrom, cto, err)
	}
	c.Totals = old.Totals
	hours := make(map[int64]*wire.Hour, len(old.Hours))
	for i := range old.Hours {
		hours[old.Hours[i].Start] = &old.Hours[i]
	}
	for i, h := range rep.Hours {
		if o := hours[shift(time.UnixMilli(h.Start)).UnixMilli()]; o != nil {
			c.Hours[i] = &CompareHour{Start: o.Start, Passersby: o.Passersby, Visitors: o.Visitors, CaptureRate: o.CaptureRate}
		}
	}
	days := make(map[string]*wire.Day, len(old.Days))
	for i := range old.Days {
		days[old.Days[i].Date] = &old.Days[i]
	}
	for i, d := range rep.Days {
		date := shift(time.UnixMilli(d.Start)).In(loc).Format(time.DateOnly)
		if o := days[date]; o != nil {
			c.Days[i] = &CompareDay{Date: o.Date, Start: o.Start, Passersby: o.Passersby, Visitors: o.Visitors, CaptureRate: o.CaptureRate}
		}
	}
	return c, nil
}

// prevVisitors returns a site's visitors of the same local day a week
// before day (a local midnight), up to now's local time of day when day is
// today, and the end of the span counted.
func (s *Server) prevVisitors(ctx context.Context, site *wire.Site, day time.Time) (visitors int, to int64, err error) {
	shift, _ := compareShift(CompareWeek, 0, 0, site.Location())
	from, to, _ := compareRange(shift, day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli(), s.cfg.Now().UnixMilli())
	if to <= from {
		return 0, to, nil
	}
	var rep *wire.Report
	if c, ok := s.backend.(Counter); ok {
		rep, err = c.Counts(ctx, site.Site, from, to)
	} else {
		rep, err = s.backend.Report(ctx, site.Site, from, to)
	}
	if err != nil {
		return 0, to, err
	}
	return rep.Totals.Visitors, to, nil
}

// Counter is a Backend that can count a period's people more cheaply than
// its full Report: the chain's comparison needs only the counts.
type Counter interface {
	// Counts returns the report of [from, to) without what needs the days
	// before it (new and returning visitors are not counted); the
	// passers-by, visitors and staff are Report's.
	Counts(ctx context.Context, site string, from, to int64) (*wire.Report, error)
}
