package footfall

import (
	"cmp"
	"slices"
	"time"

	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// Counter turns a stream of positions, in event-time order, into track-day
// summaries and visits. It is driven by event time only: the positions' own
// timestamps and the watermarks given to Advance, so a replay gives what the
// live server computed. A Counter is not safe for concurrent use.
//
// Which fixes are "in the store" is decided with the hysteresis of
// zones.Presence: a fix near the store's edge with a large err keeps the
// track's previous state. A store visit is then exactly the contract's: it
// starts at the first fix in the store and ends at the last one before a gap
// of at least visit_gap_s without one. Area visits use the same presence:
// an area visit ends when the track confidently leaves the area, leaves
// the store, or its store visit ends. Since fixes are snapshots 15 to 90 s
// apart, an area visit that begins or ends with a move inside the store
// begins or ends halfway between the fixes on either side of the move; a
// shopper seen once in an aisle, between fixes 40 s apart elsewhere in the
// store, spent about 40 s there, not 0. (Store visits keep the contract's
// first and last fix.)
type Counter struct {
	site    string
	plan    *zones.Plan
	loc     *time.Location
	storeID string
	gap     int64 // visit_gap_s in ms
	staff   int64 // staff_min_dwell_s in ms

	tracks  map[string]*trackState
	open    map[string]*trackState // tracks with an open store visit
	closed  []Visit
	oldDays []dayState // days a track has moved past
	now     int64      // watermark
	// knownStaff are tracks that were staff on earlier days (KnownStaff).
	knownStaff map[string]bool
	nextDue    int64 // earliest time an open visit may close
	flushed    bool

	// The local day of the latest position, cached.
	day              string
	dayStart, dayEnd int64
}

type trackState struct {
	pres    zones.Presence
	day     dayState
	hasDay  bool
	store   Visit // open store visit when Fixes > 0
	area    Visit // open area visit when Fixes > 0
	lastFix int64
	outT    int64 // last fix confidently out of the store
	candT   int64 // first fix inside the store's outline since outT, 0 when none
	// weak: the open store visit began on a fix whose store side was
	// under zones.SureEnterP and has not yet lasted provisionalMs; it and
	// its area visits (pend) count only once it has.
	weak bool
	pend []Visit
}

// provisionalMs is how long a store visit that began on a fix whose store
// side was under zones.SureEnterP must last to count: a stay at the window
// whose track grew sure of the store (docs/footfall.md, "2026-12-05
// evening: visitors").
const provisionalMs = 120_000

type dayState struct {
	TrackDay
	end int64 // the day's end, Unix ms
}

// NewCounter starts a counter for the site. The plan is usually
// zones.NewPlan(site).
func NewCounter(site *wire.Site, plan *zones.Plan) *Counter {
	ff := site.Footfall
	c := &Counter{
		site:     site.Site,
		plan:     plan,
		loc:      site.Location(),
		storeID:  plan.Store(),
		gap:      int64(or(ff.VisitGapS, wire.DefaultVisitGap) * 1000),
		staff:    int64(or(ff.StaffMinDwellS, wire.DefaultStaffDwell) * 1000),
		tracks:   map[string]*trackState{},
		open:     map[string]*trackState{},
		dayEnd:   -1 << 62,
		dayStart: 1 << 62,
	}
	c.nextDue = 1<<63 - 1
	return c
}

func or(v, def float64) float64 {
	if v > 0 {
		return v
	}
	return def
}

// Add counts one position. Positions come in event-time order (a late one
// is counted, but never shortens a visit or a day); p.Err is the
// fix's 1-sigma error per axis (0 when unknown: no hysteresis), p.PStore
// its store side's probability (0 when unknown; a fix needs at least
// zones.MinEnterP to bring a track into the store). A position
// without a track is ignored. Add also advances the watermark to p.T.
func (c *Counter) Add(p wire.Position) {
	if p.Track == "" {
		return
	}
	c.Advance(p.T)
	ts := c.tracks[p.Track]
	if ts == nil {
		ts = &trackState{}
		c.tracks[p.Track] = ts
	}
	ts.lastFix = p.T

	// The track's day.
	day, dayEnd := c.localDay(p.T)
	if ts.hasDay && ts.day.Day != day {
		c.oldDays = append(c.oldDays, ts.day)
		ts.hasDay = false
	}
	if !ts.hasDay {
		ts.day = dayState{TrackDay: TrackDay{Site: c.site, Day: day, Track: p.Track, First: p.T,
			FP: p.FP, Rand: p.Rand}, end: dayEnd}
		ts.hasDay = true
	}
	ts.day.First, ts.day.Last = min(ts.day.First, p.T), max(ts.day.Last, p.T)
	ts.day.Fixes++

	if c.storeID == "" {
		return
	}
	// Advance has closed this track's visit if its gap has passed.
	// The store's depth and margin as the step took them (c.storeID is
	// the plan's store).
	pres, d, m := ts.pres.StepStore(c.plan, p.X, p.Y, p.Err, p.PStore)
	if !pres.InStore {
		switch {
		case d < -m:
			ts.outT, ts.candT = p.T, 0
			if ts.store.Fixes > 0 && ts.store.After == 0 {
				ts.store.After = p.T
			}
		case d >= 0 && ts.candT == 0:
			ts.candT = p.T
		}
		c.closeArea(ts)
		return
	}
	if !zones.SureOfStore(p.PStore) {
		// In by the hysteresis, but the street about as likely: the
		// track stays in, and the fix is not one in the store.
		return
	}
	// A fix in the store: extend the open visit or start one.
	prev := int64(-1) // the previous fix in the store during this visit
	if ts.store.Fixes > 0 {
		prev = ts.store.End
	}
	if ts.store.Fixes == 0 {
		ts.store = Visit{Site: c.site, Track: p.Track, Zone: c.storeID, Start: p.T, Before: ts.outT, Enter: p.T}
		ts.weak = p.PStore > 0 && p.PStore < zones.SureEnterP
		if ts.candT > 0 && ts.candT < p.T {
			ts.store.Enter = ts.candT
		}
		c.open[p.Track] = ts
	}
	ts.store.End = max(ts.store.End, p.T)
	ts.store.After = 0
	ts.store.Fixes++
	c.confirm(ts)
	c.nextDue = min(c.nextDue, p.T+c.gap)

	// The track moved between two fixes in the store: it changed areas
	// halfway between them.
	if ts.area.Fixes > 0 && ts.area.Zone != pres.Area {
		ts.area.End = midpoint(ts.area.End, p.T)
		c.closeArea(ts)
	}
	if pres.Area != "" {
		if ts.area.Fixes == 0 {
			start := p.T
			if prev >= 0 {
				start = midpoint(prev, p.T)
			}
			ts.area = Visit{Site: c.site, Track: p.Track, Zone: pres.Area, Start: start}
		}
		ts.area.End = max(ts.area.End, p.T)
		ts.area.Fixes++
	}
}

func midpoint(a, b int64) int64 { return a + (b-a)/2 }

func (c *Counter) closeArea(ts *trackState) {
	if ts.area.Fixes > 0 {
		c.record(ts, ts.area)
		ts.area = Visit{}
	}
}

// record keeps a closed area visit of ts: held with its store visit while
// that is provisional (weak), closed otherwise.
func (c *Counter) record(ts *trackState, v Visit) {
	if ts.weak {
		ts.pend = append(ts.pend, v)
		return
	}
	c.closed = append(c.closed, v)
}

// confirm ends the provision of ts's store visit once it has lasted
// provisionalMs: its area visits held so far are closed.
func (c *Counter) confirm(ts *trackState) {
	if ts.weak && ts.store.End-ts.store.Start >= provisionalMs {
		ts.weak = false
		c.closed = append(c.closed, ts.pend...)
		ts.pend = ts.pend[:0]
	}
}

func (c *Counter) closeVisits(ts *trackState) {
	c.closeArea(ts)
	if ts.store.Fixes > 0 {
		if !ts.weak {
			c.closed = append(c.closed, ts.store)
		}
		// else: a stay that began unsure of the side and ended within
		// provisionalMs was not in the store, nor in its areas.
		delete(c.open, ts.store.Track)
		ts.store = Visit{}
	}
	ts.weak, ts.pend = false, ts.pend[:0]
	// Back after a gap: the track must enter confidently again.
	ts.pres = zones.Presence{}
}

// localDay returns the local date of t and the end of that day.
func (c *Counter) localDay(t int64) (string, int64) {
	if t >= c.dayStart && t < c.dayEnd {
		return c.day, c.dayEnd
	}
	lt := time.UnixMilli(t).In(c.loc)
	y, m, d := lt.Date()
	c.day = lt.Format(time.DateOnly)
	c.dayStart = time.Date(y, m, d, 0, 0, 0, 0, c.loc).UnixMilli()
	c.dayEnd = time.Date(y, m, d+1, 0, 0, 0, 0, c.loc).UnixMilli()
	return c.day, c.dayEnd
}

// Advance moves the watermark to now: every position before now has been
// given. Visits whose last fix in the store lies visit_gap_s or more before
// now are closed. A watermark older than the current one is ignored.
func (c *Counter) Advance(now int64) {
	if now > c.now {
		c.now = now
	}
	if c.now < c.nextDue {
		return
	}
	c.nextDue = 1<<63 - 1
	var due []*trackState
	for _, ts := range c.open {
		if c.now-ts.store.End >= c.gap {
			due = append(due, ts)
		} else {
			c.nextDue = min(c.nextDue, ts.store.End+c.gap)
		}
	}
	// Close in track order, so the record is deterministic.
	slices.SortFunc(due, func(a, b *trackState) int { return cmp.Compare(a.store.Track, b.store.Track) })
	for _, ts := range due {
		c.closeVisits(ts)
	}
}

// Flush ends the input: every open visit is closed and every day final.
func (c *Counter) Flush() {
	keys := make([]string, 0, len(c.tracks))
	for k := range c.tracks {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c.closeVisits(c.tracks[k])
	}
	c.nextDue = 1<<63 - 1
	c.flushed = true
}

// TrackDays returns the summary of every track on every local day seen,
// ordered by day, first detection and track. Days that may still grow are
// marked Open, and those of tracks known as staff from earlier days
// (KnownStaff) KnownStaff.
func (c *Counter) TrackDays() []TrackDay {
	out := make([]TrackDay, 0, len(c.oldDays)+len(c.tracks))
	add := func(d dayState) {
		td := d.TrackDay
		td.Open = !c.flushed && c.now < d.end
		td.KnownStaff = td.Open && c.knownStaff[td.Track]
		out = append(out, td)
	}
	for _, d := range c.oldDays {
		add(d)
	}
	for _, ts := range c.tracks {
		if ts.hasDay {
			add(ts.day)
		}
	}
	slices.SortFunc(out, func(a, b TrackDay) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.First, b.First), cmp.Compare(a.Track, b.Track))
	})
	return out
}

// Visits returns the store visits and the area visits, closed and open
// (marked Open), ordered by start, track and zone.
func (c *Counter) Visits() []Visit {
	out := slices.Clone(c.closed)
	for _, ts := range c.tracks {
		if ts.weak {
			continue // provisional: not yet a visit
		}
		for _, v := range []Visit{ts.store, ts.area} {
			if v.Fixes > 0 {
				v.Open = true
				out = append(out, v)
			}
		}
	}
	sortVisits(out)
	return out
}

func sortVisits(vs []Visit) {
	slices.SortFunc(vs, func(a, b Visit) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.Track, b.Track), cmp.Compare(a.Zone, b.Zone))
	})
}

// Occupancy returns, per store and area zone, the number of tracks that
// have an open visit there now and are not staff (so far today). A visit
// stays open until visit_gap_s has passed without a fix in the store, so a
// shopper who just left still counts for up to visit_gap_s: the live map
// counts by Present instead.
func (c *Counter) Occupancy() map[string]int {
	occ := c.zeroOccupancy()
	for _, ts := range c.open {
		if ts.weak || ts.hasDay && ts.day.Last-ts.day.First > c.staff {
			continue
		}
		occ[c.storeID]++
		if ts.area.Fixes > 0 {
			occ[ts.area.Zone]++
		}
	}
	return occ
}

// zeroOccupancy returns 0 for the store and each area (nothing when the
// plan has no store).
func (c *Counter) zeroOccupancy() map[string]int {
	occ := map[string]int{}
	if c.storeID == "" {
		return occ
	}
	occ[c.storeID] = 0
	for _, a := range c.plan.Areas() {
		occ[a] = 0
	}
	return occ
}

// Prune forgets closed visits that ended before t and track days that
// ended by t, once they are stored, so a long-running counter keeps only
// what may still change. Tracks with nothing open are dropped too.
func (c *Counter) Prune(t int64) {
	c.closed = slices.DeleteFunc(c.closed, func(v Visit) bool { return v.End < t })
	c.oldDays = slices.DeleteFunc(c.oldDays, func(d dayState) bool { return d.end <= t })
	for k, ts := range c.tracks {
		if ts.store.Fixes == 0 && ts.hasDay && ts.day.end <= t {
			delete(c.tracks, k)
		}
	}
}

// Position is Add, so that a Counter is a pipeline handler.
func (c *Counter) Position(p wire.Position) { c.Add(p) }
