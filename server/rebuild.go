package server

// Rebuilding a site's live state: from the journal at a start or a site
// change, from the stored observations when a cluster instance takes a site
// over or a range still in memory is re-processed. Each runs in the runner's
// goroutine (or before it starts), so no live batch comes between.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/ingest"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// recover replays the journal of yesterday and today (UTC days) so that a
// restarted server picks up open visits, today's figures and live tracks
// exactly where the journal left them. Nothing is published or stored again
// while recovering, except the summaries, which are upserts, and the
// positions from restoreFrom on (a site change). At startup the batches
// journaled after the stored mark are stored (the server stopped before
// it stored them); a rebuild while running finds those still queued in
// the writer.
func (r *siteRunner) recover(ctx context.Context, startup bool) error {
	if r.srv.cfg.Cluster {
		return r.recoverFromStore(ctx)
	}
	if !startup {
		// The batches the runner took are in its files once a round of
		// the journal has written them: wait for it. (While the journal
		// cannot write, what it has not written is missing here.)
		if err := r.srv.journal.Sync(); err != nil {
			r.srv.log.Warn("rebuilding from the journal while it cannot write; its latest batches are left out", "site", r.id, "err", err)
		}
	}
	// At a start, the site's checkpoint (checkpoint.go) holds the state up
	// to a position of the journal: only the lines after it go to the
	// pipeline. The lines before it are read all the same, for the
	// batches not yet stored.
	var ck ingest.Pos
	if startup {
		// The runner's own fields a checkpoint holds, as a start has them
		// (the floor: the site version's, startSite): a refused one may
		// have been read into them (reset builds only the pipeline's parts
		// afresh).
		r.mu.Lock()
		lastT, firstT, now, positions, floor := r.lastT, r.firstT, r.now, r.positions, r.floor
		r.mu.Unlock()
		switch pos, err := r.loadCheckpoint(); {
		case err == nil:
			ck = pos
		case errors.Is(err, errNoCheckpoint):
		default:
			r.srv.log.Warn("the site's checkpoint is refused; replaying yesterday and today from the journal", "site", r.id, "err", err)
			if err := r.reset(r.site); err != nil {
				return err
			}
			r.mu.Lock()
			r.lastT, r.firstT, r.now, r.positions, r.floor = lastT, firstT, now, positions, floor
			r.mu.Unlock()
		}
	}
	r.mu.Lock()
	since := r.restoreFrom
	r.mu.Unlock()
	start := time.Now().Add(-24 * time.Hour)
	if since > 0 {
		// A site change rebuilds the pipeline's day: read its journal.
		if t := time.UnixMilli(since); t.Before(start) {
			start = t
		}
	}
	from := start.UTC().Format(time.DateOnly)
	if ck.Day != "" && ck.Day < from {
		from = ck.Day
	}
	files, err := r.srv.journal.Files(r.id, from, "")
	if err != nil || len(files) == 0 {
		return err
	}
	r.mu.Lock()
	r.quiet = true
	r.mu.Unlock()
	n := 0
	var last int64 // the receive time of the last line read
	mark, marked := r.srv.writer.storedMark(r.id)
	marked = marked && startup
	var seen int64
	if marked && ck.Day == "" {
		r.mu.Lock()
		r.held = &heldRestart{} // released below: restartfloor.go
		r.mu.Unlock()
	}
	defer r.releaseHeld()
	before := batchIDs{} // the batches before the checkpoint, for redeliveries
	err = ingest.ReadJournalAt(files, ck, func(l *wire.Line, after bool) error {
		r.mu.Lock()
		b := r.withoutForgotten(&l.Batch)
		r.mu.Unlock()
		r.srv.noteRecv(l.Recv)
		last = max(last, l.Recv)
		var err error
		if after {
			r.mu.Lock()
			err = r.pipe.Accept(l.Recv, b, l.Drops)
			r.mu.Unlock()
			n++
		} else if !marked || !before.take(b) || !r.knows(b.Sensor) {
			err = pipeline.ErrDuplicate // not taken again (nor stored)
		}
		// Journaled but not yet stored when the server stopped.
		if err == nil && marked && len(b.Obs) > 0 {
			if mark.unstored(l.Recv, &seen) {
				r.srv.writer.unstoredAtStart(r.id, l.Recv)
			} else if r.held != nil {
				r.held.stored(b)
			}
		}
		return nil
	}, func(file string, err error) {
		r.srv.log.Warn("journal line skipped", "site", r.id, "err", err)
	})
	r.mu.Lock()
	r.quiet = false
	r.publishGauges()
	r.mu.Unlock()
	// What waits on the queue or in the backlog up to there has been read
	// (receive times increase along the journal): accept skips it.
	r.recovered = last
	if ck.Day != "" {
		r.srv.log.Info("recovered from the checkpoint and the journal after it", "site", r.id, "batches", n,
			"from", ck.Day, "offset", ck.Off, "files", len(files))
	} else {
		r.srv.log.Info("recovered from the journal", "site", r.id, "batches", n, "files", len(files))
	}
	return err
}

// batchIDs is a set of batches by the contract's (sensor, boot, id): here
// those met before a checkpoint's position, which the pipeline does not
// take again (a redelivery among them is not stored twice); in
// storeJournalTail those the store has.
type batchIDs map[batchID]bool

type batchID struct {
	sensor   string
	boot, id int64
}

// take reports whether b is new (a batch without an id always is).
func (s batchIDs) take(b *wire.Batch) bool {
	if b.ID <= 0 {
		return true
	}
	k := batchID{b.Sensor, b.Boot, b.ID}
	if s[k] {
		return false
	}
	s[k] = true
	return true
}

// recoverFromStore rebuilds the site's state from the stored observations
// of the last 36 hours: what an instance that takes over a site from another
// needs, since the journal of the other is on its own disk.
func (r *siteRunner) recoverFromStore(ctx context.Context) error {
	now := time.Now().UnixMilli()
	r.mu.Lock()
	r.quiet = true
	from := now - 36*3600_000
	if r.restoreFrom > 0 {
		from = min(from, r.restoreFrom) // a site change rebuilds the pipeline's day
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.quiet = false
		r.publishGauges()
		r.mu.Unlock()
	}()
	n := 0
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := r.srv.store.ScanBatches(ctx, r.id, from, now+3600_000, func(b *store.RawBatch) error {
		r.mu.Lock()
		r.pipe.Accept(b.Recv, &b.Batch, wire.Drops{})
		r.mu.Unlock()
		r.srv.noteRecv(b.Recv)
		n++
		return nil
	})
	r.srv.log.Info("recovered from stored observations", "site", r.id, "batches", n)
	return err
}

// reprocess rebuilds the live pipeline, in its own goroutine, from the
// stored observations since from (with late backlogs put in order), and
// replaces the stored figures since from with the rebuilt ones: memory and
// storage then agree, and the live map goes on. Before cut (the retention
// of passers-by's raw observations) it replaces only the rows of the
// tracks it rebuilt (splitThinned): memory holds those, the store those
// and the kept ones, and a report reads the store with memory over it. It
// returns the days before cut.
func (r *siteRunner) reprocess(ctx context.Context, site *wire.Site, from, cut int64) ([]web.KeptDay, error) {
	var kept []web.KeptDay
	err := r.inRunner(ctx, func() error {
		var err error
		kept, err = r.rebuildFromStore(ctx, site, from, cut)
		return err
	})
	return kept, err
}

// holdBefore stores the live pipeline's summaries, then leaves out those
// that begin before t (floor): a re-processing's offline part is about to
// replace the stored ones of the days before t, which the runner still
// holds for two days. Stored again by the live part's first persist, they
// stood beside the offline part's (an area visit a few ms apart, another
// key) and B's moved zone counted 59 visits where every observation gives
// 40. It runs in the runner's goroutine (inRunner).
func (r *siteRunner) holdBefore(ctx context.Context, t int64) error {
	r.persist(ctx)
	if err := r.srv.writer.drain(ctx); err != nil {
		return fmt.Errorf("server: reprocess %s: %w", r.id, err)
	}
	r.mu.Lock()
	r.floor = max(r.floor, t)
	r.mu.Unlock()
	return nil
}

// sinceFloor returns the counter's track days and visits that begin at or
// after r.floor (all when it is 0); it runs under r.mu. A site change's
// rebuild reads the journal from yesterday with the new plan, and the
// counter keeps two days of summaries, but the days before the day it
// rebuilt keep their stored figures: stored or shown over the stored
// ones, the new plan's area visits stood beside the old plan's (other
// starts, other keys; B's moved zone in
// TestReprocessKeepsWhatRetentionThinned 17 -> 59 visits).
func (r *siteRunner) sinceFloor() ([]footfall.TrackDay, []footfall.Visit) {
	days, visits := r.counter.TrackDays(), r.counter.Visits()
	if r.floor <= 0 {
		return days, visits
	}
	days = slices.DeleteFunc(days, func(d footfall.TrackDay) bool { return d.First < r.floor })
	visits = slices.DeleteFunc(visits, func(v footfall.Visit) bool { return v.Start < r.floor })
	return days, visits
}

// versionFloor is the floor of a runner started with site version v
// without a checkpoint (or with one of another configuration, refused):
// the start of the local day on which v was made, when it changed an
// earlier version. The start replays the journal from yesterday (or the
// store's last 36 hours in a cluster) with v's plan; the days before v's
// keep the figures of the plans they were counted with.
func versionFloor(v store.SiteVersion, loc *time.Location) int64 {
	if v.Version <= 1 || v.Created <= 0 {
		return 0
	}
	return localDay(v.Created, loc).UnixMilli()
}

// inRunner runs f in the runner's goroutine and returns its error (or why
// it did not run: the runner stopping, ctx done).
func (r *siteRunner) inRunner(ctx context.Context, f func() error) error {
	res := make(chan error, 1)
	select {
	case r.ctl <- func() { res <- f() }:
	case <-r.done:
		return fmt.Errorf("server: site %s is stopping", r.id)
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-res
}

func (r *siteRunner) rebuildFromStore(ctx context.Context, site *wire.Site, from, cut int64) ([]web.KeptDay, error) {
	r.persist(ctx)
	// Let the writer store what the live pipeline handed it, so that the
	// scan below sees every batch taken so far.
	if err := r.srv.writer.drain(ctx); err != nil {
		return nil, fmt.Errorf("server: reprocess %s: %w", r.id, err)
	}
	r.mu.Lock()
	live := r.site
	r.mu.Unlock()
	r.holdHeat(true)
	defer r.holdHeat(false)
	if err := r.reset(site); err != nil {
		return nil, err
	}
	var orig origTracks
	if from < cut {
		var err error
		if orig, err = loadOrigTracks(ctx, r.srv.store, r.id, from, cut); err != nil {
			return nil, r.restore(live, fmt.Errorf("server: reprocess %s: %w", r.id, err))
		}
	}
	r.mu.Lock()
	r.pipe.SetLateness(reorderStored)
	r.quiet, r.restoreFrom, r.orig, r.floor = true, from, orig, from
	r.heat.startAt(from) // every observation from there on: whole hours
	r.mu.Unlock()
	n := 0
	seen := seenDevs{}
	end := time.Now().Add(time.Hour).UnixMilli()
	err := r.srv.store.ScanBatches(ctx, r.id, from, end, func(b *store.RawBatch) error {
		r.mu.Lock()
		r.pipe.Accept(b.Recv, &b.Batch, wire.Drops{})
		r.mu.Unlock()
		seen.add(&b.Batch)
		n++
		return nil
	})
	r.mu.Lock()
	r.pipe.SetLateness(r.srv.lateness()) // releases what the live lateness lets go
	r.quiet, r.restoreFrom, r.orig = false, 0, origTracks{}
	r.publishGauges()
	r.mu.Unlock()
	if err != nil {
		return nil, r.restore(live, fmt.Errorf("server: reprocess %s: %w", r.id, err))
	}
	if err := r.srv.writer.drain(ctx); err != nil {
		return nil, r.restore(live, fmt.Errorf("server: reprocess %s: %w", r.id, err))
	}
	var sp thinnedSplit
	var kept []web.KeptDay
	if from < cut {
		days, visits := r.summaries()
		sp, err = splitThinned(ctx, r.srv.store, r.id, from, min(end, cut), seen, trackNames(days, visits))
		if err != nil {
			return nil, r.restore(live, fmt.Errorf("server: reprocess %s: %w", r.id, err))
		}
		kept = keptDays(sp, days, from, min(end, cut))
	}
	if err := deleteRebuilt(ctx, r.srv.store, r.id, from, end, cut, sp); err != nil {
		return nil, r.restore(live, fmt.Errorf("server: reprocess %s: %w", r.id, err))
	}
	r.holdHeat(false)
	r.persist(ctx)
	r.srv.log.Info("re-processed through the live pipeline", "site", r.id, "from", from, "batches", n, "thinned_days", len(kept))
	return kept, nil
}

// holdHeat keeps the heat tiles a rebuild bakes from the writer (persist)
// until it has deleted the stored ones they replace, or lets them go.
func (r *siteRunner) holdHeat(hold bool) {
	r.mu.Lock()
	r.heatHeld = hold
	r.mu.Unlock()
}

// restore puts back the live state a re-processing that failed half-way
// (the database gone, the request given up) had thrown away: the
// pipeline of site rebuilt from the journal, as at a restart, with nothing
// stored again. Without it the runner went on with the part it had read
// again, and stored that part's truncated visits and track days over the
// right ones. It returns err, with the restore's own failure if any.
func (r *siteRunner) restore(site *wire.Site, err error) error {
	r.srv.log.Warn("rebuilding failed; the live state is rebuilt as it was (from the journal; in a cluster from the store)", "site", r.id, "err", err)
	if rerr := r.reset(site); rerr != nil {
		return errors.Join(err, rerr)
	}
	if rerr := r.recover(context.Background(), false); rerr != nil {
		return errors.Join(err, fmt.Errorf("server: site %s: rebuild the live state: %w", r.id, rerr))
	}
	return err
}

// replace swaps in a new version of the site, in the runner's goroutine so
// that no batch comes between: a fresh pipeline is rebuilt from the journal
// (as at a restart) with the new site, and today's stored figures are
// replaced by the rebuilt ones, so today follows the new plan as if it had
// held all day. Today is the pipeline's day by event time (changedDay): a
// runner still in yesterday just after midnight rebuilds yesterday too.
// Earlier days keep theirs; `passant reprocess` redoes them.
func (r *siteRunner) replace(ctx context.Context, site *wire.Site, version int) error {
	var from int64 // the start of the day rebuilt
	err := r.inRunner(ctx, func() error {
		var err error
		if from, err = r.rebuild(ctx, site); err != nil {
			// Not applied: the lease loop tries again at its next round.
			return err
		}
		r.mu.Lock()
		r.version = version
		r.mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	// The day's hours went with the figures: store the rebuilt ones now,
	// not a minute later.
	now := time.Now().UnixMilli()
	if err := writeRangeHours(ctx, r.srv.store, site, from, now+1, r.srv.reportSummaries(r.id)); err != nil {
		return fmt.Errorf("server: site %s: replace today's hours: %w", r.id, err)
	}
	return nil
}

// storedVersion returns the stored version of the site the runner runs.
func (r *siteRunner) storedVersion() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version
}

// rebuild runs the site change of replace in the runner's goroutine and
// returns the start of the day it rebuilt (changedDay).
func (r *siteRunner) rebuild(ctx context.Context, site *wire.Site) (int64, error) {
	r.persist(ctx)
	if r.srv.cfg.Cluster {
		// In a cluster the rebuild reads the stored observations
		// (recoverFromStore): the writer must have stored every batch
		// the runner took.
		if err := r.srv.writer.drain(ctx); err != nil {
			return 0, fmt.Errorf("server: site %s: %w", r.id, err)
		}
	}
	now := time.Now()
	r.mu.Lock()
	event := max(r.pipe.Now(), r.now)
	r.mu.Unlock()
	from := changedDay(event, now, site.Location())
	r.holdHeat(true)
	defer r.holdHeat(false)
	r.mu.Lock()
	live, floor := r.site, r.floor
	r.mu.Unlock()
	if err := r.reset(site); err != nil {
		return 0, err
	}
	// The journal's yesterday goes through the new plan too (the tracks
	// it holds go on today), but the days before from keep their stored
	// figures: the counter's summaries of them are left out (floor).
	r.mu.Lock()
	r.restoreFrom, r.floor = from, from
	r.mu.Unlock()
	err := r.recover(ctx, false)
	r.mu.Lock()
	r.restoreFrom = 0
	r.mu.Unlock()
	if err != nil {
		if r.srv.cfg.Cluster {
			// The store's read failed part-way: the runner goes on with
			// the version it had, rebuilt again (not with what it read,
			// whose summaries it would store over the complete ones).
			r.mu.Lock()
			r.floor = floor
			r.mu.Unlock()
			return 0, r.restore(live, err)
		}
		return 0, err
	}
	// The writer may still hold summaries of the old plan: write them first,
	// so that the delete takes them too.
	if err := r.srv.writer.drain(ctx); err != nil {
		return 0, fmt.Errorf("server: site %s: replace today's figures: %w", r.id, err)
	}
	if err := r.srv.store.DeleteDerived(ctx, r.id, from, max(now.UnixMilli(), event)+3600_000); err != nil {
		return 0, fmt.Errorf("server: site %s: replace today's figures: %w", r.id, err)
	}
	r.holdHeat(false)
	r.persist(ctx)
	r.mu.Lock()
	occ := r.occupancy()
	r.mu.Unlock()
	r.srv.feed.Publish(r.id, web.Event{Occupancy: occ})
	return from, nil
}

// changedDay returns the start (Unix ms) of the local day in loc that a site
// change rebuilds: the pipeline's day at event time event (Unix ms), which
// just after midnight may still be yesterday while its sensors' batches
// come in late. It is today's by the wall clock now when the pipeline has
// processed nothing, and never before yesterday's (the journal a rebuild
// reads goes back a day; a runner further behind rebuilds from there).
func changedDay(event int64, now time.Time, loc *time.Location) int64 {
	today := localDay(now.UnixMilli(), loc)
	if event <= 0 {
		return today.UnixMilli()
	}
	day := localDay(event, loc)
	if yesterday := today.AddDate(0, 0, -1); day.Before(yesterday) {
		day = yesterday
	}
	return min(day.UnixMilli(), today.UnixMilli())
}

// noteRecv keeps the newest receive time recovery has seen.
func (s *Server) noteRecv(recv int64) { s.lastRecv.After(recv) }
