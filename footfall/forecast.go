package footfall

// The week ahead: expected visitors and passers-by per local hour, for
// staff planning, from the site's stored hours (forecastfit.go holds the
// model, forecastrange.go its range and the backtest).

import (
	"math"
	"time"

	"github.com/passant/passant/wire"
)

// ForecastWeeks is how much history a forecast reads at most.
const ForecastWeeks = 8

// Expect is a forecast of one count: the expected value and a plausible
// range, the 10th and 90th percentiles.
type Expect struct {
	Expected float64 `json:"expected"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
}

// ForecastHour is one local clock hour of the week ahead.
type ForecastHour struct {
	Start     int64  `json:"start"` // Unix ms
	Open      bool   `json:"open"`  // from the site's opening hours; closed hours expect 0
	Visitors  Expect `json:"visitors"`
	Passersby Expect `json:"passersby"`
}

// ForecastBasis says what a forecast stands on.
type ForecastBasis struct {
	// Days is how many past days with data the forecast used (open days),
	// Weeks how far back the first of them lies; From and To span the
	// history read (Unix ms).
	Days  int     `json:"days"`
	Weeks float64 `json:"weeks"`
	From  int64   `json:"from"`
	To    int64   `json:"to"`
	// Left out lists the local dates (YYYY-MM-DD) read but not used as
	// typical: open days that counted far fewer than the others (sensors
	// offline, a holiday).
	LeftOut []string `json:"left_out"`
	// Dispersion is the negative binomial's φ of the visitors' range
	// (variance μ + φμ²) and DispersionPassersby the passers-by's.
	Dispersion          float64 `json:"dispersion"`
	DispersionPassersby float64 `json:"dispersion_passersby"`
	// Backtest is how the same method did on the week before From (the
	// caller's BacktestWeek; Predict leaves it nil), nil when not measured.
	Backtest *Backtest `json:"backtest"`
}

// Forecast is the expected traffic of the days ahead.
type Forecast struct {
	Site  string         `json:"site"`
	From  int64          `json:"from"` // local midnight, Unix ms
	To    int64          `json:"to"`
	Hours []ForecastHour `json:"hours"`
	Basis ForecastBasis  `json:"basis"`
}

// Predict forecasts the local days [from, from+days) of site (from is
// rounded down to its local midnight) from its past hours (wire.Hour, as
// the report and the store have them; only Start, Visitors and Passersby
// are read, and only hours of the ForecastWeeks before from).
//
// The model, for each count (visitors, passers-by) separately, is
// multiplicative: the count of local day d at local clock hour h is
//
//	y(d,h) ≈ L · f(w) · q(w,h),  w the weekday of d,
//
// fitted robustly on the past open hours:
//
//   - a rank-one fit y(d,h) ≈ r(d)·p(h) (alternating ratio estimates,
//     p(h) = Σ_d y(d,h) / Σ_d r(d), r(d) = Σ_h y(d,h) / Σ_h p(h) over the
//     day's open hours with data) gives each day a level r(d) and the
//     pooled profile p(h) over the hours of the day;
//   - L is the median of r(d), and the weekday factor
//     f(w) = exp(n/(n+k) · median_{d of w} log(r(d)/L)) shrinks toward 1
//     when the weekday has few days n (k = ForecastShrink pseudo-days);
//   - the weekday's profile q(w,h) = (Σ_{d of w} y(d,h)/r(d) + k·p(h)) /
//     (n(w,h) + k) shrinks toward the pooled profile the same way.
//
// Hours are aligned by local weekday and clock hour, so a day of 23 or 25
// hours (daylight saving time) takes the profile of its clock hours.
// Robustness: past hours that are missing, and open hours that counted no
// visitor and no passer-by where passers-by are usual (at least 3 at that
// hour on the median day), are unknown, not zero; an open day whose level
// r(d) is under ForecastOddDay of the median (sensors offline, a holiday)
// is left out and named in the basis. Medians keep one busy day from
// lifting the level.
//
// Closed hours (the site's opening hours: an hour is open when the shop
// is open at any of its quarter hours) expect 0. The range is the 10th to
// 90th percentile of a negative binomial with mean μ and variance μ + φμ²,
// φ the moment estimate from leave-one-day-out residuals of the history
// (ForecastDispersion when under 3 days). With no usable history every
// open hour expects 0 with range 0–0 and Basis.Days is 0.
//
// What it cannot know: holidays, promotions, events, weather and road
// works ahead, and trends within the weeks read (all weeks weigh the same).
func Predict(site *wire.Site, past []wire.Hour, from int64, days int) Forecast {
	loc := site.Location()
	start := localMidnight(from, loc)
	end := addDays(start, days, loc)
	hist := pastDays(site, past, addDays(start, -7*ForecastWeeks, loc), start)
	fc := Forecast{Site: site.Site, From: start.UnixMilli(), To: end.UnixMilli(), Hours: []ForecastHour{}}
	fc.Basis.From, fc.Basis.To = addDays(start, -7*ForecastWeeks, loc).UnixMilli(), start.UnixMilli()
	fc.Basis.LeftOut = []string{}
	var models [2]model
	for s := range models {
		models[s] = fit(hist, s)
	}
	fc.Basis.Days = models[0].days
	if models[0].first >= 0 {
		span := localDayNumber(start.UnixMilli(), loc) - models[0].first
		fc.Basis.Weeks = math.Round(float64(span)/7*10) / 10
	}
	fc.Basis.Dispersion, fc.Basis.DispersionPassersby = models[0].phi, models[1].phi
	seen := map[int32]bool{}
	for _, m := range models {
		for _, d := range m.leftOut {
			if !seen[d] {
				seen[d] = true
				fc.Basis.LeftOut = append(fc.Basis.LeftOut, dayString(d))
			}
		}
	}
	hours := site.Open.Compile()
	for _, h := range Hours(fc.From, fc.To, loc) {
		lt := time.UnixMilli(h).In(loc)
		fh := ForecastHour{Start: h, Open: openHour(hours, loc, h)}
		if fh.Open {
			fh.Visitors = models[0].expect(lt.Weekday(), lt.Hour())
			fh.Passersby = models[1].expect(lt.Weekday(), lt.Hour())
		}
		fc.Hours = append(fc.Hours, fh)
	}
	return fc
}

// openHour reports whether the shop is open at any quarter hour of the
// local hour that starts at h.
func openHour(hours wire.Hours, loc *time.Location, h int64) bool {
	for q := int64(0); q < 4; q++ {
		if hours.IsOpen(time.UnixMilli(h + q*15*60000).In(loc)) {
			return true
		}
	}
	return false
}

func localMidnight(t int64, loc *time.Location) time.Time {
	y, m, d := time.UnixMilli(t).In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func addDays(t time.Time, n int, loc *time.Location) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d+n, 0, 0, 0, 0, loc)
}

// pastDay is one local day of the history: each hour's clock hour, counts
// (visitors, passers-by), whether it is open and whether it is known.
type pastDay struct {
	num   int32
	wd    time.Weekday
	start []int64
	clock []int
	y     [2][]float64
	open  []bool
	known []bool
}

// pastDays gathers the local days [from, to) that have at least one hour
// in past; hours a day lacks are unknown. Open hours without anybody
// where passers-by are usual are unknown too (sensors offline).
func pastDays(site *wire.Site, past []wire.Hour, from, to time.Time) []pastDay {
	loc := site.Location()
	byStart := make(map[int64]wire.Hour, len(past))
	for _, h := range past {
		if h.Start >= from.UnixMilli() && h.Start < to.UnixMilli() {
			byStart[h.Start] = h
		}
	}
	var out []pastDay
	hours := site.Open.Compile()
	for day := from; day.Before(to); day = addDays(day, 1, loc) {
		next := addDays(day, 1, loc)
		hs := Hours(day.UnixMilli(), next.UnixMilli(), loc)
		d := pastDay{num: localDayNumber(day.UnixMilli(), loc), wd: day.Weekday()}
		any := false
		for _, h := range hs {
			wh, ok := byStart[h]
			any = any || ok
			d.start = append(d.start, h)
			d.clock = append(d.clock, time.UnixMilli(h).In(loc).Hour())
			d.y[0] = append(d.y[0], float64(wh.Visitors))
			d.y[1] = append(d.y[1], float64(wh.Passersby))
			d.open = append(d.open, openHour(hours, loc, h))
			d.known = append(d.known, ok)
		}
		if any {
			out = append(out, d)
		}
	}
	markDark(out)
	return out
}

// markDark marks as unknown the open hours that counted nobody at a clock
// hour whose median passers-by (over the days' open known hours) is at
// least 3: a street with passers-by does not fall silent; sensors do.
func markDark(days []pastDay) {
	var at [24][]float64
	for _, d := range days {
		for i, c := range d.clock {
			if d.open[i] && d.known[i] {
				at[c] = append(at[c], d.y[1][i])
			}
		}
	}
	var usual [24]bool
	for c := range at {
		usual[c] = len(at[c]) > 0 && med(at[c]) >= 3
	}
	for _, d := range days {
		for i, c := range d.clock {
			if d.open[i] && d.y[0][i] == 0 && d.y[1][i] == 0 && usual[c] {
				d.known[i] = false
			}
		}
	}
}
