package footfall

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// fcSite is the simulated shops' site: Berlin, open Monday to Saturday
// 09:00–20:00 (the sim layouts' hours).
func fcSite() *wire.Site {
	return &wire.Site{Site: "fc", Timezone: "Europe/Berlin", Open: wire.OpenHours{"mon-sat": {"09:00", "20:00"}}}
}

// fcShop simulates a shop's stored hours: the demo's weekday × hour
// profile (demo/history.go: Sunday 0.6 … Saturday 1 of the busiest hour,
// a late-afternoon peak at 16:30), a day-to-day level of ±15% (weather,
// lognormal), Poisson counts at peak rates of visitors and passers-by,
// and the shop's hours; passers-by also pass while it is closed, a tenth
// as many.
type fcShop struct {
	seed                uint64
	visitors, passersby float64 // per hour at the busiest hour of a Saturday
	dayNoise            float64 // σ of the day's log level
	// what happens on one day: the date and its level (0 sensors offline
	// all day, 2 a promotion)
	odd map[string]float64
}

var fcWeek = [7]float64{0.6, 0.7, 0.75, 0.75, 0.8, 0.9, 1} // Sunday .. Saturday

// rate returns the profile at the middle of the local hour that starts at h.
func fcRate(h int64, loc *time.Location) float64 {
	t := time.UnixMilli(h + 30*60000).In(loc)
	x := float64(t.Hour()) + float64(t.Minute())/60
	return fcWeek[t.Weekday()] * (0.3 + 0.7*math.Exp(-math.Pow((x-16.5)/3, 2)))
}

// hours returns the stored hours of the local days [from, from+days).
func (s fcShop) hours(site *wire.Site, from time.Time, days int) []wire.Hour {
	loc := site.Location()
	rng := rand.New(rand.NewPCG(s.seed, 0x5eed))
	var out []wire.Hour
	for k := range days {
		day := addDays(from, k, loc)
		level := math.Exp(s.dayNoise*rng.NormFloat64() - s.dayNoise*s.dayNoise/2)
		if v, ok := s.odd[day.Format(time.DateOnly)]; ok {
			level *= v
		}
		for _, h := range Hours(day.UnixMilli(), addDays(day, 1, loc).UnixMilli(), loc) {
			r := fcRate(h, loc) * level
			open := openHour(site.Open.Compile(), loc, h)
			pb := s.passersby * r
			if !open {
				pb /= 10
			}
			wh := wire.Hour{Start: h, Open: open, Passersby: poisson(rng, pb)}
			if open {
				wh.Visitors = poisson(rng, s.visitors*r)
			}
			out = append(out, wh)
		}
	}
	return out
}

func poisson(rng *rand.Rand, l float64) int {
	if l <= 0 {
		return 0
	}
	if l > 40 {
		return max(0, int(math.Round(l+math.Sqrt(l)*rng.NormFloat64())))
	}
	k, p, lim := 0, rng.Float64(), math.Exp(-l)
	for p > lim {
		p *= rng.Float64()
		k++
	}
	return k
}

func fcBerlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	return loc
}

// A weekday × hour pattern with seeded noise is recovered from eight
// weeks: the expected visitors of each open hour lie within 15% of the
// true rate, 5% on average, Saturday's peak within 5%; closed hours and
// Sundays expect 0.
func TestForecastRecoversPattern(t *testing.T) {
	loc := fcBerlin(t)
	site := fcSite()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, loc) // a Monday; clocks go forward on 29 March
	shop := fcShop{seed: 1, visitors: 200, passersby: 600, dayNoise: 0.05}
	past := shop.hours(site, start, 56)
	fc := Predict(site, past, addDays(start, 56, loc).UnixMilli(), 7)
	if len(fc.Hours) != 7*24 || fc.Basis.Days != 48 || fc.Basis.Weeks != 8 {
		t.Fatalf("%d hours, basis %+v", len(fc.Hours), fc.Basis)
	}
	worst, sum, n := 0.0, 0.0, 0
	for _, h := range fc.Hours {
		lt := time.UnixMilli(h.Start).In(loc)
		if !h.Open {
			if h.Visitors != (Expect{}) || h.Passersby != (Expect{}) {
				t.Fatalf("%s closed, expects %+v %+v", lt, h.Visitors, h.Passersby)
			}
			if lt.Weekday() != time.Sunday && lt.Hour() >= 9 && lt.Hour() < 20 {
				t.Fatalf("%s should be open", lt)
			}
			continue
		}
		want := 200 * fcRate(h.Start, loc)
		rel := math.Abs(h.Visitors.Expected-want) / want
		worst, sum, n = max(worst, rel), sum+rel, n+1
		if rel > 0.15 {
			t.Errorf("%s: expected %.1f visitors, true rate %.1f", lt.Format("Mon 15:04"), h.Visitors.Expected, want)
		}
		if lt.Weekday() == time.Saturday && (lt.Hour() == 16 || lt.Hour() == 17) && rel > 0.05 {
			t.Errorf("Saturday's peak %s: expected %.1f, true %.1f", lt.Format("15:04"), h.Visitors.Expected, want)
		}
		if !(h.Visitors.Low <= h.Visitors.Expected && h.Visitors.Expected <= h.Visitors.High) {
			t.Errorf("%s: range %+v", lt, h.Visitors)
		}
	}
	if sum/float64(n) > 0.05 {
		t.Errorf("mean relative error %.3f of the open hours", sum/float64(n))
	}
	t.Logf("relative error of an open hour: mean %.3f, worst %.3f; φ %.3f, passers-by %.3f", sum/float64(n), worst, fc.Basis.Dispersion, fc.Basis.DispersionPassersby)
}

// A forecast across the spring-forward night has a 23-hour Sunday and its
// hours line up with the local clock; one across the fall-back night has a
// 25-hour Sunday. Monday's hours are the same clock hours either way.
func TestForecastDST(t *testing.T) {
	loc := fcBerlin(t)
	site := fcSite()
	for _, c := range []struct {
		from  time.Time
		hours int
	}{{time.Date(2026, 3, 23, 0, 0, 0, 0, loc), 7*24 - 1}, {time.Date(2026, 10, 19, 0, 0, 0, 0, loc), 7*24 + 1}} {
		past := fcShop{seed: 2, visitors: 30, passersby: 100, dayNoise: 0.1}.hours(site, addDays(c.from, -28, loc), 28)
		fc := Predict(site, past, c.from.Add(13*time.Hour).UnixMilli(), 7)
		if fc.From != c.from.UnixMilli() || len(fc.Hours) != c.hours {
			t.Fatalf("from %s: %d hours from %d, want %d from %d", c.from, len(fc.Hours), fc.From, c.hours, c.from.UnixMilli())
		}
		open := map[string]int{}
		for i, h := range fc.Hours {
			lt := time.UnixMilli(h.Start).In(loc)
			if i > 0 && h.Start-fc.Hours[i-1].Start != 3600_000 {
				t.Fatalf("hour %d not an hour after the one before", i)
			}
			if h.Open {
				open[lt.Weekday().String()]++
				if lt.Hour() < 9 || lt.Hour() >= 20 {
					t.Fatalf("%s open", lt)
				}
			}
		}
		for _, wd := range []string{"Monday", "Tuesday", "Saturday"} {
			if open[wd] != 11 {
				t.Fatalf("from %s: %s has %d open hours, want 11", c.from.Format(time.DateOnly), wd, open[wd])
			}
		}
		if open["Sunday"] != 0 {
			t.Fatalf("Sunday open")
		}
	}
}

// Closed days expect nothing, even when the history counted passers-by on
// them; a day with no hours open gets no range either.
func TestForecastClosedDaysZero(t *testing.T) {
	loc := fcBerlin(t)
	site := fcSite()
	site.Open = wire.OpenHours{"tue-fri": {"10:00", "18:30"}}
	from := time.Date(2026, 5, 4, 0, 0, 0, 0, loc) // Monday
	past := fcShop{seed: 3, visitors: 30, passersby: 100, dayNoise: 0.1}.hours(fcSite(), addDays(from, -21, loc), 21)
	fc := Predict(site, past, from.UnixMilli(), 7)
	for _, h := range fc.Hours {
		lt := time.UnixMilli(h.Start).In(loc)
		closedDay := lt.Weekday() == time.Monday || lt.Weekday() >= time.Saturday || lt.Weekday() == time.Sunday
		if closedDay && (h.Open || h.Visitors.High != 0 || h.Passersby.Expected != 0) {
			t.Fatalf("%s: closed day expects %+v", lt, h)
		}
		// 18:00–18:30 is open: the hour counts as open.
		if !closedDay && lt.Hour() == 18 && (!h.Open || h.Visitors.Expected <= 0) {
			t.Fatalf("%s: the half-open hour expects %+v", lt, h)
		}
	}
}

// A day with the sensors offline (stored zeros), or missing altogether,
// does not pull the forecast down: the same weekday's expected visitors
// are no more than 3% under the forecast without the outage (and at most
// 15% over it: half a day is less to go on), and the dark day is named.
func TestForecastOutageDoesNotPullDown(t *testing.T) {
	loc := fcBerlin(t)
	site := fcSite()
	start := time.Date(2026, 5, 4, 0, 0, 0, 0, loc) // Monday
	from := addDays(start, 21, loc)
	shop := fcShop{seed: 4, visitors: 30, passersby: 120, dayNoise: 0.1}
	clean := Predict(site, shop.hours(site, start, 21), from.UnixMilli(), 7)
	outage := "2026-05-20" // a Wednesday
	shop.odd = map[string]float64{outage: 0}
	dark := Predict(site, shop.hours(site, start, 21), from.UnixMilli(), 7)
	if len(dark.Basis.LeftOut) != 1 || dark.Basis.LeftOut[0] != outage {
		t.Fatalf("left out %v, want [%s]", dark.Basis.LeftOut, outage)
	}
	// Half a day dark: the dark hours are unknown, not zeros.
	past := fcShop{seed: 4, visitors: 30, passersby: 120, dayNoise: 0.1}.hours(site, start, 21)
	for i := range past {
		lt := time.UnixMilli(past[i].Start).In(loc)
		if lt.Format(time.DateOnly) == "2026-05-13" && lt.Hour() >= 14 {
			past[i].Visitors, past[i].Passersby = 0, 0
		}
	}
	half := Predict(site, past, from.UnixMilli(), 7)
	day := func(fc Forecast, wd time.Weekday) (sum float64) {
		for _, h := range fc.Hours {
			if time.UnixMilli(h.Start).In(loc).Weekday() == wd {
				sum += h.Visitors.Expected
			}
		}
		return sum
	}
	for _, c := range []struct {
		name string
		fc   Forecast
	}{{"a day dark", dark}, {"half a day dark", half}} {
		got, want := day(c.fc, time.Wednesday), day(clean, time.Wednesday)
		if got < 0.97*want || got > 1.15*want {
			t.Errorf("%s: Wednesday expects %.0f visitors, %.0f without the outage", c.name, got, want)
		}
	}
	// Had the zeros counted, Wednesday would have dropped by about a third.
	t.Logf("Wednesday: clean %.0f, a day dark %.0f, half a day dark %.0f", day(clean, time.Wednesday), day(dark, time.Wednesday), day(half, time.Wednesday))
}

// A new site with one day of history forecasts every open day like it,
// with a range wider than the counting noise; no history, zeros.
func TestForecastLittleHistory(t *testing.T) {
	loc := fcBerlin(t)
	site := fcSite()
	from := time.Date(2026, 5, 6, 0, 0, 0, 0, loc)
	none := Predict(site, nil, from.UnixMilli(), 7)
	for _, h := range none.Hours {
		if h.Visitors != (Expect{}) {
			t.Fatalf("no history: %+v", h)
		}
	}
	one := Predict(site, fcShop{seed: 5, visitors: 30, passersby: 100}.hours(site, addDays(from, -1, loc), 1), from.UnixMilli(), 7)
	if one.Basis.Days != 1 || one.Basis.Dispersion != ForecastDispersion {
		t.Fatalf("basis %+v", one.Basis)
	}
	var peak ForecastHour
	for _, h := range one.Hours {
		if h.Visitors.Expected > peak.Visitors.Expected {
			peak = h
		}
	}
	if p := time.UnixMilli(peak.Start).In(loc).Hour(); p < 15 || p > 18 || peak.Visitors.High-peak.Visitors.Low < 10 {
		t.Fatalf("one day: peak %+v at %d", peak.Visitors, p)
	}
}

// The negative binomial's quantiles: Poisson(10) has its 10th and 90th
// percentiles at 6 and 14; extra dispersion widens them; large means use
// the normal approximation.
func TestNBQuantile(t *testing.T) {
	for _, c := range []struct{ mu, phi, q, want float64 }{
		{10, 0, 0.1, 6}, {10, 0, 0.9, 14}, {10, 0.1, 0.9, 16}, {0.5, 0, 0.9, 1}, {0, 0.1, 0.9, 0},
		{100, 0, 0.1, 87}, {100, 0.04, 0.9, 129},
	} {
		if got := nbQuantile(c.mu, c.phi, c.q); got != c.want {
			t.Errorf("nbQuantile(%v, %v, %v) = %v, want %v", c.mu, c.phi, c.q, got, c.want)
		}
	}
}

func ExamplePredict() {
	loc, _ := time.LoadLocation("Europe/Berlin")
	site := &wire.Site{Site: "corner", Timezone: "Europe/Berlin", Open: wire.OpenHours{"mon-sat": {"09:00", "20:00"}}}
	// Four weeks in which every open hour counted 12 visitors and 50
	// passers-by, 18 and 80 from 16:00 to 18:00.
	monday := time.Date(2026, 6, 1, 0, 0, 0, 0, loc)
	var past []wire.Hour
	for _, h := range Hours(monday.UnixMilli(), monday.AddDate(0, 0, 28).UnixMilli(), loc) {
		t := time.UnixMilli(h).In(loc)
		if site.Open.IsOpen(t) {
			v, p := 12, 50
			if t.Hour() == 16 || t.Hour() == 17 {
				v, p = 18, 80
			}
			past = append(past, wire.Hour{Start: h, Visitors: v, Passersby: p, Open: true})
		}
	}
	fc := Predict(site, past, monday.AddDate(0, 0, 28).UnixMilli(), 7)
	for _, h := range fc.Hours {
		if t := time.UnixMilli(h.Start).In(loc); t.Weekday() == time.Monday && t.Hour() >= 15 && t.Hour() <= 18 {
			fmt.Printf("%s visitors %.0f (%.0f–%.0f)\n", t.Format("Mon 15:04"), h.Visitors.Expected, h.Visitors.Low, h.Visitors.High)
		}
	}
	fmt.Printf("%d hours, %.0f weeks of history\n", len(fc.Hours), fc.Basis.Weeks)
	// Output:
	// Mon 15:00 visitors 12 (8–17)
	// Mon 16:00 visitors 18 (13–24)
	// Mon 17:00 visitors 18 (13–24)
	// Mon 18:00 visitors 12 (8–17)
	// 168 hours, 4 weeks of history
}

// backtestRun simulates weeks+1 weeks of a shop (seeded) and backtests the
// last week; dark names a day of the history whose sensors were offline
// (its hours stored as zeros), "" none.
func backtestRun(t testing.TB, weeks int, seed uint64, dark bool) Backtest {
	site := fcSite()
	loc := site.Location()
	start := time.Date(2026, 9, 7, 0, 0, 0, 0, loc) // a Monday; October's DST change falls in the longer runs
	shop := fcShop{seed: seed, visitors: 30, passersby: 150, dayNoise: 0.15}
	if dark {
		rng := rand.New(rand.NewPCG(seed, 7))
		day := addDays(start, rng.IntN(7*weeks), loc)
		shop.odd = map[string]float64{day.Format(time.DateOnly): 0}
	}
	past := shop.hours(site, start, 7*(weeks+1))
	end := addDays(start, 7*(weeks+1), loc)
	bt, ok := BacktestWeek(site, past, end.UnixMilli())
	if !ok {
		t.Fatalf("backtest of %d weeks, seed %d: nothing to score", weeks, seed)
	}
	return bt
}

// oracleMAE returns the mean absolute error per open hour of the hidden
// week (as backtestRun simulates it) of the shop's true rates, which know
// the profile but not the day's level: the floor of any forecast.
func oracleMAE(weeks int, seed uint64) [2]float64 {
	site := fcSite()
	loc := site.Location()
	start := time.Date(2026, 9, 7, 0, 0, 0, 0, loc)
	shop := fcShop{seed: seed, visitors: 30, passersby: 150, dayNoise: 0.15}
	past := shop.hours(site, start, 7*(weeks+1))
	hidden := addDays(start, 7*weeks, loc).UnixMilli()
	var sum [2]float64
	n := 0
	for _, h := range past {
		if h.Start < hidden || !openHour(site.Open.Compile(), loc, h.Start) {
			continue
		}
		r := fcRate(h.Start, loc)
		sum[0] += math.Abs(float64(h.Visitors) - 30*r)
		sum[1] += math.Abs(float64(h.Passersby) - 150*r)
		n++
	}
	return [2]float64{sum[0] / float64(n), sum[1] / float64(n)}
}

// The forecast beats both naive baselines on a month of simulated history
// and its 10–90% range holds about 80% of the hours.
func TestForecastBacktest(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		bt := backtestRun(t, 4, seed, true)
		v := bt.Visitors
		t.Logf("seed %d: visitors MAE/h %.2f (last week %.2f, mean %.2f), per day %.1f, coverage %.2f", seed,
			v.MAEHour, *v.LastWeekMAEHour, *v.MeanMAEHour, v.MAEDay, v.Coverage)
		if v.MAEHour >= *v.LastWeekMAEHour || v.MAEHour >= *v.MeanMAEHour {
			t.Errorf("seed %d: MAE per hour %.2f, baselines %.2f and %.2f", seed, v.MAEHour, *v.LastWeekMAEHour, *v.MeanMAEHour)
		}
		if v.Coverage < 0.65 || v.Coverage > 0.95 {
			t.Errorf("seed %d: coverage %.2f of the 10–90%% range", seed, v.Coverage)
		}
	}
}

// TestForecastBacktestTable prints the backtest table of docs/footfall.md:
// PASSANT_FORECAST_SEEDS=1-3 (choose) or 4-6 (confirm).
func TestForecastBacktestTable(t *testing.T) {
	seeds := os.Getenv("PASSANT_FORECAST_SEEDS")
	if seeds == "" {
		t.Skip("set PASSANT_FORECAST_SEEDS=1-3 or 4-6")
	}
	var a, b uint64
	fmt.Sscanf(seeds, "%d-%d", &a, &b)
	fmt.Printf("| history | dark day | counts | MAE/h forecast | last week | mean of weeks | true rate | MAE/day forecast | last week | mean of weeks | coverage 10–90 |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, dark := range []bool{false, true} {
		for _, weeks := range []int{1, 2, 4, 8} {
			for s, name := range []string{"visitors", "passers-by"} {
				var f, lw, mn, or, fd, lwd, mnd, cov, mean float64
				n := 0.0
				for seed := a; seed <= b; seed++ {
					bt := backtestRun(t, weeks, seed, dark)
					sc := bt.Visitors
					if s == 1 {
						sc = bt.Passersby
					}
					f += sc.MAEHour
					lw += *sc.LastWeekMAEHour
					mn += *sc.MeanMAEHour
					fd += sc.MAEDay
					lwd += *sc.LastWeekMAEDay
					mnd += *sc.MeanMAEDay
					cov += sc.Coverage
					mean += sc.MeanHour
					or += oracleMAE(weeks, seed)[s]
					n++
				}
				fmt.Printf("| %d wk | %v | %s (mean %.1f/h) | **%.2f** | %.2f | %.2f | %.2f | **%.1f** | %.1f | %.1f | %.0f%% |\n", weeks, map[bool]string{false: "–", true: "1"}[dark],
					name, mean/n, f/n, lw/n, mn/n, or/n, fd/n, lwd/n, mnd/n, 100*cov/n)
			}
		}
	}
}
