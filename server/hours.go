package server

// The stored hourly aggregates (the hours table): the day the pipeline is
// on, provisional, at most once a minute; a day's final figures once the
// pipeline's event time has passed it; and every day a re-processing
// rebuilt.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// hoursState is what housekeeping knows of a runner's stored hours.
type hoursState struct {
	mu    sync.Mutex // one save at a time
	saved time.Time  // when hours were last saved (wall clock: it paces the saves only)
	// final is the latest local day whose final hours this process has
	// stored ("" none yet: after a start the day before the pipeline's
	// is stored once more, since its end may have come while stopped, and
	// so is every day since the pipeline's first fix, which a backlog or
	// the demo's history may have passed through before the first save).
	final string
}

const (
	// finalWait is how long past a day's end its final hours wait at most
	// for the visits that began before midnight to end (a stay across
	// midnight counts on the day it began).
	finalWait = 2 * time.Hour
	// finalDaysMax bounds the days of final hours one save catches up on
	// (event time that leapt ahead, a long stop).
	finalDaysMax = 31
)

// hoursLoop saves the hours of every site (saveHours) until ctx ends. It
// is a loop of its own, not housekeeping's: a day's final hours read a
// report's summaries (its history window: a busy shop's month reads in
// about half a second), and for a chain's hundreds of sites at midnight
// that must not hold up the alerts and the sensors' health.
func (s *Server) hoursLoop(ctx context.Context) {
	tick := time.NewTicker(s.cfg.housekeepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for _, r := range s.runners() {
				if ctx.Err() != nil {
					return
				}
				s.saveHours(ctx, r)
			}
		}
	}
}

// saveHours stores, at most once a minute, the hourly aggregates of the
// local day of the pipeline's event time (provisional: built from memory,
// which holds all of it, and the day's till receipts; hours need no
// history, so no month of summaries is read), and the final hours of the
// days before it that have ended (saveFinalHours). Event time, not the wall
// clock, says which day is which, as for the known staff
// (refreshKnownStaff): a day is provisional while the pipeline is on it and
// final once the pipeline has passed it, whatever the clock says. Nothing
// is saved while the runner rebuilds (quiet).
func (s *Server) saveHours(ctx context.Context, r *siteRunner) {
	r.hours.mu.Lock()
	defer r.hours.mu.Unlock()
	wall := time.Now()
	if wall.Sub(r.hours.saved) < time.Minute {
		return
	}
	r.hours.saved = wall
	s.saveHoursNow(ctx, r)
}

// saveHoursNow is saveHours without its pacing; it runs under r.hours.mu.
func (s *Server) saveHoursNow(ctx context.Context, r *siteRunner) {
	r.mu.Lock()
	site, quiet, now, latest, first := r.site, r.quiet, r.now, max(r.now, r.lastT), r.firstT
	var days []footfall.TrackDay
	var visits []footfall.Visit
	if !quiet && latest > 0 {
		days, visits = r.counter.TrackDays(), r.counter.Visits()
	}
	r.mu.Unlock()
	if quiet || latest == 0 {
		return
	}
	today := localDay(latest, site.Location())
	s.saveFinalHours(ctx, r, site, now, first, today, visits)
	from, to := today.UnixMilli(), today.AddDate(0, 0, 1).UnixMilli()
	txns, err := s.store.ListTransactions(ctx, r.id, from, to)
	if err != nil {
		s.log.Warn("today's hours", "site", r.id, "err", err)
		return
	}
	if len(txns) == 0 {
		txns = nil
	}
	rep := footfall.Build(site, from, to, days, visits, txns, footfall.History{})
	if err := s.store.WriteHours(ctx, r.id, rep.Hours); err != nil {
		s.log.Warn("storing today's hours", "site", r.id, "err", err)
	}
}

// saveFinalHours stores the final hours of the local days before today
// (the day of the pipeline's event time) not stored yet: each as the day's
// report has them (Server.Report, the day alone), once the watermark now
// has passed its end and no visit that began on it is still open (or
// finalWait has passed). A day's summaries are then closed: its track days
// are no longer Open, so none counts as staff for being staff on earlier
// days (footfall.TrackDay.KnownStaff), which the provisional figures do.
func (s *Server) saveFinalHours(ctx context.Context, r *siteRunner, site *wire.Site, now, first int64, today time.Time, visits []footfall.Visit) {
	loc := site.Location()
	day := today.AddDate(0, 0, -1)
	if r.hours.final == "" && first > 0 {
		if d := localDay(first, loc); d.Before(day) {
			day = d
		}
	}
	if r.hours.final != "" {
		if last, err := time.ParseInLocation(time.DateOnly, r.hours.final, loc); err == nil {
			day = last.AddDate(0, 0, 1)
		}
	}
	if oldest := today.AddDate(0, 0, -finalDaysMax); day.Before(oldest) {
		day = oldest
	}
	for ; day.Before(today); day = day.AddDate(0, 0, 1) {
		end := day.AddDate(0, 0, 1).UnixMilli()
		if now < end || now < end+finalWait.Milliseconds() && openBefore(visits, end) {
			return
		}
		n, err := writeDayHours(ctx, s.store, site, day, s.reportSummaries(site.Site))
		if err != nil {
			s.log.Warn("storing a day's final hours (tried again in a minute)", "site", r.id,
				"day", day.Format(time.DateOnly), "err", err)
			return
		}
		r.hours.final = day.Format(time.DateOnly)
		s.log.Debug("stored a day's final hours", "site", r.id, "day", r.hours.final, "hours", n)
	}
}

// openBefore reports whether a visit that began before t is still open.
func openBefore(visits []footfall.Visit, t int64) bool {
	for _, v := range visits {
		if v.Open && v.Start < t {
			return true
		}
	}
	return false
}

// localDay returns the start of the local day that holds t.
func localDay(t int64, loc *time.Location) time.Time {
	y, m, d := time.UnixMilli(t).In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// writeDayHours stores the hours of the local day that starts at day, as
// the day's report (of the summaries sum returns) has them, and returns how
// many it stored: none for a day on which the report counts no one and no
// receipt (a day before the site's data began, or one without any).
func writeDayHours(ctx context.Context, st store.Store, site *wire.Site, day time.Time, sum summariesFunc) (int, error) {
	rep, err := buildReport(ctx, st, site, day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli(), sum)
	if err != nil {
		return 0, fmt.Errorf("server: hours of %s on %s: %w", site.Site, day.Format(time.DateOnly), err)
	}
	t := rep.Totals
	if t.Passersby+t.Visitors+t.Staff+t.Visits == 0 && (t.Transactions == nil || *t.Transactions == 0) {
		return 0, nil
	}
	if err := st.WriteHours(ctx, site.Site, rep.Hours); err != nil {
		return 0, fmt.Errorf("server: hours of %s on %s: %w", site.Site, day.Format(time.DateOnly), err)
	}
	return len(rep.Hours), nil
}

// writeRangeHours stores the hours of every local day that [from, to)
// touches (writeDayHours): what a re-processing of that range, which
// deleted them, puts back.
func writeRangeHours(ctx context.Context, st store.Store, site *wire.Site, from, to int64, sum summariesFunc) error {
	loc := site.Location()
	for day := localDay(from, loc); day.UnixMilli() < to; day = day.AddDate(0, 0, 1) {
		if _, err := writeDayHours(ctx, st, site, day, sum); err != nil {
			return err
		}
	}
	return nil
}
