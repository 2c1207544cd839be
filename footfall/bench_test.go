package footfall

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/passant/passant/zones"
)

// syntheticMonth makes the stored summaries of a busy shop: per day
// visitors (from a pool five times as large, so many return), passers-by,
// two staff devices; each visitor with a store visit and two area visits.
// Phones are of 8 models, three in four randomising.
func syntheticMonth(ndays, visitorsPerDay, passersPerDay int) ([]TrackDay, []Visit) {
	r := rand.New(rand.NewPCG(7, 8))
	var days []TrackDay
	var visits []Visit
	model := func() (string, bool) { return "0000000" + strconv.Itoa(r.IntN(8)), r.IntN(4) > 0 }
	for d := range ndays {
		date := time.Date(2026, 11, 1+d, 0, 0, 0, 0, berlin)
		ds := date.Format(time.DateOnly)
		open := date.Add(9 * time.Hour).UnixMilli()
		used := map[int]bool{}
		for range visitorsPerDay {
			id := r.IntN(visitorsPerDay * 5)
			for used[id] {
				id = r.IntN(visitorsPerDay * 5)
			}
			used[id] = true
			track := "v" + strconv.Itoa(id)
			first := open + r.Int64N(11*3600_000)
			dwell := max(int64(math.Exp(6+r.NormFloat64())*1000), 90_000) // median ~7 min
			start := first + 20_000
			fp, rnd := model()
			days = append(days, TrackDay{Site: "demo", Day: ds, Track: track, First: first, Last: start + dwell + 20_000, Fixes: 100, FP: fp, Rand: rnd})
			visits = append(visits, Visit{Site: "demo", Track: track, Zone: "store", Start: start, End: start + dwell, Fixes: 90},
				Visit{Site: "demo", Track: track, Zone: "aisle-1", Start: start + dwell/10, End: start + dwell/2, Fixes: 40},
				Visit{Site: "demo", Track: track, Zone: "till", Start: start + dwell/2 + 1000, End: start + dwell*9/10, Fixes: 30})
		}
		for i := range passersPerDay {
			first := open + r.Int64N(11*3600_000)
			fp, rnd := model()
			days = append(days, TrackDay{Site: "demo", Day: ds, Track: "p" + strconv.Itoa(d) + "-" + strconv.Itoa(i), First: first, Last: first + 30_000, Fixes: 4, FP: fp, Rand: rnd})
		}
		for i := range 2 {
			days = append(days, TrackDay{Site: "demo", Day: ds, Track: "staff" + strconv.Itoa(i), First: open - 3600_000, Last: open + 10*3600_000, Fixes: 3000})
		}
	}
	return days, visits
}

// A month of a busy shop: 3000 visitors and 10000 passers-by a day.
func BenchmarkBuildMonth(b *testing.B) {
	site := loadSite(b)
	days, visits := syntheticMonth(30, 3000, 10000)
	from := at(2026, 11, 1, 0, 0, 0)
	to := at(2026, 12, 1, 0, 0, 0)
	txns := make([]Transaction, 0, 30*1500)
	for i := range cap(txns) {
		txns = append(txns, Transaction{T: from + int64(i)*57_600})
	}
	b.ReportMetric(float64(len(days)), "trackdays")
	b.ReportMetric(float64(len(visits)), "visits")
	for b.Loop() {
		rep := Build(site, from, to, days, visits, txns, History{})
		if rep.Totals.Visitors < 30*3000/2 { // a few very long dwells are staff, and the staff chains of busy models (classify.go) take a fifth
			b.Fatal(rep.Totals.Visitors)
		}
	}
}

func BenchmarkCounterAdd(b *testing.B) {
	site := loadSite(b)
	t0 := at(2026, 12, 4, 9, 0, 0)
	r := rand.New(rand.NewPCG(9, 10))
	ps := stay("x", 0, 0, 1, floor)[:0]
	for i := range 100_000 {
		ps = append(ps, stay("t"+strconv.Itoa(r.IntN(500)), t0+int64(i)*300, t0+int64(i)*300, 1,
			[2]float64{r.Float64()*34 - 2, r.Float64()*28 - 8})...)
		ps[len(ps)-1].Err = 1.5
	}
	b.ResetTimer()
	for b.Loop() {
		c := run(b, site, ps)
		_ = c
	}
	b.ReportMetric(float64(len(ps)), "positions/op")
}

// BenchmarkCounterPresent is the live map's "in the store now"
// (Counter.Present), which the server computes up to four times a second
// per site: n randomising phones in the store, of 20 models, each with a
// fix in the last minute.
func BenchmarkCounterPresent(b *testing.B) {
	site := loadSite(b)
	t0 := at(2026, 12, 4, 9, 0, 0)
	for _, n := range []int{50, 500, 2000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			c := NewCounter(site, zones.NewPlan(site))
			r := rand.New(rand.NewPCG(9, 10))
			for i := range n {
				p := stay("t"+strconv.Itoa(i), t0+int64(i)*30, t0+int64(i)*30, 1, floor)[0]
				p.FP, p.Rand = "m"+strconv.Itoa(r.IntN(20)), true
				c.Add(p)
			}
			now := t0 + int64(n)*30
			for b.Loop() {
				if got := c.Present(now, PresentWithin); got["store"] == 0 {
					b.Fatal(got)
				}
			}
		})
	}
}
