package footfall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

func fp(v float64) *float64 { return &v }

func eqp(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// The contract's rules on one day of hand-made tracks.
func TestBuildContractRules(t *testing.T) {
	site := loadSite(t)
	h10 := at(2026, 12, 4, 10, 0, 0)
	h11 := at(2026, 12, 4, 11, 0, 0)
	c := run(t, site,
		// v1: a visitor, 5 min in the store.
		stay("v1", h10+60_000, h10+360_000, 10, floor),
		// v2: first seen on the street at 10:59, in the store 11:05-11:15:
		// counts in hour 10, with its final class, visitor.
		stay("v2", h10+59*60_000, h10+59*60_000, 10, street),
		stay("v2", h11+5*60_000, h11+15*60_000, 10, aisle),
		// b: a bounce (50 s in the store): a passer-by.
		stay("b", h10+600_000, h10+650_000, 10, floor),
		// p1: only on the street.
		stay("p1", h11+60_000, h11+120_000, 10, street),
		// staff: a printer at the till from 06:00 to 18:00: staff, not
		// counted as visitor, and never in occupancy.
		stay("printer", at(2026, 12, 4, 6, 0, 0), at(2026, 12, 4, 18, 0, 0), 60, till),
		// e: exactly staff_min_dwell_s long: not staff (must exceed),
		// a visitor.
		stay("e", at(2026, 12, 4, 8, 0, 0), at(2026, 12, 4, 12, 0, 0), 300, floor),
	)
	from, to := at(2026, 12, 4, 0, 0, 0), at(2026, 12, 5, 0, 0, 0)
	rep := Build(site, from, to, c.TrackDays(), c.Visits(), nil, History{})
	tot := rep.Totals
	if tot.Visitors != 3 || tot.Passersby != 2 || tot.Staff != 1 || tot.New != 3 || tot.Returning != 0 {
		t.Errorf("totals %+v", tot)
	}
	if !eqp(tot.CaptureRate, fp(0.6)) || tot.Bounces != 1 || tot.Visits != 4 || !eqp(tot.BounceRate, fp(0.25)) {
		t.Errorf("capture %v bounces %d visits %d bounce rate %v", *tot.CaptureRate, tot.Bounces, tot.Visits, tot.BounceRate)
	}
	// Dwells: v1 300, v2 600, e 14400: median 600.
	if !eqp(tot.DwellMedianS, fp(600)) || tot.DwellBuckets != (wire.DwellBuckets{M5to20: 2, H1to6: 1}) {
		t.Errorf("dwell %v %+v", *tot.DwellMedianS, tot.DwellBuckets)
	}
	if len(rep.Hours) != 24 || rep.Hours[0].Start != from {
		t.Fatalf("%d hours", len(rep.Hours))
	}
	hr := func(h int) wire.Hour { return rep.Hours[h] }
	if hr(10).Visitors != 2 || hr(10).Passersby != 1 || hr(11).Visitors != 0 || hr(11).Passersby != 1 {
		t.Errorf("hour attribution: 10 %+v 11 %+v", hr(10), hr(11))
	}
	if hr(6).Staff != 1 || hr(8).Visitors != 1 || !eqp(hr(8).DwellMedianS, fp(14400)) {
		t.Errorf("hours 6 %+v 8 %+v", hr(6), hr(8))
	}
	if hr(3).CaptureRate != nil || hr(3).DwellMedianS != nil || hr(3).OccupancyMax != 0 {
		t.Errorf("an empty hour: %+v", hr(3))
	}
	if !eqp(hr(10).CaptureRate, fp(0.6667)) || !eqp(hr(10).DwellMedianS, fp(450)) {
		t.Errorf("hour 10 ratios %v %v", *hr(10).CaptureRate, *hr(10).DwellMedianS)
	}
	// Occupancy in hour 10: e all hour, v1 for 300 s, b for 50 s; the
	// printer is staff. Max 2 (e with v1, then e with b).
	if hr(10).OccupancyMax != 2 || hr(10).OccupancyMean != round(1+(300.0+50)/3600, 3) {
		t.Errorf("occupancy hour 10: %d %v", hr(10).OccupancyMax, hr(10).OccupancyMean)
	}
	// Hour 11: e until 12:00 (its last fix), v2 for 600 s.
	if hr(11).OccupancyMax != 2 || hr(11).OccupancyMean != round(1+600.0/3600, 3) {
		t.Errorf("occupancy hour 11: %d %v", hr(11).OccupancyMax, hr(11).OccupancyMean)
	}
	// Opening hours: Friday 09:00-20:00.
	if hr(8).Open || !hr(9).Open || !hr(19).Open || hr(20).Open {
		t.Error("open hours")
	}
	if rep.Totals.Transactions != nil || hr(10).Transactions != nil || hr(10).Conversion != nil {
		t.Error("transactions without POS data")
	}
	if len(rep.Days) != 1 || rep.Days[0].Date != "2026-12-04" || rep.Days[0].Visitors != 3 || rep.Days[0].Start != from {
		t.Errorf("days %+v", rep.Days)
	}
	if rep.Extra == nil || rep.Extra.Loyalty[FirstTime] != 3 || !slices.Equal(rep.Extra.BusiestHours, []int64{hr(10).Start, hr(8).Start}) ||
		!slices.Equal(rep.Extra.BusiestDays, []string{"2026-12-04"}) {
		t.Errorf("extra %+v", rep.Extra)
	}
	// Zones exclude the printer's till visits.
	if rep.Zones[1].Zone != "till" || rep.Zones[1].Visits != 0 || rep.Zones[0].Visits != 1 {
		t.Errorf("zones %+v", rep.Zones)
	}
}

func TestBuildCaptureRateNullAndJSONShape(t *testing.T) {
	site := loadSite(t)
	from := at(2026, 12, 4, 10, 0, 0)
	rep := Build(site, from, from+2*hourMs, nil, nil, nil, History{})
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	tot := m["totals"].(map[string]any)
	for _, k := range []string{"capture_rate", "dwell_median_s", "bounce_rate"} {
		if v, ok := tot[k]; !ok || v != nil {
			t.Errorf("totals.%s = %v, %v; want null", k, v, ok)
		}
	}
	for _, k := range []string{"transactions", "conversion"} {
		if _, ok := tot[k]; ok {
			t.Errorf("totals.%s present without POS data", k)
		}
	}
	hours := m["hours"].([]any)
	if len(hours) != 2 {
		t.Fatalf("hours %v", hours)
	}
	h0 := hours[0].(map[string]any)
	if h0["capture_rate"] != nil || h0["start"].(float64) != float64(from) {
		t.Errorf("hour %v", h0)
	}
	if _, ok := m["zones"].([]any); !ok {
		t.Error("zones not an array")
	}
	if p, ok := m["paths"].([]any); !ok || len(p) != 0 {
		t.Error("paths not an empty array")
	}
}

func TestBuildTransactions(t *testing.T) {
	site := loadSite(t)
	h10 := at(2026, 12, 4, 10, 0, 0)
	c := run(t, site, stay("v1", h10, h10+600_000, 10, floor), stay("v2", h10, h10+600_000, 10, aisle))
	txns := []Transaction{{T: h10 + 1000}, {T: h10 + hourMs + 5}, {T: h10 - 1}}
	rep := Build(site, h10, h10+2*hourMs, c.TrackDays(), c.Visits(), txns, History{})
	if *rep.Totals.Transactions != 2 || !eqp(rep.Totals.Conversion, fp(1)) {
		t.Errorf("totals %v %v", *rep.Totals.Transactions, rep.Totals.Conversion)
	}
	if *rep.Hours[0].Transactions != 1 || !eqp(rep.Hours[0].Conversion, fp(0.5)) {
		t.Errorf("hour 0")
	}
	// A receipt in an hour without visitors: conversion null.
	if *rep.Hours[1].Transactions != 1 || rep.Hours[1].Conversion != nil {
		t.Errorf("hour 1 %+v", rep.Hours[1])
	}
	if *rep.Days[0].Transactions != 2 || !eqp(rep.Days[0].Conversion, fp(1)) {
		t.Errorf("day %+v", rep.Days[0])
	}
	// POS data given but empty: 0, not absent.
	rep = Build(site, h10, h10+hourMs, nil, nil, []Transaction{}, History{})
	if rep.Totals.Transactions == nil || *rep.Totals.Transactions != 0 || rep.Totals.Conversion != nil {
		t.Error("empty POS data")
	}
}

func TestHoursDST(t *testing.T) {
	for _, c := range []struct {
		day  time.Time
		n    int
		dup  string
		skip bool
	}{
		{time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), 23, "", true},
		{time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), 25, "02", false},
		{time.Date(2026, 12, 4, 0, 0, 0, 0, berlin), 24, "", false},
	} {
		from, to := c.day.UnixMilli(), c.day.AddDate(0, 0, 1).UnixMilli()
		hs := Hours(from, to, berlin)
		if len(hs) != c.n {
			t.Errorf("%s: %d hours, want %d", c.day.Format(time.DateOnly), len(hs), c.n)
		}
		seen := map[string]int{}
		for i, h := range hs {
			lt := time.UnixMilli(h).In(berlin)
			if lt.Minute() != 0 || lt.Second() != 0 {
				t.Errorf("hour %d starts at %v", i, lt)
			}
			if i > 0 && h-hs[i-1] != hourMs {
				t.Errorf("hours %d and %d are %d ms apart", i-1, i, h-hs[i-1])
			}
			seen[lt.Format("15")]++
		}
		if c.dup != "" && seen[c.dup] != 2 {
			t.Errorf("hour %s not repeated: %v", c.dup, seen)
		}
		if c.skip && seen["02"] != 0 {
			t.Errorf("hour 02 present on spring-forward day")
		}
		// A report over the day: one hour entry each, empty hours included.
		rep := Build(loadSite(t), from, to, nil, nil, nil, History{})
		if len(rep.Hours) != c.n || len(rep.Days) != 1 {
			t.Errorf("report: %d hours %d days", len(rep.Hours), len(rep.Days))
		}
	}
	// A track first seen in the second 02:00 hour of the fall-back day
	// counts there, not in the first.
	site := loadSite(t)
	second := time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC).UnixMilli() // 02:30 CET
	cnt := run(t, site, stay("x", second, second+60_000, 10, street))
	from := time.Date(2026, 10, 25, 0, 0, 0, 0, berlin).UnixMilli()
	rep := Build(site, from, from+25*hourMs, cnt.TrackDays(), cnt.Visits(), nil, History{})
	if rep.Hours[3].Passersby != 1 || rep.Hours[2].Passersby != 0 {
		t.Errorf("fall-back hour attribution: %+v %+v", rep.Hours[2], rep.Hours[3])
	}
	// Half-hour offsets: Kolkata's hours start at :30 UTC.
	kol, _ := time.LoadLocation("Asia/Kolkata")
	if h := HourStart(time.Date(2026, 12, 4, 10, 45, 0, 0, time.UTC).UnixMilli(), kol); h != time.Date(2026, 12, 4, 10, 30, 0, 0, time.UTC).UnixMilli() {
		t.Errorf("Kolkata hour start %v", time.UnixMilli(h).UTC())
	}
	f, tt := HourSpan(time.Date(2026, 12, 4, 10, 45, 0, 0, time.UTC).UnixMilli(), time.Date(2026, 12, 4, 12, 31, 0, 0, time.UTC).UnixMilli(), kol)
	if tt-f != 3*hourMs {
		t.Errorf("span %d h", (tt-f)/hourMs)
	}
}

// visitorDay makes the summaries of a visitor on a local day.
func visitorDay(track string, day time.Time) ([]TrackDay, []Visit) {
	s := day.Add(11 * time.Hour).UnixMilli()
	return []TrackDay{{Site: "demo", Day: day.Format(time.DateOnly), Track: track, First: s, Last: s + 600_000, Fixes: 60}},
		[]Visit{{Site: "demo", Track: track, Zone: "store", Start: s, End: s + 600_000, Fixes: 60}}
}

func TestNewReturningWindow(t *testing.T) {
	site := loadSite(t)
	site.Footfall.HistoryDays = 30
	day := func(n int) time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, berlin).AddDate(0, 0, n) }
	var days []TrackDay
	var visits []Visit
	add := func(track string, n int) {
		d, v := visitorDay(track, day(n))
		days, visits = append(days, d...), append(visits, v...)
	}
	add("a", 0)
	add("a", 30) // 30 days later: within the window, returning
	add("b", 0)
	add("b", 31) // 31 days later: outside, new
	add("c", 30) // only once: new
	from := day(30).UnixMilli()
	to := day(32).UnixMilli()
	rep := Build(site, from, to, days, visits, nil, History{})
	if rep.Totals.Visitors != 3 || rep.Totals.Returning != 1 || rep.Totals.New != 2 {
		t.Errorf("in-input history: %+v", rep.Totals)
	}
	// The same with the earlier days only in a History built from stored
	// summaries, and the report's input just days 30 and 31.
	hist := NewHistory(site, days[:1], visits[:1]) // a on day 0
	hist.Add("b", day(0).Format(time.DateOnly))
	rep2 := Build(site, from, to, days[1:2], visits[1:2], nil, hist)
	if rep2.Totals.Returning != 1 || rep2.Totals.New != 0 {
		t.Errorf("stored history: %+v", rep2.Totals)
	}
	if got := hist.Days("a"); !slices.Equal(got, []string{"2026-11-01"}) || hist.Len() != 2 {
		t.Errorf("history days %v", got)
	}
	// A shorter window makes a new.
	site.Footfall.HistoryDays = 29
	rep3 := Build(site, from, to, days, visits, nil, History{})
	if rep3.Totals.Returning != 0 || rep3.Totals.New != 3 {
		t.Errorf("29-day window: %+v", rep3.Totals)
	}
}

func TestLoyalty(t *testing.T) {
	site := loadSite(t)
	day := func(n int) time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, berlin).AddDate(0, 0, n) }
	var days []TrackDay
	var visits []Visit
	add := func(track string, ns ...int) {
		for _, n := range ns {
			d, v := visitorDay(track, day(n))
			days, visits = append(days, d...), append(visits, v...)
		}
	}
	add("daily", 22, 23, 24, 26, 28)    // 5 of the last 7 days (22..28)
	add("weekly", 6, 14, 28)            // weeks 22-28, 8-14 and 1-7 of the last 4
	add("almost-daily", 23, 25, 26, 28) // 4 of 7, all in one week: occasional
	add("occasional", 26, 28)           // twice in one week: occasional
	add("first", 28)                    // first time
	add("gone", 20)                     // not a visitor in the report's range
	rep := Build(site, day(28).UnixMilli(), day(29).UnixMilli(), days, visits, nil, History{})
	want := map[string]int{Daily: 1, Weekly: 1, Occasional: 2, FirstTime: 1}
	if fmt.Sprint(rep.Extra.Loyalty) != fmt.Sprint(want) {
		t.Errorf("loyalty %v want %v", rep.Extra.Loyalty, want)
	}
	if rep.Totals.Visitors != 5 || rep.Totals.Returning != 4 || rep.Totals.New != 1 {
		t.Errorf("%+v", rep.Totals)
	}
}

func TestBuildDeterministic(t *testing.T) {
	site := loadSite(t)
	days, visits := syntheticMonth(3, 200, 400)
	// Phones of one model that change address every scan, two at a time
	// with their tracks ending at the same millisecond: the passers-by
	// estimate must not depend on which of a tie comes first.
	// Each time a passer-by (x) and a visitor (y) end together and a
	// visitor (z) begins 25 s later: which of x and y z continues decides
	// whether x counts whole.
	for k := range int64(40) {
		end := at(2026, 11, 1, 10, 0, 0) + k*180_000
		x, y, z := fmt.Sprint("x", k), fmt.Sprint("y", k), fmt.Sprint("z", k)
		days = append(days, TrackDay{Site: "demo", Day: "2026-11-01", Track: x, First: end - 10_000, Last: end, Fixes: 2, FP: "feedf00d", Rand: true},
			TrackDay{Site: "demo", Day: "2026-11-01", Track: y, First: end - 120_000, Last: end, Fixes: 9, FP: "feedf00d", Rand: true},
			TrackDay{Site: "demo", Day: "2026-11-01", Track: z, First: end + 25_000, Last: end + 200_000, Fixes: 9, FP: "feedf00d", Rand: true})
		visits = append(visits, Visit{Site: "demo", Track: y, Zone: "store", Start: end - 120_000, End: end, Fixes: 9},
			Visit{Site: "demo", Track: z, Zone: "store", Start: end + 25_000, End: end + 200_000, Fixes: 9})
	}
	from := at(2026, 11, 1, 0, 0, 0)
	to := at(2026, 11, 4, 0, 0, 0)
	rep := Build(site, from, to, days, visits, nil, History{})
	if rep.Totals.PassersbyEst == float64(rep.Totals.Passersby) {
		t.Errorf("%d passers-by, estimated %v: no continuation found", rep.Totals.Passersby, rep.Totals.PassersbyEst)
	}
	a, _ := json.Marshal(rep)
	// Shuffled input, same report.
	slices.Reverse(days)
	slices.Reverse(visits)
	b, _ := json.Marshal(Build(site, from, to, days, visits, nil, History{}))
	if !bytes.Equal(a, b) {
		t.Error("report depends on input order")
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(days), func(i, j int) { days[i], days[j] = days[j], days[i] })
	c, _ := json.Marshal(Build(site, from, to, days, visits, nil, History{}))
	if !bytes.Equal(a, c) {
		t.Error("report depends on input order (shuffled)")
	}
}

func ExampleBuild() {
	site := &wire.Site{Site: "demo", Timezone: "UTC",
		Zones:    []wire.Zone{{ID: "store", Kind: wire.ZoneStore, Polygon: []wire.Point{{0, 0}, {10, 0}, {10, 10}, {0, 10}}}},
		Footfall: wire.Footfall{VisitorMinDwellS: 60, VisitGapS: 900, StaffMinDwellS: 14400, HistoryDays: 30}}
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).UnixMilli()
	days := []TrackDay{
		{Day: "2026-12-04", Track: "k1", First: t0, Last: t0 + 600_000},
		{Day: "2026-12-04", Track: "k2", First: t0 + 60_000, Last: t0 + 120_000},
	}
	visits := []Visit{{Track: "k1", Zone: "store", Start: t0 + 60_000, End: t0 + 540_000}}
	rep := Build(site, t0, t0+3600_000, days, visits, []Transaction{{T: t0 + 500_000}}, History{})
	fmt.Println(rep.Totals.Visitors, rep.Totals.Passersby, *rep.Totals.CaptureRate, *rep.Totals.DwellMedianS, *rep.Totals.Conversion)
	// Output: 1 1 0.5 480 1
}

// The hours and the days add up to the totals, new and returning to the
// visitors, the dwell buckets to the visitors.
func TestBuildAddsUp(t *testing.T) {
	site := loadSite(t)
	days, visits := syntheticMonth(5, 300, 900)
	from, to := at(2026, 11, 2, 0, 0, 0), at(2026, 11, 5, 0, 0, 0)
	txns := []Transaction{{T: from + 5}, {T: to - 5}, {T: to}}
	rep := Build(site, from, to, days, visits, txns, History{})
	var hv, hp, hs, ht, dv, dp, ds, dn, dr, dt int
	for _, h := range rep.Hours {
		hv, hp, hs, ht = hv+h.Visitors, hp+h.Passersby, hs+h.Staff, ht+*h.Transactions
	}
	for _, d := range rep.Days {
		dv, dp, ds, dn, dr, dt = dv+d.Visitors, dp+d.Passersby, ds+d.Staff, dn+d.New, dr+d.Returning, dt+*d.Transactions
	}
	tot := rep.Totals
	b := tot.DwellBuckets
	if len(rep.Hours) != 72 || len(rep.Days) != 3 {
		t.Fatalf("%d hours %d days", len(rep.Hours), len(rep.Days))
	}
	if hv != tot.Visitors || hp != tot.Passersby || hs != tot.Staff || ht != 2 || *tot.Transactions != 2 {
		t.Errorf("hours %d %d %d %d, totals %+v", hv, hp, hs, ht, tot)
	}
	if dv != tot.Visitors || dp != tot.Passersby || ds != tot.Staff || dn != tot.New || dr != tot.Returning || dt != 2 {
		t.Errorf("days %d %d %d %d %d, totals %+v", dv, dp, ds, dn, dr, tot)
	}
	if tot.New+tot.Returning != tot.Visitors || b.LT5m+b.M5to20+b.M20to60+b.H1to6+b.GT6h != tot.Visitors {
		t.Errorf("new %d returning %d buckets %+v visitors %d", tot.New, tot.Returning, b, tot.Visitors)
	}
	// The pool of 1500 for 300 visitors a day: many return within the
	// five days, and the first day of the range sees the day before.
	// The passers-by are independent; the few that begin near an end of
	// their model by chance beyond the chance rate are joined (joinStreet).
	joins := 0
	all := Joins(site, days, visits)
	for _, j := range all {
		if j.First >= from && j.First < to {
			joins++
		}
	}
	// BuildJoins (one classification for both) gives the same.
	rep2, all2 := BuildJoins(site, from, to, days, visits, txns, History{})
	j1, _ := json.Marshal(rep)
	j2, _ := json.Marshal(rep2)
	if !bytes.Equal(j1, j2) || !slices.Equal(all, all2) || len(all) == 0 {
		t.Errorf("BuildJoins: the report or the %d joins differ from Build's and Joins' (%d)", len(all2), len(all))
	}
	if tot.Visitors != 900 || tot.Returning < 100 || tot.Staff != 6 || tot.Passersby != 2700-joins || joins > 2700/20 {
		t.Errorf("totals %+v", tot)
	}
	loy := 0
	for _, n := range rep.Extra.Loyalty {
		loy += n
	}
	distinct := map[string]bool{}
	for _, d := range days {
		if d.First >= from && d.First < to && d.Track[0] == 'v' {
			distinct[d.Track] = true
		}
	}
	if loy != len(distinct) {
		t.Errorf("loyalty counts %d visitors, want the %d distinct", loy, len(distinct))
	}
}

func TestZoneOccupancy(t *testing.T) {
	site := loadSite(t)
	h10 := at(2026, 12, 4, 10, 0, 0)
	c := run(t, site,
		stay("a", h10, h10+1800_000, 10, aisle),
		stay("b", h10+900_000, h10+2700_000, 10, aisle),
		stay("printer", h10-5*3600_000, h10+3600_000, 60, till))
	occ := ZoneOccupancy(site, h10, h10+2*hourMs, c.TrackDays(), c.Visits())
	if len(occ) != 3 || len(occ["aisle-1"]) != 2 {
		t.Fatalf("%v", occ)
	}
	if l := occ["aisle-1"][0]; l.Max != 2 || math.Abs(l.Mean-1) > 1e-3 || occ["aisle-1"][1].Max != 0 {
		t.Errorf("aisle hour 10: %+v", l)
	}
	if l := occ["till"][0]; l.Max != 0 {
		t.Errorf("staff at the till: %+v", l)
	}
	rep := Build(site, h10, h10+2*hourMs, c.TrackDays(), c.Visits(), nil, History{})
	if occ["store"][0].Max != rep.Hours[0].OccupancyMax || round(occ["store"][0].Mean, 3) != rep.Hours[0].OccupancyMean {
		t.Errorf("store %+v, report hour %+v", occ["store"][0], rep.Hours[0])
	}
}

// Positions over several days through the counter: a phone that keeps its
// track comes back within the window and is returning; the report's range
// covers only the later days, the history the earlier ones.
func TestReturningThroughCounter(t *testing.T) {
	site := loadSite(t)
	day := func(d, h int) int64 { return at(2026, 11, d, h, 0, 0) }
	c := run(t, site,
		stay("k1", day(2, 10), day(2, 10)+300_000, 10, floor),   // visitor on the 2nd
		stay("k1", day(20, 11), day(20, 11)+300_000, 10, floor), // back on the 20th
		stay("k2", day(20, 12), day(20, 12)+300_000, 10, floor), // first time
		stay("k3", day(2, 10), day(2, 10)+30_000, 10, floor),    // a bounce on the 2nd: not a visitor then
		stay("k3", day(21, 9), day(21, 9)+300_000, 10, floor),   // so new on the 21st
	)
	days, visits := c.TrackDays(), c.Visits()
	rep := Build(site, day(20, 0), day(22, 0), days, visits, nil, NewHistory(site, days, visits))
	if rep.Totals.Visitors != 3 || rep.Totals.Returning != 1 || rep.Totals.New != 2 {
		t.Errorf("totals %+v", rep.Totals)
	}
	// Build counts the visitor days of the summaries it is given itself: a
	// History of the same summaries adds nothing (the server and replay
	// pass none).
	a, _ := json.Marshal(rep)
	b, _ := json.Marshal(Build(site, day(20, 0), day(22, 0), days, visits, nil, History{}))
	if !bytes.Equal(a, b) {
		t.Errorf("with a History of the same summaries:\n%s\nwithout:\n%s", a, b)
	}
	if rep.Days[0].Returning != 1 || rep.Days[0].New != 1 || rep.Days[1].New != 1 {
		t.Errorf("days %+v", rep.Days)
	}
	// k1: the 2nd and the 20th lie in two of the last four weeks: weekly.
	if rep.Extra.Loyalty[Weekly] != 1 || rep.Extra.Loyalty[FirstTime] != 2 {
		t.Errorf("loyalty %v", rep.Extra.Loyalty)
	}
}
