package footfall

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// nights adds, to each of ndays days of syntheticMonth, what crosses local
// midnight: street fragments of randomised phones just before and after
// it (joined by count, with the fractions carried across), a shopper whose
// store and area visits last past it, a night guard (staff) whose store
// visit does too, and a randomised phone whose store visit ends just
// before it while another of its model begins inside just after (a
// possible handoff).
func nights(ndays int) ([]TrackDay, []Visit) {
	r := rand.New(rand.NewPCG(3, 4))
	var days []TrackDay
	var visits []Visit
	const fp = "00000003"
	for d := range ndays {
		mid := time.Date(2026, 11, 2+d, 0, 0, 0, 0, berlin) // the midnight after day d
		before, after := mid.AddDate(0, 0, -1).Format(time.DateOnly), mid.Format(time.DateOnly)
		ms := mid.UnixMilli()
		td := func(track string, first, last int64, rnd bool) {
			day := after
			if first < ms {
				day = before
			}
			days = append(days, TrackDay{Site: "demo", Day: day, Track: track, First: first, Last: last, Fixes: 6, FP: fp, Rand: rnd})
		}
		// Street fragments, a few seconds to two minutes apart.
		t := ms - 20*60_000
		for i := range 24 {
			t += 10_000 + r.Int64N(120_000)
			td(fmt.Sprintf("n%d-%d", d, i), t, t+r.Int64N(40_000), true)
		}
		// A shopper from 23:50 to 00:20, in the aisle across midnight.
		sh := fmt.Sprintf("night-%d", d%3) // comes back every third night
		td(sh, ms-10*60_000, ms-1, false)
		td(sh, ms, ms+21*60_000, false)
		visits = append(visits,
			Visit{Site: "demo", Track: sh, Zone: "store", Start: ms - 9*60_000, End: ms + 20*60_000, Fixes: 60, Before: ms - 10*60_000},
			Visit{Site: "demo", Track: sh, Zone: "aisle-1", Start: ms - 5*60_000, End: ms + 10*60_000, Fixes: 30})
		// A night guard, staff that day, in the store until 01:00.
		td("guard", ms-6*3600_000, ms-1, false)
		visits = append(visits, Visit{Site: "demo", Track: "guard", Zone: "store", Start: ms - 6*3600_000, End: ms + 3600_000, Fixes: 900})
		// A randomised phone leaves at 23:59:30, another of its model is
		// first heard inside at 00:00:30.
		a, b := fmt.Sprintf("ha%d", d), fmt.Sprintf("hb%d", d)
		td(a, ms-30*60_000, ms-20_000, true)
		td(b, ms+30_000, ms+25*60_000, true)
		visits = append(visits,
			Visit{Site: "demo", Track: a, Zone: "store", Start: ms - 29*60_000, End: ms - 30_000, Fixes: 80, Before: ms - 30*60_000},
			Visit{Site: "demo", Track: b, Zone: "store", Start: ms + 30_000, End: ms + 24*60_000, Fixes: 80})
	}
	return days, visits
}

// TestBuildAfterIsBuild: a report built from a Past of the summaries
// before a midnight and the summaries from it on is byte for byte the
// report of all the summaries, for today's report, a report that ends
// now, one of several days and one of a past day, with the midnight on
// the report's first day or one or two days before, over two weeks of a
// shop with returning visitors and what crosses each midnight. The
// server's report cache relies on it.
func TestBuildAfterIsBuild(t *testing.T) {
	site := loadSite(t)
	site.Footfall.HistoryDays = 7
	const ndays = 14
	days, visits := syntheticMonth(ndays, 120, 400)
	nd, nv := nights(ndays)
	days = append(days, nd...)
	visits = append(visits, nv...)
	sortVisits(visits)
	histDays := int64(site.Footfall.HistoryDays + 1)
	rows := func(from, to, visitsFrom int64) ([]TrackDay, []Visit) {
		var ds []TrackDay
		for _, d := range days {
			if d.First >= from && d.First < to {
				ds = append(ds, d)
			}
		}
		var vs []Visit
		for _, v := range visits {
			if v.Start >= visitsFrom && v.Start < to {
				vs = append(vs, v)
			}
		}
		return ds, vs
	}
	var carried, reached, doors, returning, naiveDiffers int
	for d := 9; d < ndays; d++ {
		day := at(2026, 11, 1+d, 0, 0, 0)
		for _, span := range []struct {
			name     string
			from, to int64
		}{
			{"today", day, at(2026, 11, 2+d, 0, 0, 0)},
			{"so far", day, at(2026, 11, 1+d, 0, 12, 0)},
			{"two days", at(2026, 11, d, 0, 0, 0), at(2026, 11, 2+d, 0, 0, 0)},
		} {
			histFrom := span.from - histDays*24*3600_000
			allD, allV := rows(histFrom, span.to, histFrom-24*3600_000)
			full := Build(site, span.from, span.to, allD, allV, nil, History{})
			want, _ := json.Marshal(full)
			if full.Totals.Returning > 0 {
				returning++
			}
			for back := range 3 {
				c := time.UnixMilli(span.from).In(berlin).AddDate(0, 0, -back).UnixMilli()
				pd, pv := rows(histFrom, c, histFrom-24*3600_000)
				past := NewPast(site, c, pd, pv)
				if past.carry != 0 {
					carried++
				}
				if len(past.reach) > 0 {
					reached++
				}
				if len(past.doors) > 0 {
					doors++
				}
				// The server reads a day of visits before the midnight
				// too: BuildAfter leaves them to past.
				ad, av := rows(c, span.to, c-24*3600_000)
				rep, ok := BuildAfter(site, span.from, span.to, past, ad, av, nil)
				if !ok {
					t.Fatalf("day %d %s, past to %d days before: BuildAfter found the days not split", d, span.name, back)
				}
				got, _ := json.Marshal(rep)
				if string(got) != string(want) {
					t.Errorf("day %d %s, past to %d days before: BuildAfter differs from Build\n got %s\nwant %s", d, span.name, back, got, want)
				}
				naive, _ := json.Marshal(Build(site, span.from, span.to, ad, av, nil, History{}))
				if string(naive) != string(want) {
					naiveDiffers++
				}
			}
		}
	}
	// The test shows something only if what crosses days is there.
	if carried == 0 || reached == 0 || doors == 0 || returning == 0 || naiveDiffers == 0 {
		t.Errorf("carried %d, reached %d, doors %d, returning %d, naive differs %d: the data do not cross days", carried, reached, doors, returning, naiveDiffers)
	}
}

// TestNewPastAtMidnightOnly: a Past ends at a local midnight.
func TestNewPastAtMidnightOnly(t *testing.T) {
	site := loadSite(t)
	defer func() {
		if recover() == nil {
			t.Error("NewPast at 09:00 did not panic")
		}
	}()
	NewPast(site, at(2026, 11, 3, 9, 0, 0), nil, nil)
}

// TestBuildAfterNotSplit: track days dated by another time zone of the
// site (an edit of its zone) do not split at the midnight; BuildAfter says
// so instead of building from them.
func TestBuildAfterNotSplit(t *testing.T) {
	site := loadSite(t)
	mid := at(2026, 11, 3, 0, 0, 0)
	early := TrackDay{Site: "demo", Day: "2026-11-03", Track: "a", First: mid - 3600_000, Last: mid - 3000_000, Fixes: 5}
	late := TrackDay{Site: "demo", Day: "2026-11-02", Track: "b", First: mid + 600_000, Last: mid + 900_000, Fixes: 5}
	if p := NewPast(site, mid, []TrackDay{early}, nil); p.split {
		t.Error("a past with a track day dated after its midnight splits")
	}
	p := NewPast(site, mid, nil, nil)
	if _, ok := BuildAfter(site, mid, mid+24*3600_000, p, []TrackDay{late}, nil, nil); ok {
		t.Error("BuildAfter built from a track day dated before its midnight")
	}
	if rep, ok := BuildAfter(site, mid, mid+24*3600_000, p, nil, nil, nil); !ok || rep.Site != "demo" {
		t.Errorf("BuildAfter of nothing: %v, %q", ok, rep.Site)
	}
}
