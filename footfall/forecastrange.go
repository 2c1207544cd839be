package footfall

import (
	"math"
	"time"

	"github.com/passant/passant/wire"
)

// nbQuantile returns the q-quantile of a negative binomial count with mean
// mu and variance mu + phi·mu² (Poisson when phi is 0): exact by summing
// the probabilities P(0) = (ρ/(ρ+μ))^ρ, P(k+1) = P(k)·(k+ρ)/(k+1)·μ/(ρ+μ)
// with ρ = 1/φ, below a mean of 60; above, the normal approximation
// μ + z_q·√(μ+φμ²) rounded and floored at 0.
func nbQuantile(mu, phi, q float64) float64 {
	if !(mu > 0) {
		return 0
	}
	if mu >= 60 {
		z := math.Sqrt2 * math.Erfinv(2*q-1)
		return max(0, math.Round(mu+z*math.Sqrt(mu+phi*mu*mu)))
	}
	var p float64
	step := func(k float64) float64 { return mu / (k + 1) }
	if phi < 1e-9 {
		p = math.Exp(-mu)
	} else {
		rho := 1 / phi
		p = math.Exp(rho * math.Log(rho/(rho+mu)))
		step = func(k float64) float64 { return (k + rho) / (k + 1) * mu / (rho + mu) }
	}
	cdf := p
	k := 0.0
	for cdf < q && k < 1e5 {
		p *= step(k)
		k++
		cdf += p
	}
	return k
}

// Backtest measures the forecast on a week it did not see.
type Backtest struct {
	// From and To span the hidden week (Unix ms); Days is how many past
	// days with data the forecast of it used.
	From      int64         `json:"from"`
	To        int64         `json:"to"`
	Days      int           `json:"days"`
	Visitors  BacktestScore `json:"visitors"`
	Passersby BacktestScore `json:"passersby"`
}

// BacktestScore is one count's errors over the hidden week's open hours
// with data (hours whose sensors were offline are not scored), against
// two naive baselines: the same hour a week before, and the mean of the
// same weekday and hour over the weeks before (each scored on the hours it
// has a value for).
type BacktestScore struct {
	Hours    int     `json:"hours"`     // open hours scored
	MeanHour float64 `json:"mean_hour"` // the true mean per open hour
	MAEHour  float64 `json:"mae_hour"`  // mean absolute error per open hour
	MAEDay   float64 `json:"mae_day"`   // of the daily totals (open hours)
	// Coverage is the share of the hours whose true count lay within the
	// 10–90% range (0.8 is the aim).
	Coverage        float64  `json:"coverage"`
	LastWeekMAEHour *float64 `json:"last_week_mae_hour"` // nil: no hour with a value a week before
	LastWeekMAEDay  *float64 `json:"last_week_mae_day"`
	MeanMAEHour     *float64 `json:"mean_mae_hour"`
	MeanMAEDay      *float64 `json:"mean_mae_day"`
}

// BacktestWeek hides the 7 local days before end's local midnight,
// forecasts them with Predict from the ForecastWeeks before, and scores
// the forecast on what was counted; false when the hidden week has no
// open hour with data or nothing came before it.
func BacktestWeek(site *wire.Site, past []wire.Hour, end int64) (Backtest, bool) {
	loc := site.Location()
	to := localMidnight(end, loc)
	from := addDays(to, -7, loc)
	fc := Predict(site, past, from.UnixMilli(), 7)
	bt := Backtest{From: from.UnixMilli(), To: to.UnixMilli(), Days: fc.Basis.Days}
	if fc.Basis.Days == 0 {
		return bt, false
	}
	truth := pastDays(site, past, from, to)
	pred := map[int64]ForecastHour{}
	for _, h := range fc.Hours {
		pred[h.Start] = h
	}
	stored := map[int64]wire.Hour{}
	for _, h := range past {
		if h.Start < from.UnixMilli() {
			stored[h.Start] = h
		}
	}
	for s, sc := range []*BacktestScore{&bt.Visitors, &bt.Passersby} {
		var fcE, lwE, mnE errs
		in := 0
		for _, d := range truth {
			fcE.day()
			lwE.day()
			mnE.day()
			for j, h := range d.start {
				if !d.open[j] || !d.known[j] {
					continue
				}
				y := d.y[s][j]
				e := pred[h].Visitors
				if s == 1 {
					e = pred[h].Passersby
				}
				fcE.add(y, e.Expected)
				sc.MeanHour += y
				if y >= e.Low && y <= e.High {
					in++
				}
				if v, ok := weeksBefore(stored, h, loc, 1, s); ok {
					lwE.add(y, v)
				}
				if v, ok := weeksBefore(stored, h, loc, ForecastWeeks, s); ok {
					mnE.add(y, v)
				}
			}
		}
		sc.Hours = fcE.n
		if sc.Hours == 0 {
			return bt, false
		}
		sc.MeanHour = round(sc.MeanHour/float64(sc.Hours), 2)
		sc.MAEHour, sc.MAEDay = fcE.scores()
		sc.Coverage = round(float64(in)/float64(sc.Hours), 3)
		if lwE.n > 0 {
			h, d := lwE.scores()
			sc.LastWeekMAEHour, sc.LastWeekMAEDay = &h, &d
		}
		if mnE.n > 0 {
			h, d := mnE.scores()
			sc.MeanMAEHour, sc.MeanMAEDay = &h, &d
		}
	}
	return bt, true
}

// weeksBefore returns the mean count s of the stored hours at the same
// local clock time 1..weeks weeks before h; false when none is stored.
func weeksBefore(stored map[int64]wire.Hour, h int64, loc *time.Location, weeks, s int) (float64, bool) {
	t := time.UnixMilli(h).In(loc)
	sum, n := 0.0, 0
	for k := 1; k <= weeks; k++ {
		w, ok := stored[HourStart(t.AddDate(0, 0, -7*k).UnixMilli(), loc)]
		if !ok {
			continue
		}
		if s == 0 {
			sum += float64(w.Visitors)
		} else {
			sum += float64(w.Passersby)
		}
		n++
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// errs sums absolute errors per hour and per day.
type errs struct {
	n          int
	hour       float64
	days       []float64 // |Σ truth − Σ prediction| of each day, in progress
	truth, est float64
	any        bool
}

// day starts a new day.
func (e *errs) day() {
	e.close()
	e.truth, e.est, e.any = 0, 0, false
}

func (e *errs) close() {
	if e.any {
		e.days = append(e.days, math.Abs(e.truth-e.est))
	}
	e.any = false
}

func (e *errs) add(y, p float64) {
	e.n++
	e.hour += math.Abs(y - p)
	e.truth += y
	e.est += p
	e.any = true
}

// scores returns the mean absolute error per hour and per day.
func (e *errs) scores() (hour, day float64) {
	e.close()
	sum := 0.0
	for _, d := range e.days {
		sum += d
	}
	if len(e.days) > 0 {
		day = sum / float64(len(e.days))
	}
	return round(e.hour/float64(e.n), 2), round(day, 1)
}
