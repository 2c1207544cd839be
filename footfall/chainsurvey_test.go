package footfall

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// chainLine is one staff chain of a classification, for the diagnoses.
type chainLine struct {
	day         int32
	fp          string
	first, last int64
	pieces      []*trackDay
	counts      bool // counts a staff member
	beside      bool // begins before an earlier chain of the fingerprint ended
}

// hourCovered is the share of the chain's span that its pieces of an hour
// or more cover (what sideBySide asks).
func (c *chainLine) hourCovered() float64 {
	var long []*trackDay
	for _, p := range c.pieces {
		if p.last-p.first >= hourPieceMs {
			long = append(long, p)
		}
	}
	var u int64
	for _, s := range union(long) {
		u += s.last - s.first
	}
	return float64(u) / float64(c.last-c.first)
}

// chainLines returns the staff chains of classified track-days, by day,
// fingerprint and first detection.
func chainLines(tds []trackDay) []*chainLine {
	chains := map[int]*chainLine{}
	for i := range tds {
		td := &tds[i]
		if td.chain == 0 {
			continue
		}
		c := chains[td.chain]
		if c == nil {
			c = &chainLine{fp: td.fp, day: td.day, first: td.first, last: td.last}
			chains[td.chain] = c
		}
		c.pieces = append(c.pieces, td)
		c.first, c.last = min(c.first, td.first), max(c.last, td.last)
		c.counts = c.counts || !td.chainPart
	}
	var cs []*chainLine
	for _, c := range chains {
		slices.SortFunc(c.pieces, func(a, b *trackDay) int { return cmp.Compare(a.first, b.first) })
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *chainLine) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.fp, b.fp), cmp.Compare(a.first, b.first))
	})
	var end int64
	for i, c := range cs {
		if i == 0 || c.day != cs[i-1].day || c.fp != cs[i-1].fp {
			end = -1 << 62
		}
		c.beside = c.first < end
		end = max(end, c.last)
	}
	return cs
}

// ChainSurvey prints the staff chains of the summaries' classification:
// each one's span, whether it counts and lies beside an earlier one, the
// share its hour-long pieces cover, and its pieces (minutes, with label's
// words on each track).
func ChainSurvey(site *wire.Site, days []TrackDay, visits []Visit, label func(track string) string) []string {
	tds, _ := classify(site, days, visits)
	loc := site.Location()
	hm := func(t int64) string { return time.UnixMilli(t).In(loc).Format("15:04") }
	var out []string
	for _, c := range chainLines(tds) {
		var ms []string
		for _, p := range c.pieces {
			ms = append(ms, fmt.Sprintf("%.0f%s", float64(p.last-p.first)/60000, label(p.track)))
		}
		out = append(out, fmt.Sprintf("chain %s fp %s %s-%s %.1f h counts %v beside %v hour-long pieces cover %.2f, %d pieces: %v",
			dayString(c.day), c.fp, hm(c.first), hm(c.last), float64(c.last-c.first)/3600e3, c.counts, c.beside, c.hourCovered(), len(c.pieces), ms))
	}
	return out
}

// On BenchmarkBuildMonth's busy month (3000 shoppers a day of 8 models,
// lognormal stays with a median of 7 minutes) one model's shoppers follow
// each other all day and make chains beside the first: none of them is
// covered by hour-long pieces as a second staff phone is (sideBySide), so
// none counts as one. (A second round's chain of tracks the first round
// left counts, as before: counted here with the rest.)
func TestStaffChainsBusyMonth(t *testing.T) {
	if testing.Short() {
		t.Skip("a month of a busy shop: not in -short")
	}
	site := loadSite(t)
	days, visits := syntheticMonth(30, 3000, 10000)
	tds, _ := classify(site, days, visits)
	var beside, counted int
	var most float64
	for _, c := range chainLines(tds) {
		if !c.beside {
			continue
		}
		beside++
		most = max(most, c.hourCovered())
		if c.counts {
			counted++
		}
	}
	t.Logf("%d chains beside another, their hour-long pieces cover at most %.2f", beside, most)
	t.Logf("%d of them count (second rounds' chains apart)", counted)
	if beside == 0 || most >= hourCover {
		t.Errorf("%d chains beside another, hour-long pieces cover at most %.2f; want some, under %.2f", beside, most, hourCover)
	}
}
