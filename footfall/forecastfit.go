package footfall

import (
	"math"
	"slices"
	"time"
)

// The forecast's model (Predict): a day level, a weekday factor and a
// weekday's hour profile, shrunk toward the pooled ones.
const (
	// ForecastShrink is k, the pseudo-days by which a weekday's factor and
	// profile lean toward the pooled ones: with n days of the weekday
	// its own data weigh n/(n+k).
	ForecastShrink = 2.0
	// ForecastOddDay: an open day whose level is under this share of the
	// median day's is left out (sensors offline, a holiday).
	ForecastOddDay = 0.4
	// ForecastDispersion is φ when the history is too short (under 3
	// days) to estimate it: about ±35% at the 10th and 90th percentiles
	// beyond the counting noise.
	ForecastDispersion = 0.08
)

// model is one count's fitted model.
type model struct {
	days    int   // days used
	first   int32 // the first day used (civil day number), -1 none
	level   float64
	factor  [7]float64
	prof    [7][24]float64
	phi     float64
	leftOut []int32
}

// mu returns the expected count at weekday wd, clock hour c.
func (m *model) mu(wd time.Weekday, c int) float64 {
	return m.level * m.factor[wd] * m.prof[wd][c]
}

// expect returns the expected count and its 10–90% range.
func (m *model) expect(wd time.Weekday, c int) Expect {
	mu := m.mu(wd, c)
	return Expect{Expected: round(mu, 1), Low: nbQuantile(mu, m.phi, 0.1), High: nbQuantile(mu, m.phi, 0.9)}
}

// fit fits count s (0 visitors, 1 passers-by) of the days: once on all the
// days with an open known hour, then again without the odd days, and the
// dispersion from leave-one-day-out residuals.
func fit(days []pastDay, s int) (m model) {
	var use []pastDay
	var dark []int32 // open days without an open hour known
	for _, d := range days {
		if openKnown(d) > 0 {
			use = append(use, d)
		} else if slices.Contains(d.open, true) {
			dark = append(dark, d.num)
		}
	}
	m, r := fitOnce(use, s)
	defer func() { m.leftOut = append(dark, m.leftOut...) }()
	if len(use) >= 2 && m.level > 0 {
		var keep []pastDay
		for i, d := range use {
			if r[i] < ForecastOddDay*m.level {
				m.leftOut = append(m.leftOut, d.num)
			} else {
				keep = append(keep, d)
			}
		}
		if len(m.leftOut) > 0 {
			left := m.leftOut
			m, _ = fitOnce(keep, s)
			m.leftOut = left
			use = keep
		}
	}
	m.phi = ForecastDispersion
	if len(use) >= 3 {
		m.phi = looDispersion(use, s)
	}
	m.first = -1
	if len(use) > 0 {
		m.first = use[0].num
	}
	return m
}

// openKnown returns how many of the day's hours are open and known.
func openKnown(d pastDay) int {
	n := 0
	for i := range d.clock {
		if d.open[i] && d.known[i] {
			n++
		}
	}
	return n
}

// fitOnce fits the model to the days and returns it with each day's level
// r(d) (see Predict).
func fitOnce(days []pastDay, s int) (model, []float64) {
	m := model{days: len(days)}
	var p [24]float64
	var has [24]bool
	for c := range p {
		p[c] = 1
	}
	r := make([]float64, len(days))
	for range 8 {
		for i, d := range days {
			t, sp := 0.0, 0.0
			for j, c := range d.clock {
				if d.open[j] && d.known[j] {
					t += d.y[s][j]
					sp += p[c]
				}
			}
			if sp > 0 {
				r[i] = t / sp
			}
		}
		var num, den [24]float64
		for i, d := range days {
			for j, c := range d.clock {
				if d.open[j] && d.known[j] {
					num[c] += d.y[s][j]
					den[c] += r[i]
				}
			}
		}
		sum, n := 0.0, 0
		for c := range p {
			if den[c] > 0 {
				p[c], has[c] = num[c]/den[c], true
				sum += p[c]
				n++
			}
		}
		if n == 0 {
			return m, r
		}
		// Hours never open in the history take the mean hour; the scale
		// is fixed so that the mean hour is 1.
		for c := range p {
			if !has[c] {
				p[c] = sum / float64(n)
			}
			p[c] /= sum / float64(n)
		}
	}
	var levels []float64
	byDay := [7][]float64{}
	for i, d := range days {
		if openKnown(d) > 0 {
			levels = append(levels, r[i])
		}
	}
	if len(levels) == 0 {
		return m, r
	}
	m.level = med(levels)
	if m.level <= 0 {
		m.level = 0
		return m, r
	}
	for i, d := range days {
		if openKnown(d) > 0 {
			byDay[d.wd] = append(byDay[d.wd], math.Log(max(r[i], 1e-3*m.level)/m.level))
		}
	}
	for w := range m.factor {
		m.factor[w] = 1
		if n := float64(len(byDay[w])); n > 0 {
			m.factor[w] = math.Exp(n / (n + ForecastShrink) * med(byDay[w]))
		}
	}
	var num, cnt [7][24]float64
	for i, d := range days {
		if r[i] <= 0 {
			continue
		}
		for j, c := range d.clock {
			if d.open[j] && d.known[j] {
				num[d.wd][c] += d.y[s][j] / r[i]
				cnt[d.wd][c]++
			}
		}
	}
	for w := range m.prof {
		for c := range m.prof[w] {
			m.prof[w][c] = (num[w][c] + ForecastShrink*p[c]) / (cnt[w][c] + ForecastShrink)
		}
	}
	return m, r
}

// looDispersion returns φ, the negative binomial's extra variance, by the
// moments of leave-one-day-out residuals: each day predicted by the model
// of the other days, φ = max(0, (Σ(y-μ)² − Σμ) / Σμ²) over its open known
// hours.
func looDispersion(days []pastDay, s int) float64 {
	var e2, sm, sm2 float64
	rest := make([]pastDay, 0, len(days)-1)
	for i, d := range days {
		rest = append(rest[:0], days[:i]...)
		rest = append(rest, days[i+1:]...)
		m, _ := fitOnce(rest, s)
		for j, c := range d.clock {
			if d.open[j] && d.known[j] {
				mu := m.mu(d.wd, c)
				e2 += (d.y[s][j] - mu) * (d.y[s][j] - mu)
				sm += mu
				sm2 += mu * mu
			}
		}
	}
	if sm2 == 0 {
		return ForecastDispersion
	}
	return max(0, (e2-sm)/sm2)
}

// med returns the median of v (the mean of the two middle values when
// their number is even); it reorders v.
func med(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + m) / 2
	}
	return m
}
