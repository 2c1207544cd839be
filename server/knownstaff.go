package server

import (
	"context"
	"time"

	"github.com/passant/passant/footfall"
)

// knownStaffDays is how many local days before today the live count looks
// back for devices that were staff (footfall.StaffTracks).
const knownStaffDays = 7

// refreshKnownStaff gives the footfall counter, once per local day of the
// pipeline's event time, the tracks that were staff on the days before
// (footfall.Counter.KnownStaff): a printer or a staff phone that keeps its
// address is left out of "in the store now" from its first fix of the day,
// not only once it has been seen for staff_min_dwell_s. It runs in the
// runner's goroutine, outside r.mu while it reads the store; a failed read
// is tried again a minute later.
func (r *siteRunner) refreshKnownStaff(ctx context.Context) {
	r.mu.Lock()
	now, site, known := max(r.now, r.lastT), r.site, r.staffDay
	r.mu.Unlock()
	if now == 0 {
		return
	}
	loc := site.Location()
	y, m, d := time.UnixMilli(now).In(loc).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	key := day.Format(time.DateOnly)
	if key == known || r.staffFailDay == key && time.Since(r.staffFailed) < time.Minute {
		return
	}
	from := time.Date(y, m, d-knownStaffDays, 0, 0, 0, 0, loc).UnixMilli()
	days, visits, err := r.srv.summaries(ctx, r.id, from, day.UnixMilli())
	if err != nil {
		r.srv.log.Warn("known staff: read the summaries", "site", r.id, "day", key, "err", err)
		r.staffFailed, r.staffFailDay = time.Now(), key
		return
	}
	staff := footfall.StaffTracks(site, days, visits)
	r.mu.Lock()
	if r.site == site { // not reset for a site change meanwhile
		r.counter.KnownStaff(staff)
		r.staffDay = key
		r.occDirty = true
	}
	r.mu.Unlock()
}
