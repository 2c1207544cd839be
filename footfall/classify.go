package footfall

import (
	"time"

	"github.com/passant/passant/wire"
)

// Class is what a track was on one local day.
type Class int

// The classes of the contract's footfall definitions.
const (
	Passerby Class = iota // seen, neither visitor nor staff
	Visitor               // at least one store visit that is not a bounce
	Staff                 // last minus first detection that day exceeds staff_min_dwell_s
)

func (c Class) String() string {
	return [...]string{"passerby", "visitor", "staff"}[c]
}

// trackDay is one track on one local day, with what its visits tell.
type trackDay struct {
	track       string
	day         int32 // civil day number of the local date (days since 1970-01-01)
	first, last int64
	visits      int     // store visits starting that day
	bounces     int     // of them, shorter than visitor_min_dwell_s
	dwell       float64 // seconds in the store over the visits that are not bounces
	dwellEst    float64 // the same, each visit's dwellEstimate
	class       Class
	fp          string // TrackDay.FP
	rand        bool   // TrackDay.Rand
}

type tdKey struct {
	track string
	day   int32
}

// dayNumber returns the civil day number of a YYYY-MM-DD date, or false.
func dayNumber(s string) (int32, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	num := func(b string) (int, bool) {
		n := 0
		for _, c := range []byte(b) {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(s[:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, false
	}
	return civil(y, time.Month(m), d), true
}

func civil(y int, m time.Month, d int) int32 {
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dayString(n int32) string {
	return time.Unix(int64(n)*86400, 0).UTC().Format(time.DateOnly)
}

// localDayNumber returns the civil day number of the local date of t.
func localDayNumber(t int64, loc *time.Location) int32 {
	y, m, d := time.UnixMilli(t).In(loc).Date()
	return civil(y, m, d)
}

// storeZone returns the id of the site's store zone, "" when none.
func storeZone(site *wire.Site) string {
	for _, z := range site.Zones {
		if z.Kind == wire.ZoneStore {
			return z.ID
		}
	}
	return ""
}

// classify groups the summaries by track and local day and classifies each
// track-day as the contract defines. Store visits count on the local day
// they start. A store visit of a track-day without a summary makes one from
// the visit's times.
func classify(site *wire.Site, days []TrackDay, visits []Visit) ([]trackDay, map[tdKey]int) {
	loc := site.Location()
	ff := site.Footfall
	minDwell := ff.VisitorMinDwellS
	if minDwell < 0 {
		minDwell = wire.DefaultVisitorDwell
	}
	staffMs := int64(or(ff.StaffMinDwellS, wire.DefaultStaffDwell) * 1000)
	store := storeZone(site)

	tds := make([]trackDay, 0, len(days))
	idx := make(map[tdKey]int, len(days))
	dayCache := map[string]int32{}
	for i := range days {
		d := &days[i]
		dn, ok := dayCache[d.Day]
		if !ok {
			if dn, ok = dayNumber(d.Day); !ok {
				dn = localDayNumber(d.First, loc)
			}
			dayCache[d.Day] = dn
		}
		k := tdKey{d.Track, dn}
		if j, ok := idx[k]; ok {
			if d.First < tds[j].first && (d.FP != "" || d.Rand) {
				tds[j].fp, tds[j].rand = d.FP, d.Rand // the first address's
			}
			tds[j].first = min(tds[j].first, d.First)
			tds[j].last = max(tds[j].last, d.Last)
			continue
		}
		idx[k] = len(tds)
		tds = append(tds, trackDay{track: d.Track, day: dn, first: d.First, last: d.Last, fp: d.FP, rand: d.Rand})
	}
	var lastDay int32
	var lastDayStart, lastDayEnd int64 = 1, 0
	for i := range visits {
		v := &visits[i]
		if v.Zone != store || store == "" {
			continue
		}
		if v.Start < lastDayStart || v.Start >= lastDayEnd {
			lt := time.UnixMilli(v.Start).In(loc)
			y, m, d := lt.Date()
			lastDay = civil(y, m, d)
			lastDayStart = time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMilli()
			lastDayEnd = time.Date(y, m, d+1, 0, 0, 0, 0, loc).UnixMilli()
		}
		k := tdKey{v.Track, lastDay}
		j, ok := idx[k]
		if !ok {
			j = len(tds)
			idx[k] = j
			tds = append(tds, trackDay{track: v.Track, day: lastDay, first: v.Start, last: v.End})
		}
		td := &tds[j]
		td.visits++
		if dw := v.Dwell(); dw < minDwell {
			td.bounces++
		} else {
			td.dwell += dw
			td.dwellEst += visitEstimate(v)
		}
	}
	for i := range tds {
		td := &tds[i]
		switch {
		case td.last-td.first > staffMs:
			td.class = Staff
		case td.visits > td.bounces:
			td.class = Visitor
		default:
			td.class = Passerby
		}
	}
	return tds, idx
}
