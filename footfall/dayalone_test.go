package footfall

import (
	"encoding/json"
	"testing"

	"github.com/passant/passant/wire"
)

// TestDayCountsNeedNoHistory: a day's visitors, staff, dwell and visits
// are the same from its own summaries as from a month of them: only new
// and returning visitors need the days before, and the passers-by may
// differ by one (joinStreet carries its rounding from one model-day to the
// next). The chain's comparison with a week before (server.Counts) relies
// on it to read one day instead of a month.
func TestDayCountsNeedNoHistory(t *testing.T) {
	site := loadSite(t)
	days, visits := syntheticMonth(21, 300, 1000)
	for _, d := range []int{10, 20} {
		from := at(2026, 11, 1+d, 0, 0, 0)
		to := at(2026, 11, 2+d, 0, 0, 0)
		var allD, ownD []TrackDay
		for _, x := range days {
			if x.First < to {
				allD = append(allD, x)
				if x.First >= from {
					ownD = append(ownD, x)
				}
			}
		}
		var allV, ownV []Visit
		for _, v := range visits {
			if v.Start < to {
				allV = append(allV, v)
				if v.Start >= from-24*3600_000 {
					ownV = append(ownV, v)
				}
			}
		}
		full := Build(site, from, to, allD, allV, nil, History{})
		own := Build(site, from, to, ownD, ownV, nil, History{})
		if full.Totals.Returning == 0 {
			t.Fatalf("day %d: no returning visitors in the month's report: the test shows nothing", d)
		}
		if p, q := full.Totals.Passersby, own.Totals.Passersby; p < q-1 || p > q+1 {
			t.Errorf("day %d: %d passers-by from a month, %d from the day", d, p, q)
		}
		for _, r := range []*wire.Totals{&full.Totals, &own.Totals} {
			r.New, r.Returning, r.ReturningEst = 0, 0, nil
			r.Passersby, r.Estimate, r.CaptureRate = 0, wire.Estimate{}, nil
		}
		a, _ := json.Marshal(full.Totals)
		b, _ := json.Marshal(own.Totals)
		if string(a) != string(b) {
			t.Errorf("day %d: from a month %s\nfrom the day %s", d, a, b)
		}
		for i, h := range full.Hours {
			if o := own.Hours[i]; h.Visitors != o.Visitors || h.Staff != o.Staff {
				t.Errorf("day %d hour %d: %d visitors, %d staff from a month; %d, %d from the day", d, i, h.Visitors, h.Staff, o.Visitors, o.Staff)
			}
		}
	}
}
