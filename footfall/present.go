package footfall

import (
	"cmp"
	"slices"
	"time"

	"github.com/passant/passant/wire"
)

// StaffTracks returns the tracks that the summaries make staff on some day
// (the contract's staff: seen for longer than staff_min_dwell_s, or a piece
// of a staff chain). Given to Counter.KnownStaff from earlier days, it
// keeps a device that keeps its address (a staff phone, a printer, a
// neighbour's TV) out of the live count from its first fix of the day
// rather than after staff_min_dwell_s.
func StaffTracks(site *wire.Site, days []TrackDay, visits []Visit) map[string]bool {
	out := map[string]bool{}
	for track := range StaffDays(site, days, visits) {
		out[track] = true
	}
	return out
}

// StaffDays returns, for each track the summaries make staff on some day,
// those local days (YYYY-MM-DD, in order): the day's classification, which
// the heatmap leaves out of the people's occupancy.
func StaffDays(site *wire.Site, days []TrackDay, visits []Visit) map[string][]string {
	tds, _ := classify(site, days, visits)
	out := map[string][]string{}
	for i := range tds {
		if tds[i].class == Staff {
			out[tds[i].track] = append(out[tds[i].track], dayString(tds[i].day))
		}
	}
	for _, ds := range out {
		slices.Sort(ds)
	}
	return out
}

// StaffOn tells whether a track was staff at a time: by its local day's
// classification (StaffDays) and, on one day, by being known as staff from
// the days before (as Counter.KnownStaff). Not safe for concurrent use (it
// caches the latest local day).
type StaffOn struct {
	loc      *time.Location
	days     map[string][]string
	known    map[string]bool
	knownDay string
	from, to int64 // the local day cached
	day      string
}

// NewStaffOn returns who was staff by days (StaffDays) and, on knownDay
// (YYYY-MM-DD), the known tracks too.
func NewStaffOn(loc *time.Location, days map[string][]string, known map[string]bool, knownDay string) *StaffOn {
	return &StaffOn{loc: loc, days: days, known: known, knownDay: knownDay, from: 1, to: 0}
}

// Is reports whether track was staff at t (Unix ms).
func (s *StaffOn) Is(track string, t int64) bool {
	ds, k := s.days[track], s.known[track]
	if ds == nil && !k {
		return false
	}
	if t < s.from || t >= s.to {
		lt := time.UnixMilli(t).In(s.loc)
		y, m, d := lt.Date()
		s.from = time.Date(y, m, d, 0, 0, 0, 0, s.loc).UnixMilli()
		s.to = time.Date(y, m, d+1, 0, 0, 0, 0, s.loc).UnixMilli()
		s.day = lt.Format(time.DateOnly)
	}
	return k && s.day == s.knownDay || slices.Contains(ds, s.day)
}

// KnownStaff sets the tracks known as staff from earlier days
// (StaffTracks): Present does not count them.
func (c *Counter) KnownStaff(tracks map[string]bool) { c.knownStaff = tracks }

// PresentWithin is the silence after which a phone no longer counts as in
// the store now (Present), measured on the simulated shops against their
// truth (TestLiveOccupancy; docs/footfall.md, "2026-12-05 night: who is in
// the store now").
const PresentWithin = 90_000

// StreetWithin is the silence after which a phone whose latest fix lies on
// the street no longer counts as walking by now (the live map's street
// count), measured like PresentWithin: a passer-by crosses the sensors'
// hearing in a minute or so.
const StreetWithin = 60_000

// Present returns the live occupancy at now, per store and area zone: the
// non-staff tracks (nor known as staff from earlier days: KnownStaff) with a visit in the store (not a provisional one) whose
// latest fix, at most within ms before now, left them in the store by the
// hysteresis (zones.Presence), in the area that fix put them in. Occupancy
// counts a visit until visit_gap_s has passed without a fix in the store
// (the contract's visit, which may go on); Present drops a shopper at the
// first fix confidently outside, or when the phone has been silent for
// within: who is in the store now, as the live map shows it.
func (c *Counter) Present(now, within int64) map[string]int {
	occ := c.zeroOccupancy()
	for _, ts := range c.present(now, within) {
		occ[c.storeID]++
		if ts.pres.Area != "" {
			occ[ts.pres.Area]++
		}
	}
	return occ
}

// present returns the tracks Present counts.
func (c *Counter) present(now, within int64) []*trackState {
	in := make([]*trackState, 0, len(c.open))
	for _, ts := range c.open {
		if ts.weak || !ts.pres.InStore || now-ts.lastFix > within ||
			ts.hasDay && ts.day.Last-ts.day.First > c.staff || c.knownStaff[ts.store.Track] {
			continue
		}
		in = append(in, ts)
	}
	return supersede(in, now)
}

// supersedeAfter is the silence after which a randomising phone's track
// in the store is taken for the earlier address of a track of its model
// (fingerprint) whose visit began after its last fix (Present).
var supersedeAfter int64 = 20_000

// supersede returns in without the tracks another has likely taken over:
// a randomising phone that took a new address in the store which linking
// did not join to its track shows as two tracks of one model, the old one
// silent since the new one began. Each newer track (in order of its visit's
// start) takes over the silent track of its model with the latest last fix
// before its start, one for one.
func supersede(in []*trackState, now int64) []*trackState {
	if supersedeAfter <= 0 {
		return in
	}
	// By model, then in order of the visits' starts: a track gives way
	// only to a later one of its own model.
	slices.SortFunc(in, func(a, b *trackState) int {
		return cmp.Or(cmp.Compare(a.day.FP, b.day.FP), cmp.Compare(a.store.Start, b.store.Start),
			cmp.Compare(a.store.Track, b.store.Track))
	})
	gone := make([]bool, len(in))
	for lo := 0; lo < len(in); {
		hi := lo + 1
		for hi < len(in) && in[hi].day.FP == in[lo].day.FP {
			hi++
		}
		for j := lo; j < hi; j++ {
			b := in[j]
			if !b.day.Rand {
				continue
			}
			best := -1
			for i := lo; i < j; i++ {
				a := in[i]
				if gone[i] || !a.day.Rand || a.lastFix >= b.store.Start || now-a.lastFix <= supersedeAfter {
					continue
				}
				if best < 0 || a.lastFix > in[best].lastFix {
					best = i
				}
			}
			if best >= 0 {
				gone[best] = true
			}
		}
		lo = hi
	}
	out := in[:0]
	for i, ts := range in {
		if !gone[i] {
			out = append(out, ts)
		}
	}
	return out
}
