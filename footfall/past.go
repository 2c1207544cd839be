package footfall

import (
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/passant/passant/wire"
)

// Past is what the summaries before a local midnight bring to a report
// that begins there or later: a report reads a month of history that none
// of its figures counts, for what carries across local days. Build's only
// links between days are these four:
//
//   - new versus returning and the loyalty buckets: the days on which each
//     track was a visitor;
//   - the street joins (joinStreet): the expected joins not yet made, which
//     carry from one model-day to the next;
//   - the handoffs (markHandoffs): per fingerprint, the latest ends of the
//     store visits begun so far;
//   - occupancy, zones and paths: the visits begun before that reach past
//     the midnight, unless their track-day was staff.
//
// Everything else (classification, staff chains, the passers-by estimate's
// model-days) is of one local day. So BuildAfter with a Past of the
// summaries before a midnight and the summaries from it on gives what
// Build gives with all of them (TestBuildAfterIsBuild), and a server can
// keep the Past of the days that no longer change instead of reading and
// classifying them for every report.
type Past struct {
	day     int32 // civil day number of the midnight: the track-days of earlier days are in
	start   int64 // the midnight, Unix ms
	carry   float64
	doors   map[string]doorState
	visitor map[string][]int32
	reach   []Visit
	// split is false when a track day before the midnight is dated on or
	// after it (or, in BuildAfter, one after it before it): stored under
	// another time zone of the site, so that the days do not split there.
	split bool
}

// NewPast condenses the summaries before the local midnight at (Unix ms;
// at must be one): the track days whose first detection lies before it
// and the visits that start before it, with the history window a report
// from at on reads (a report of [from, to) reads track days from
// from − (history_days + 1) days and visits from a day before that).
func NewPast(site *wire.Site, at int64, days []TrackDay, visits []Visit) *Past {
	loc := site.Location()
	lt := time.UnixMilli(at).In(loc)
	y, m, d := lt.Date()
	if start := time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMilli(); start != at {
		panic(fmt.Sprintf("footfall: NewPast at %d, not a local midnight (%d)", at, start))
	}
	p := &Past{day: civil(y, m, d), start: at, doors: map[string]doorState{}, visitor: map[string][]int32{}, split: true}
	tds, idx := classifyAfter(site, days, visits, p.doors)
	for i := range tds {
		p.split = p.split && tds[i].day < p.day && tds[i].first < at
	}
	_, stats := passerWeights(tds)
	joinStreetAfter(tds, stats, staffMillis(site), &p.carry)
	for i := range tds {
		if tds[i].class == Visitor {
			ds := p.visitor[tds[i].track]
			if j, found := slices.BinarySearch(ds, tds[i].day); !found {
				p.visitor[tds[i].track] = slices.Insert(ds, j, tds[i].day)
			}
		}
	}
	for _, v := range visits {
		if v.Start >= at || v.End < at {
			continue
		}
		if j, ok := idx[tdKey{v.Track, localDayNumber(v.Start, loc)}]; ok && tds[j].class == Staff {
			continue
		}
		p.reach = append(p.reach, v)
	}
	return p
}

// Start returns the midnight the past ends at, Unix ms.
func (p *Past) Start() int64 { return p.start }

// Size returns about how many bytes the past holds.
func (p *Past) Size() int {
	n := int(unsafe.Sizeof(*p)) + len(p.reach)*int(unsafe.Sizeof(Visit{}))
	for _, v := range p.reach {
		n += len(v.Track)
	}
	for fp := range p.doors {
		n += 64 + len(fp)
	}
	for t, ds := range p.visitor {
		n += 48 + len(t) + 4*cap(ds)
	}
	return n
}

// BuildAfter is Build of [from, to) with past standing for the summaries
// before its midnight (which must not lie after from): days and visits
// are the summaries from that midnight on (visits that start before it
// are left out: past has those that matter). It returns false when the
// summaries do not split at the midnight (track days dated by another
// time zone of the site: see Past.split); the caller then builds from all
// of them. BuildAfter does not change past: one Past serves any number of
// reports at once.
func BuildAfter(site *wire.Site, from, to int64, past *Past, days []TrackDay, visits []Visit, txns []Transaction) (wire.Report, bool) {
	if from < past.start {
		panic(fmt.Sprintf("footfall: BuildAfter from %d, before the past's end %d", from, past.start))
	}
	if !past.split {
		return wire.Report{}, false
	}
	rep, _ := build(site, from, to, days, visits, txns, History{}, past, false)
	return rep, rep.Site != "" // build's empty report: days not split

}

// withReach returns the past's visits that reach past its midnight,
// followed by those of visits that start from it on (in their order).
func (p *Past) withReach(visits []Visit) []Visit {
	i, _ := slices.BinarySearchFunc(visits, p.start, func(v Visit, t int64) int {
		switch {
		case v.Start < t:
			return -1
		case v.Start > t:
			return 1
		}
		return 0
	})
	if slices.ContainsFunc(visits[i:], func(v Visit) bool { return v.Start < p.start }) {
		// Not ordered by start: keep those from the midnight on, in order.
		visits = slices.DeleteFunc(slices.Clone(visits), func(v Visit) bool { return v.Start < p.start })
		i = 0
	}
	out := make([]Visit, 0, len(p.reach)+len(visits)-i)
	out = append(out, p.reach...)
	return append(out, visits[i:]...)
}

// own returns visits without the past's (withReach's first ones).
func (p *Past) own(visits []Visit) []Visit {
	if p == nil {
		return visits
	}
	return visits[len(p.reach):]
}

// reaches reports whether v is one of the past's visits.
func (p *Past) reaches(v *Visit) bool {
	return p != nil && v.Start < p.start
}
