package server

// Reports: the summaries a report reads (stored, queued in the writer, in
// the live pipeline's memory) and the report built from them.

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// Report implements web.Backend: the stored summaries of [from, to) and the
// history window before it, with the live pipeline's newer ones over them.
// A report that begins at a local midnight, of a site this server runs,
// reads only the summaries from the earliest day the live pipeline still
// holds on, with the Past of the days before kept (past.go): the same
// report, from a few days' summaries instead of a month's.
func (s *Server) Report(ctx context.Context, site string, from, to int64) (*wire.Report, error) {
	st, ver, err := s.store.Site(ctx, site)
	if err != nil {
		return nil, notFound(err)
	}
	if rep, ok, err := s.reportAfter(ctx, st, ver.Hash, from, to); ok || err != nil {
		return rep, err
	}
	return buildReport(ctx, s.store, st, from, to, s.reportSummaries(site))
}

// reportAfter is Report from a kept Past (footfall.BuildAfter); ok is
// false when it does not apply: no cache, a site run elsewhere, from not a
// local midnight, or a pipeline that holds the whole history window.
func (s *Server) reportAfter(ctx context.Context, site *wire.Site, hash string, from, to int64) (rep *wire.Report, ok bool, err error) {
	r := s.runner(site.Site)
	if s.past == nil || r == nil || to <= from {
		return nil, false, nil
	}
	loc := site.Location()
	if midnight(from, loc) != from {
		return nil, false, nil
	}
	histFrom := from - int64(site.Footfall.HistoryDays+1)*24*3600_000
	md, mv := r.summaries()
	// The Past ends at the earliest local midnight of what the live
	// pipeline holds (in memory, or handed to the writer and not stored).
	low := from
	var wd []footfall.TrackDay
	var wv []footfall.Visit
	if s.writer != nil {
		wd, wv, _ = s.writer.unstored(site.Site)
	}
	for _, ds := range [][]footfall.TrackDay{md, wd} {
		for i := range ds {
			low = min(low, ds[i].First)
		}
	}
	for _, vs := range [][]footfall.Visit{mv, wv} {
		for i := range vs {
			low = min(low, vs[i].Start)
		}
	}
	start := midnight(low, loc)
	if start <= histFrom {
		return nil, false, nil
	}
	return s.reportFrom(ctx, site, hash, from, to, start, md, mv)
}

// reportFrom is reportAfter with the Past ending at start, a local
// midnight, and the live pipeline's summaries md and mv (none before
// start).
func (s *Server) reportFrom(ctx context.Context, site *wire.Site, hash string, from, to, start int64, md []footfall.TrackDay, mv []footfall.Visit) (*wire.Report, bool, error) {
	histFrom := from - int64(site.Footfall.HistoryDays+1)*24*3600_000
	past, err := s.past.get(pastKey{site.Site, from}, hash, start, histFrom-24*3600_000, func() (*footfall.Past, error) {
		// Stored only: the live pipeline holds nothing before start. The
		// writer's merges hide their tracks' stored rows as in summaries.
		ctx := context.WithoutCancel(ctx)
		days, err := s.store.TrackDays(ctx, site.Site, histFrom, start)
		if err != nil {
			return nil, err
		}
		visits, err := s.store.Visits(ctx, site.Site, histFrom-24*3600_000, start)
		if err != nil {
			return nil, err
		}
		if s.writer != nil {
			days, visits = s.writer.withoutMerged(site.Site, days, visits)
		}
		return footfall.NewPast(site, start, days, visits), nil
	})
	if err != nil {
		return nil, true, err
	}
	days, visits, err := s.summaries(ctx, site.Site, start, to)
	if err != nil {
		return nil, true, err
	}
	days, visits = mergeSummaries(days, visits, md, mv)
	txns, err := s.store.ListTransactions(ctx, site.Site, from, to)
	if err != nil {
		return nil, true, err
	}
	if len(txns) == 0 {
		txns = nil
	}
	out, ok := footfall.BuildAfter(site, from, to, past, days, visits, txns)
	if !ok {
		return nil, false, nil // dated by another time zone: from the month
	}
	return &out, true, nil
}

// midnight returns the local midnight that begins the day of t.
func midnight(t int64, loc *time.Location) int64 {
	y, m, d := time.UnixMilli(t).In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMilli()
}

// Counts implements web.Counter: Report without the history window before
// from (new and returning visitors are not told apart) and without the
// till's receipts, for the chain's comparison with a week before, which
// needs only the visitors (footfall's TestDayCountsNeedNoHistory).
func (s *Server) Counts(ctx context.Context, site string, from, to int64) (*wire.Report, error) {
	st, _, err := s.store.Site(ctx, site)
	if err != nil {
		return nil, notFound(err)
	}
	days, visits, err := s.reportSummaries(site)(ctx, from, to)
	if err != nil {
		return nil, err
	}
	rep := footfall.Build(st, from, to, days, visits, nil, footfall.History{})
	return &rep, nil
}

// reportSummaries returns what a report of site reads: the stored
// summaries and the writer's (Server.summaries) with the live pipeline's
// over them.
func (s *Server) reportSummaries(site string) summariesFunc {
	return func(ctx context.Context, from, to int64) ([]footfall.TrackDay, []footfall.Visit, error) {
		days, visits, err := s.summaries(ctx, site, from, to)
		if err != nil {
			return nil, nil, err
		}
		if r := s.runner(site); r != nil {
			md, mv := r.summaries()
			days, visits = mergeSummaries(days, visits, md, mv)
		}
		return days, visits, nil
	}
}

// summariesFunc returns a site's track days of [from, to) and its visits
// from a day earlier.
type summariesFunc func(ctx context.Context, from, to int64) ([]footfall.TrackDay, []footfall.Visit, error)

// storedSummaries reads the summaries from the store alone: what a report
// sees without a running server (`passant reprocess`).
func storedSummaries(st store.Store, site string) summariesFunc {
	return func(ctx context.Context, from, to int64) ([]footfall.TrackDay, []footfall.Visit, error) {
		days, err := st.TrackDays(ctx, site, from, to)
		if err != nil {
			return nil, nil, err
		}
		visits, err := st.Visits(ctx, site, from-24*3600_000, to)
		if err != nil {
			return nil, nil, err
		}
		return days, visits, nil
	}
}

// buildReport builds the report of [from, to) from the summaries of it and
// of the history window before it, and the stored till receipts.
func buildReport(ctx context.Context, st store.Store, site *wire.Site, from, to int64, sum summariesFunc) (*wire.Report, error) {
	histFrom := from - int64(site.Footfall.HistoryDays+1)*24*3600_000
	days, visits, err := sum(ctx, histFrom, to)
	if err != nil {
		return nil, err
	}
	txns, err := st.ListTransactions(ctx, site.Site, from, to)
	if err != nil {
		return nil, err
	}
	if len(txns) == 0 {
		txns = nil // no till data: the report leaves transactions out
	}
	// The summaries reach back over the history window, and Build counts
	// their visitor days itself (a History of the same summaries would add
	// nothing, and classify them once more).
	rep := footfall.Build(site, from, to, days, visits, txns, footfall.History{})
	return &rep, nil
}

// summaries returns the site's track days of [from, to) and its visits
// from a day earlier: the stored ones with the summaries handed to the
// writer and not stored yet over them (the queued over the ones being
// written: newer), without the tracks merged into others whose stored rows
// are not deleted yet. A flush that stores summaries between the two reads
// would hide them from both: the reads are made again then (a few times at
// most; a flush takes far longer than the store's reads).
func (s *Server) summaries(ctx context.Context, site string, from, to int64) ([]footfall.TrackDay, []footfall.Visit, error) {
	for try := 0; ; try++ {
		var n int64
		if s.writer != nil {
			n = s.writer.storeCount()
		}
		days, err := s.store.TrackDays(ctx, site, from, to)
		if err != nil {
			return nil, nil, err
		}
		visits, err := s.store.Visits(ctx, site, from-24*3600_000, to)
		if err != nil {
			return nil, nil, err
		}
		if s.writer == nil {
			return days, visits, nil
		}
		wd, wv, m := s.writer.unstored(site)
		if m != n && try < 3 {
			continue
		}
		wd = slices.DeleteFunc(wd, func(d footfall.TrackDay) bool { return d.First >= to || d.Last < from })
		wv = slices.DeleteFunc(wv, func(v footfall.Visit) bool { return v.Start >= to || v.End < from-24*3600_000 })
		days, visits = mergeSummaries(days, visits, wd, wv)
		days, visits = s.writer.withoutMerged(site, days, visits)
		return days, visits, nil
	}
}

// mergeSummaries overlays the in-memory summaries on the stored ones (the
// same key: memory is newer).
func mergeSummaries(days []footfall.TrackDay, visits []footfall.Visit, md []footfall.TrackDay, mv []footfall.Visit) ([]footfall.TrackDay, []footfall.Visit) {
	dk := map[dayKey]int{}
	for i, d := range days {
		dk[dayKey{d.Site, d.Day, d.Track}] = i
	}
	for _, d := range md {
		if i, ok := dk[dayKey{d.Site, d.Day, d.Track}]; ok {
			days[i] = d
		} else {
			days = append(days, d)
		}
	}
	vk := map[visitKey]int{}
	for i, v := range visits {
		vk[visitKey{v.Site, v.Track, v.Zone, v.Start}] = i
	}
	for _, v := range mv {
		if i, ok := vk[visitKey{v.Site, v.Track, v.Zone, v.Start}]; ok {
			visits[i] = v
		} else {
			visits = append(visits, v)
		}
	}
	sort.SliceStable(days, func(i, j int) bool {
		if days[i].Day != days[j].Day {
			return days[i].Day < days[j].Day
		}
		if days[i].First != days[j].First {
			return days[i].First < days[j].First
		}
		return days[i].Track < days[j].Track
	})
	sort.SliceStable(visits, func(i, j int) bool {
		if visits[i].Start != visits[j].Start {
			return visits[i].Start < visits[j].Start
		}
		if visits[i].Track != visits[j].Track {
			return visits[i].Track < visits[j].Track
		}
		return visits[i].Zone < visits[j].Zone
	})
	return days, visits
}

// Hours implements web.Backend: the stored hours (the hours table).
func (s *Server) Hours(ctx context.Context, site string, from, to int64) ([]wire.Hour, error) {
	if _, _, err := s.store.Site(ctx, site); err != nil {
		return nil, notFound(err)
	}
	return s.store.Hours(ctx, site, from, to)
}
