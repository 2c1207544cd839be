package footfall

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Which track-days the door-to-door estimate leaves out: one that begins
// in the store (no fix outside before) while another track of its
// randomised model is there or left less than doorGap ago.
func TestMarkHandoffs(t *testing.T) {
	site := loadSite(t)
	min := func(m int) int64 { return at(2026, 12, 4, 10, m, 0) }
	type tv struct {
		track, fp  string
		rand       bool
		start, end int64
		before     int64 // 0: no fix outside before
		want       bool
	}
	cases := []tv{
		{"a", "m1", true, min(0), min(10), min(0) - 20_000, false},              // came through the door
		{"b", "m1", true, min(5), min(8), 0, true},                              // begins inside while a is there
		{"c", "m1", true, min(30), min(40), 0, false},                           // a and b left 20 min before
		{"d", "m1", true, min(6), min(12), min(6) - 30_000, false},              // inside while a is there, but came through the door
		{"e", "m2", true, min(5), min(9), 0, false},                             // another model
		{"f", "m1", false, min(5), min(9), 0, false},                            // keeps its address
		{"g", "m1", true, min(13), min(20), 0, true},                            // d left 1 min before
		{"h", "m1", true, min(12) + 4*60_000 + 1, min(22), 0, true},             // g is there
		{"i", "m1", true, min(30) + 30_000, min(33), min(30) - 10*60_000, true}, // its fix outside 10 min before is no door
	}
	var days []TrackDay
	var visits []Visit
	for _, c := range cases {
		days = append(days, TrackDay{Site: site.Site, Day: "2026-12-04", Track: c.track, First: c.start - 60_000, Last: c.end + 60_000, Fixes: 10, FP: c.fp, Rand: c.rand})
		visits = append(visits, Visit{Site: site.Site, Track: c.track, Zone: "store", Start: c.start, End: c.end, Fixes: 8, Before: c.before, Enter: c.start})
	}
	tds, idx := classify(site, days, visits)
	for _, c := range cases {
		if got := tds[idx[tdKey{c.track, tds[0].day}]].handoff; got != c.want {
			t.Errorf("%s: handoff %v, want %v", c.track, got, c.want)
		}
	}
}

// Shoppers of one model that takes a new address every scan, 40 an hour,
// staying 2-20 minutes; three in five come in unheard (no fix outside
// before their first in the store). Without handoffs, leaving out the
// ones that come in unheard beside another phone of the model keeps the
// median where it was (within noise); when a third of the visits are
// split in the store, the second piece on a new track that begins there,
// the estimate's median is closer to the truth than with every piece
// counted (not right: the first pieces end short).
func TestHandoffsLeftOut(t *testing.T) {
	site := loadSite(t)
	// One busy model's shoppers follow each other all day: no staff
	// chains here (TestStaffChain).
	site.Footfall.StaffMinDwellS = 48 * 3600
	from, to := at(2026, 12, 4, 0, 0, 0), at(2026, 12, 5, 0, 0, 0)
	var neutral, withAll, withKept float64
	const seeds = 20
	for seed := range uint64(seeds) {
		rng := rand.New(rand.NewPCG(seed, 11))
		for _, split := range []bool{false, true} {
			var days []TrackDay
			var visits []Visit
			var truth []float64
			n := 0
			add := func(start, end int64, door, exit bool) {
				n++
				track := fmt.Sprintf("t%d", n)
				// fixes every 40 s, the first 20 s after the door
				v := Visit{Site: site.Site, Track: track, Zone: "store", Start: start + 20_000, End: end - 20_000, Enter: start + 20_000}
				v.Fixes = int((v.End-v.Start)/40_000) + 1
				v.End = v.Start + int64(v.Fixes-1)*40_000
				if door {
					v.Before = start - 20_000
				}
				if exit {
					v.After = 2*end - v.End // the door midway
				}
				visits = append(visits, v)
				days = append(days, TrackDay{Site: site.Site, Day: "2026-12-04", Track: track, First: start - 60_000, Last: end + 60_000, Fixes: v.Fixes + 2, FP: "iphone", Rand: true})
			}
			t0 := at(2026, 12, 4, 9, 0, 0)
			for {
				t0 += int64(rng.ExpFloat64() / 40 * 3600_000)
				if t0 > at(2026, 12, 4, 20, 0, 0) {
					break
				}
				d := int64(120_000 + rng.IntN(18*60_000))
				truth = append(truth, float64(d)/1000)
				door := rng.Float64() < 0.4
				if split && rng.Float64() < 1.0/3 {
					cut := t0 + 60_000 + rng.Int64N(d-60_000)
					add(t0, cut, door, false)
					add(cut+40_000, t0+d, false, true)
					continue
				}
				add(t0, t0+d, door, true)
			}
			est := Build(site, from, to, days, visits, nil, History{}).Totals.Estimate.DwellMedianEstS
			tds, _ := classify(site, days, visits)
			var all []float64
			for _, td := range tds {
				if td.class == Visitor {
					all = append(all, td.dwellEst)
				}
			}
			tm := median(truth)
			if !split {
				neutral += (*est - *tm) / *tm
				continue
			}
			withAll += (*median(all) - *tm) / *tm
			withKept += (*est - *tm) / *tm
		}
	}
	neutral, withAll, withKept = neutral/seeds, withAll/seeds, withKept/seeds
	t.Logf("median's relative error: no handoffs %+.3f; a third split: every piece %+.3f, handoffs left out %+.3f", neutral, withAll, withKept)
	if neutral < -0.02 || neutral > 0.02 {
		t.Errorf("without handoffs the median is off by %+.1f%%", 100*neutral)
	}
	// The first pieces of the split visits stay (they came through the
	// door, and end short): closer, not right.
	if !(withKept > withAll+0.03) || withKept > 0 {
		t.Errorf("with handoffs: every piece %+.3f, handoffs left out %+.3f", withAll, withKept)
	}
}
