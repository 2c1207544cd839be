package server

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/wire"
)

// knownStaffDays is how many local days before today the live count looks
// back for devices that were staff (footfall.StaffTracks).
const knownStaffDays = 7

// knownStaffTimeout bounds one read of the earlier days' summaries; a read
// that fails or times out is tried again knownStaffRetry later.
const (
	knownStaffTimeout = time.Minute
	knownStaffRetry   = time.Minute
)

// staffRead is the state of a runner's reads of the earlier days' staff,
// under r.mu.
type staffRead struct {
	day     string    // the local day whose earlier days' staff the counter knows
	reading bool      // a read is under way
	failed  time.Time // when the last read failed (wall clock: it paces retries only)
	failDay string    // the day that read was for
	wg      sync.WaitGroup
}

// refreshKnownStaff gives the footfall counter, once per local day of the
// pipeline's event time, the tracks that were staff on the days before
// (footfall.Counter.KnownStaff): a printer or a staff phone that keeps its
// address is left out of "in the store now" from its first fix of the day,
// not only once it has been seen for staff_min_dwell_s. The runner calls it
// on its occupancy ticker; the store is read in a goroutine of its own
// (at most one at a time, each within knownStaffTimeout), so a slow or
// hanging database never holds up the runner, which ingests. A failed read
// is logged once a day and tried again knownStaffRetry later; ctx ends the
// read under way, and the runner waits for it when it stops (r.staff.wg).
func (r *siteRunner) refreshKnownStaff(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now, site, st := max(r.now, r.lastT), r.site, &r.staff
	if now == 0 || st.reading {
		return
	}
	loc := site.Location()
	y, m, d := time.UnixMilli(now).In(loc).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	key := day.Format(time.DateOnly)
	if key == st.day || st.failDay == key && time.Since(st.failed) < knownStaffRetry {
		return
	}
	from := time.Date(y, m, d-knownStaffDays, 0, 0, 0, 0, loc).UnixMilli()
	st.reading = true
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		rctx, cancel := context.WithTimeout(ctx, knownStaffTimeout)
		days, err := r.earlierStaff(rctx, site, from, day.UnixMilli())
		cancel()
		r.mu.Lock()
		defer r.mu.Unlock()
		st.reading = false
		if err != nil {
			if st.failDay != key && ctx.Err() == nil {
				r.srv.log.Warn("known staff: read the summaries (tried again every minute, logged once a day)",
					"site", r.id, "day", key, "err", err)
			}
			st.failed, st.failDay = time.Now(), key
			return
		}
		if r.site == site { // not reset for a site change meanwhile
			staff := make(map[string]bool, len(days))
			for track := range days {
				staff[track] = true
			}
			r.counter.KnownStaff(staff)
			r.heat.known, r.heat.knownDay = staff, key
			st.day = key
			r.occDirty = true
		}
	}()
}

// earlierStaff returns the tracks that were staff on the local days of
// [from, to), with those days (footfall.StaffDays), by their summaries: the stored ones,
// those the writer holds, and over them those the runner holds (as a report
// takes them: Server.Report), which it hands to the writer every 10 s
// only: of a week of history worked through in seconds (the demo's), the
// last days may not have reached the writer when today begins.
func (r *siteRunner) earlierStaff(ctx context.Context, site *wire.Site, from, to int64) (map[string][]string, error) {
	days, visits, err := r.srv.summaries(ctx, r.id, from, to)
	if err != nil {
		return nil, err
	}
	md, mv := r.summaries()
	md = slices.DeleteFunc(md, func(d footfall.TrackDay) bool { return d.First >= to || d.Last < from })
	mv = slices.DeleteFunc(mv, func(v footfall.Visit) bool { return v.Start >= to || v.End < from-24*3600_000 })
	days, visits = mergeSummaries(days, visits, md, mv)
	return footfall.StaffDays(site, days, visits), nil
}
