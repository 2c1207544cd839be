package footfall

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// A day of passers-by on the street, phones of three models arriving at
// random: the most common model takes a new address with every scan, so a
// phone heard in 1 to 4 scans 15 to 45 s apart leaves 1 to 4 tracks; the
// others keep theirs. The estimate should count the phones, and so
// should the contract's passers-by, counted by track once the street
// fragments are joined by count (joinStreet).
func TestPassersbyEstimate(t *testing.T) {
	site := loadSite(t)
	from, to := at(2026, 12, 4, 0, 0, 0), at(2026, 12, 5, 0, 0, 0)
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var days []TrackDay
		phones := 0
		models := []struct {
			fp      string
			perMin  float64
			perScan bool
		}{{"aaaa0001", 0.7, true}, {"bbbb0002", 1.5, false}, {"cccc0003", 1, false}}
		for _, m := range models {
			t0 := at(2026, 12, 4, 9, 0, 0)
			for {
				t0 += int64(rng.ExpFloat64() / m.perMin * 60_000)
				if t0 > at(2026, 12, 4, 20, 0, 0) {
					break
				}
				phones++
				scans := 1
				if m.perScan {
					scans = 1 + rng.IntN(4)
				}
				first := t0
				for s := range scans {
					if s > 0 {
						first += int64(15_000 + rng.IntN(30_000))
					}
					last := first
					if !m.perScan {
						last += int64(rng.IntN(60_000))
					}
					days = append(days, TrackDay{Site: site.Site, Day: "2026-12-04",
						Track: fmt.Sprintf("%s-%d-%d", m.fp, phones, s), First: first, Last: last, Fixes: 1,
						FP: m.fp, Rand: true})
				}
			}
		}
		tot := Build(site, from, to, days, nil, nil, History{}).Totals
		rel := tot.PassersbyEst/float64(phones) - 1
		t.Logf("seed %d: %d phones, %d tracks (%+.1f%%), estimate %.1f (%+.1f%%)", seed, phones,
			tot.Passersby, 100*(float64(tot.Passersby)/float64(phones)-1), tot.PassersbyEst, 100*rel)
		if joins := Joins(site, days, nil); tot.Passersby != len(days)-len(joins) || len(joins) == 0 {
			t.Fatalf("seed %d: %d passers-by, want the %d tracks less %d joined", seed, tot.Passersby, len(days), len(joins))
		}
		if rel := float64(tot.Passersby)/float64(phones) - 1; math.Abs(rel) > 0.05 {
			t.Errorf("seed %d: %d passers-by (tracks, joined) for %d phones", seed, tot.Passersby, phones)
		}
		if math.Abs(rel) > 0.05 {
			t.Errorf("seed %d: estimate %.1f for %d phones", seed, tot.PassersbyEst, phones)
		}
		want := float64(phones) / (float64(phones) + 0) // no visitors
		if tot.CaptureRateEst == nil || *tot.CaptureRateEst != 0 || want != 1 {
			t.Errorf("seed %d: capture rate estimate %v, want 0", seed, tot.CaptureRateEst)
		}
	}
}

// Tracks whose addresses are not randomised, or of staff, are never taken
// for another's continuation; a passer-by that ends just before a visitor
// of its model begins is the visitor's approach.
func TestPassersbyEstimateWhom(t *testing.T) {
	site := loadSite(t)
	from, to := at(2026, 12, 4, 0, 0, 0), at(2026, 12, 5, 0, 0, 0)
	h10 := at(2026, 12, 4, 10, 0, 0)
	day := func(track string, first, last int64, rnd bool) TrackDay {
		return TrackDay{Site: site.Site, Day: "2026-12-04", Track: track, First: first, Last: last, Fixes: 2, FP: "aaaa0001", Rand: rnd}
	}
	// The street is heard from 9:00 to 11:00 (a phone of another model
	// at each end), and no other track of the model ends then: nothing
	// begins near an end of the model by chance.
	other := []TrackDay{
		{Site: site.Site, Day: "2026-12-04", Track: "o1", First: h10 - 3600_000, Last: h10 - 3590_000, FP: "bbbb0002", Rand: true},
		{Site: site.Site, Day: "2026-12-04", Track: "o2", First: h10 + 3590_000, Last: h10 + 3600_000, FP: "bbbb0002", Rand: true},
	}
	with := func(ds ...TrackDay) []TrackDay { return append(slices.Clone(other), ds...) }
	// Not randomised: two tracks 20 s apart stay two passers-by.
	rep := Build(site, from, to, with(day("a", h10, h10+10_000, false), day("b", h10+30_000, h10+40_000, false)), nil, nil, History{})
	if rep.Totals.Passersby != 4 || rep.Totals.PassersbyEst != 4 {
		t.Errorf("not randomised: %d passers-by, estimate %v", rep.Totals.Passersby, rep.Totals.PassersbyEst)
	}
	// Randomised: the second is the first's continuation, and joined
	// into it (joinStreet).
	rep = Build(site, from, to, with(day("a", h10, h10+10_000, true), day("b", h10+30_000, h10+40_000, true)), nil, nil, History{})
	if rep.Totals.Passersby != 3 || rep.Totals.PassersbyEst != 3 || *rep.Totals.CaptureRateEst != 0 {
		t.Errorf("randomised: %d passers-by, estimate %v", rep.Totals.Passersby, rep.Totals.PassersbyEst)
	}
	h := hourIndex(append(Hours(from, to, site.Location()), to), h10)
	if hr := rep.Hours[h]; hr.Passersby != 2 || hr.PassersbyEst != 2 { // a (with b) and o2
		t.Errorf("10:00: %d passers-by, estimate %v", hr.Passersby, hr.PassersbyEst)
	}
	// The approach: a passer-by, then a visitor of its model 30 s later;
	// the passer-by is joined into the visitor.
	visit := Visit{Site: site.Site, Track: "v", Zone: "store", Start: h10 + 40_000, End: h10 + 640_000, Fixes: 20}
	rep = Build(site, from, to, with(day("a", h10, h10+10_000, true), day("v", h10+40_000, h10+640_000, true)),
		[]Visit{visit}, nil, History{})
	if rep.Totals.Passersby != 2 || rep.Totals.Visitors != 1 || rep.Totals.PassersbyEst != 2 || *rep.Totals.CaptureRateEst != 0.3333 ||
		*rep.Totals.CaptureRate != 0.3333 {
		t.Errorf("approach: %+v", rep.Totals)
	}
	// Staff neither continue nor are continued.
	rep = Build(site, from, to, with(day("s", h10-8*3600_000, h10, true), day("b", h10+30_000, h10+40_000, true)), nil, nil, History{})
	if rep.Totals.Staff != 1 || rep.Totals.Passersby != 3 || rep.Totals.PassersbyEst != 3 {
		t.Errorf("staff: %+v", rep.Totals)
	}
}

func TestContinued(t *testing.T) {
	for _, c := range []struct{ n, near, sumP, want float64 }{
		{0, 0, 0, 0},
		{10, 0, 0, 0},
		{10, 5, 0, 0.5},     // nothing begins near an end by chance
		{10, 5, 5, 0},       // all of them by chance
		{10, 3, 5, 0},       // fewer than chance: none
		{100, 40, 20, 0.25}, // (40 − 20) / (100 − 20)
		{10, 5, 10, 0},
	} {
		if got := continued(c.n, c.near, c.sumP); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("continued(%v, %v, %v) = %v, want %v", c.n, c.near, c.sumP, got, c.want)
		}
	}
}

// Visits of random length probed at a random interval and phase: the
// contract's dwell (first to last fix) is short by about one interval; the
// estimate is not.
func TestDwellEstimate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var short, est float64
	n := 0
	for range 20000 {
		dwell := 60 + 1140*rng.Float64()
		every := 15 + 75*rng.Float64()
		first := every * rng.Float64()
		if first > dwell {
			continue // no fix in the store
		}
		fixes := 1 + int((dwell-first)/every)
		seen := float64(fixes-1) * every
		short += seen - dwell
		est += dwellEstimate(seen, fixes) - dwell
		n++
	}
	short, est = short/float64(n), est/float64(n)
	t.Logf("%d visits: first to last fix %+.1f s, estimate %+.1f s on average", n, short, est)
	if short > -40 || math.Abs(est) > 3 {
		t.Errorf("first to last fix %+.1f s, estimate %+.1f s", short, est)
	}
	if dwellEstimate(0, 1) != 0 || dwellEstimate(100, 3) != 150 {
		t.Error("dwellEstimate(0, 1), (100, 3):", dwellEstimate(0, 1), dwellEstimate(100, 3))
	}

	// Through the report: a visitor of 5 fixes over 400 s stayed about 500 s.
	site := loadSite(t)
	h10 := at(2026, 12, 4, 10, 0, 0)
	v := Visit{Site: site.Site, Track: "v", Zone: "store", Start: h10, End: h10 + 400_000, Fixes: 5}
	d := TrackDay{Site: site.Site, Day: "2026-12-04", Track: "v", First: h10, Last: h10 + 400_000, Fixes: 5}
	tot := Build(site, at(2026, 12, 4, 0, 0, 0), at(2026, 12, 5, 0, 0, 0), []TrackDay{d}, []Visit{v}, nil, History{}).Totals
	if *tot.DwellMedianS != 400 || tot.DwellMedianEstS == nil || *tot.DwellMedianEstS != 500 {
		t.Errorf("dwell %v, estimated %v", *tot.DwellMedianS, tot.DwellMedianEstS)
	}
}

// Two weeks of visitors, a pool of regulars among one-off shoppers; three
// phones in ten keep their address, the rest take a new one every day. The
// contract's returning counts only the first kind; the estimate scales
// their share to all visitors.
func TestReturningEstimate(t *testing.T) {
	site := loadSite(t)
	rng := rand.New(rand.NewPCG(5, 6))
	type person struct {
		id      int
		keeps   bool
		regular bool
		last    int // the last day visited, -1 none
	}
	var pool []*person
	for i := range 400 {
		pool = append(pool, &person{id: i, keeps: rng.IntN(10) < 3, regular: i < 120, last: -1})
	}
	var days []TrackDay
	var visits []Visit
	trueReturning, visitors := 0, 0
	for d := range 14 {
		date := time.Date(2026, 11, 1+d, 0, 0, 0, 0, berlin)
		open := date.Add(9 * time.Hour).UnixMilli()
		for _, p := range pool {
			// Regulars come on 60% of days, the others on 5%.
			if p.regular && rng.Float64() >= 0.6 || !p.regular && rng.Float64() >= 0.05 {
				continue
			}
			visitors++
			if p.last >= 0 && d-p.last <= 30 {
				trueReturning++
			}
			p.last = d
			track := fmt.Sprintf("k%d", p.id)
			if !p.keeps {
				track = fmt.Sprintf("k%d-day%d", p.id, d) // a new address every day
			}
			start := open + rng.Int64N(10*3600_000)
			days = append(days, TrackDay{Site: site.Site, Day: date.Format(time.DateOnly), Track: track, First: start, Last: start + 600_000,
				Fixes: 20, FP: "0a0b0c0d", Rand: !p.keeps})
			visits = append(visits, Visit{Site: site.Site, Track: track, Zone: "store", Start: start, End: start + 600_000, Fixes: 20})
		}
	}
	rep := Build(site, at(2026, 11, 1, 0, 0, 0), at(2026, 11, 15, 0, 0, 0), days, visits, nil, History{})
	tot := rep.Totals
	t.Logf("%d visitors, %d truly returning; counted returning %d, estimated %v", visitors, trueReturning, tot.Returning, *tot.ReturningEst)
	if tot.Visitors != visitors || tot.Returning >= trueReturning/2 {
		t.Fatalf("%d visitors, %d returning counted (truth %d)", tot.Visitors, tot.Returning, trueReturning)
	}
	if e := *tot.ReturningEst/float64(trueReturning) - 1; math.Abs(e) > 0.15 {
		t.Errorf("returning estimated %v, truth %d (%+.0f%%)", *tot.ReturningEst, trueReturning, 100*e)
	}
	// Per day the same, and nothing to scale from gives null.
	var sum float64
	for _, d := range rep.Days {
		if d.ReturningEst != nil {
			sum += *d.ReturningEst
		}
	}
	if math.Abs(sum-*tot.ReturningEst) > 0.25*float64(trueReturning) {
		t.Errorf("days sum to %v, totals %v", sum, *tot.ReturningEst)
	}
	if rep := Build(site, at(2026, 11, 1, 0, 0, 0), at(2026, 11, 2, 0, 0, 0), nil, nil, nil, History{}); rep.Totals.ReturningEst != nil {
		t.Errorf("no visitors: returning estimated %v", *rep.Totals.ReturningEst)
	}
}

// TestVisitEstimateDoorToDoor: phones whose probes come at irregular
// intervals (each 15 to 90 s, uniform) at a random phase. The door lies
// in the gap between the fixes either side of it, a gap longer than the
// phone's mean interval (a long gap is likelier to hold the door), so
// half the visit's mean interval at either end (dwellEstimate) falls
// short; the midpoint of that gap does not. Then the counter: it keeps
// the fixes beside the door, and a fix inside the outline that the entry
// rule held out is where the visit's door-to-door start is measured from.
func TestVisitEstimateDoorToDoor(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var byMean, byDoor float64
	n := 0
	for range 20000 {
		dwell := 60 + 1140*rng.Float64()
		// Probe times from well before the door (at 0) to well after.
		var probes []float64
		for x := -300 + 90*rng.Float64(); x < dwell+300; x += 15 + 75*rng.Float64() {
			probes = append(probes, x)
		}
		var v Visit
		for _, x := range probes {
			ms := int64(1_000_000 + x*1000)
			switch {
			case x < 0:
				v.Before = ms
			case x <= dwell:
				if v.Fixes == 0 {
					v.Start, v.Enter = ms, ms
				}
				v.End = ms
				v.Fixes++
			case v.After == 0:
				v.After = ms
			}
		}
		if v.Fixes < 2 {
			continue
		}
		byMean += dwellEstimate(v.Dwell(), v.Fixes) - dwell
		byDoor += visitEstimate(&v) - dwell
		n++
	}
	byMean, byDoor = byMean/float64(n), byDoor/float64(n)
	t.Logf("%d visits: half the mean interval at each end %+.1f s, the door's gaps %+.1f s on average", n, byMean, byDoor)
	if byMean > -3 || math.Abs(byDoor) > 1.5 {
		t.Errorf("half the mean interval %+.1f s, the door's gaps %+.1f s", byMean, byDoor)
	}
	// No fix beside the door, or one too long before: half the mean interval.
	v := Visit{Start: 100_000, End: 400_000, Fixes: 5}
	if got := visitEstimate(&v); got != 375 {
		t.Errorf("no door fixes: %v, want 375", got)
	}
	v.Before, v.After = 100_000-doorGap-1, 400_000+20_000
	if got := visitEstimate(&v); got != 300+37.5+10 {
		t.Errorf("a fix 2 min before, one 20 s after: %v, want 347.5", got)
	}

	// The counter: out on the street, inside the outline but held out
	// (the store's side 0.3), in, and out again.
	site := loadSite(t)
	c := NewCounter(site, zones.NewPlan(site))
	h10 := at(2026, 12, 4, 10, 0, 0)
	add := func(s int64, x, y, pin float64) {
		c.Add(wire.Position{T: h10 + s*1000, Track: "a", X: x, Y: y, Err: 1, PStore: pin})
	}
	add(0, 15, -5, 0.05) // on the street
	add(30, 15, 4, 0.3)  // in the outline, held out
	add(60, 15, 8, 0.9)  // in: the visit starts
	add(120, 20, 10, 0.95)
	add(180, 15, 3, 0.9)
	add(210, 15, -5, 0.1) // out
	c.Flush()
	var got Visit
	for _, v := range c.Visits() {
		if v.Zone == "store" {
			got = v
		}
	}
	want := Visit{Site: "demo", Track: "a", Zone: "store", Start: h10 + 60_000, End: h10 + 180_000, Fixes: 3,
		Before: h10, Enter: h10 + 30_000, After: h10 + 210_000}
	if got != want {
		t.Fatalf("visit\n got %+v\nwant %+v", got, want)
	}
	if e := visitEstimate(&got); e != 180 { // 15 s to 195 s
		t.Errorf("door to door %v s, want 180", e)
	}
}

// dwellEstimate, the door-to-door estimate before the door's own fixes
// were kept (visitEstimate without them, as a function of the dwell),
// returns the estimated time in the store of a visit whose
// first and last fix in the store lie dwell seconds apart, over fixes
// fixes. The contract's dwell runs from the first fix to the last, but a
// phone probes only every so often: it came in some time before its
// first fix and left some time after its last. With fixes taken every Δ
// at a phase unrelated to the door, each of these is Δ/2 on average, so
// the visit lasted about (n − 1)Δ + Δ = nΔ, with Δ measured as the
// visit's own mean interval, dwell / (n − 1):
//
//	dwell_est = dwell · n / (n − 1)
//
// A visit of one fix has no interval to measure and keeps its dwell.
func dwellEstimate(dwell float64, fixes int) float64 {
	if fixes < 2 {
		return dwell
	}
	return dwell * float64(fixes) / float64(fixes-1)
}
