package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/ingest"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// writer batches what the server stores and keeps it while the database is
// away: raw batches, positions and footfall summaries queue in memory up to a
// bound (in observations), are written every half second, and on an error
// are kept and retried with backoff. What overflows the bound is counted,
// and stored from the journal once the database is back (overflow.go).
type writer struct {
	st    store.Store
	limit int
	log   *slog.Logger
	dir   string // the journal's directory, for the stored marks (stored.go)
	marks storedMarks
	// journal, when set, holds what overflows the bound: the sites' gaps
	// (overflow.go) are stored from it.
	journal *ingest.Journal

	flushMu sync.Mutex // held by a flush, so that flushes never overlap
	// uncertain: the last write of the held batches failed, perhaps after
	// the database committed it (under flushMu).
	uncertain bool
	mu        sync.Mutex
	batches   []store.RawBatch
	held      int // observations held
	pos       map[string][]wire.Position
	days      map[dayKey]footfall.TrackDay
	visits    map[visitKey]footfall.Visit
	// inDays and inVisits are the summaries a flush has taken and not yet
	// written: neither queued nor stored, and perhaps pruned from the
	// runner's memory already, so a report takes them from here (unstored).
	inDays   map[dayKey]footfall.TrackDay
	inVisits map[visitKey]footfall.Visit
	// stores counts the times summaries being written reached the store
	// (inDays or inVisits cleared after a write): a reader of the store and
	// then of unstored sees every summary when it did not change
	// meanwhile.
	stores int64
	merges []trackMerge             // tracks merged into others: their summaries go
	heat   heatQueue                // heat tiles (writerheat.go)
	gaps   map[string]*gap          // by site: batches waiting in the journal (overflow.go)
	gone   map[[2]string]*goneTrack // merged tracks (site, track), recently
	// forgotten are tracks erased (site, track; forget.go): their
	// summaries are not queued again.
	forgotten map[[2]string]bool
	// forgottenDevs are the pseudonyms erased, by site: left out of what a
	// gap reads back from the journal (overflow.go).
	forgottenDevs map[string]map[wire.Dev]bool
	kick          chan struct{}

	written atomic.Int64 // observations written
	dropped atomic.Int64 // observations over the bound (stored from the journal with a journal)
	// fromJournal counts the observations stored from the journal after
	// an overflow; missing the batches of a gap the journal did not have.
	fromJournal atomic.Int64
	missing     atomic.Int64
	failures    atomic.Int64 // failed write attempts
	down        atomic.Bool  // the last write failed
}

type dayKey struct{ site, day, track string }

// goneTrack is a track merged into another recently: when, and the times
// [first, last] of its summaries that go (the merges' DeleteTrack).
type goneTrack struct {
	at    time.Time
	spans [][2]int64
}

// hides reports whether the summary of the track at t (first detection,
// visit start) goes with a merge.
func (g *goneTrack) hides(t int64) bool {
	for _, s := range g.spans {
		if t >= s[0] && t <= s[1] {
			return true
		}
	}
	return false
}

// trackMerge is a track merged into another, whose stored summaries (first
// detection and visit starts within [first, last]) are deleted and whose
// stored fixes within [first, last] are renamed into's.
type trackMerge struct {
	site, track, into string
	first, last       int64
}
type visitKey struct {
	site, track, zone string
	start             int64
}

func newWriter(st store.Store, limit int, log *slog.Logger) *writer {
	return &writer{st: st, limit: limit, log: log, pos: map[string][]wire.Position{}, gaps: map[string]*gap{},
		days: map[dayKey]footfall.TrackDay{}, visits: map[visitKey]footfall.Visit{}, kick: make(chan struct{}, 1)}
}

func (w *writer) batch(b store.RawBatch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.firstMark(b.Site, b.Recv)
	if _, open := w.gaps[b.Site]; open {
		w.dropped.Add(int64(len(b.Batch.Obs)))
		w.note(b.Site, b.Recv, w.held+len(b.Batch.Obs) > w.limit)
		return
	}
	if w.held+len(b.Batch.Obs) > w.limit {
		w.dropped.Add(int64(len(b.Batch.Obs)))
		if w.journal != nil {
			w.note(b.Site, b.Recv, true)
		}
		return
	}
	b.Batch.Obs = append([]wire.Observation(nil), b.Batch.Obs...)
	w.batches = append(w.batches, b)
	w.held += len(b.Batch.Obs)
}

func (w *writer) positions(site string, ps []wire.Position) {
	w.mu.Lock()
	w.pos[site] = append(w.pos[site], ps...)
	w.mu.Unlock()
}

// summaries queues upserts of track days and visits; a later version of the
// same key replaces an earlier one not yet written.
// Summaries of a track merged into another are left out (a snapshot taken
// before the merge may come after it).
func (w *writer) summaries(days []footfall.TrackDay, visits []footfall.Visit) {
	w.mu.Lock()
	for _, d := range days {
		k := [2]string{d.Site, d.Track}
		if _, gone := w.gone[k]; !gone && !w.forgotten[k] {
			w.days[dayKey{d.Site, d.Day, d.Track}] = d
		}
	}
	for _, v := range visits {
		k := [2]string{v.Site, v.Track}
		if _, gone := w.gone[k]; !gone && !w.forgotten[k] {
			w.visits[visitKey{v.Site, v.Track, v.Zone, v.Start}] = v
		}
	}
	w.mu.Unlock()
}

// merged drops the queued summaries of a track that was merged into
// another, renames its queued fixes into's and queues the deletion of its
// stored summaries and the renaming of its stored fixes. Fixes a flush in
// flight is writing under the old name are renamed by the next flush,
// which runs after it (flushMu) and writes positions before merges; a
// failed flush puts both back in that order.
func (w *writer) merged(site, track, into string, first, last int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	renameFixes(w.pos[site], track, into, first, last)
	for k := range w.days {
		if k.site == site && k.track == track {
			delete(w.days, k)
		}
	}
	for k := range w.visits {
		if k.site == site && k.track == track {
			delete(w.visits, k)
		}
	}
	w.merges = append(w.merges, trackMerge{site, track, into, first, last})
	now := time.Now()
	if w.gone == nil {
		w.gone = map[[2]string]*goneTrack{}
	}
	for k, g := range w.gone {
		if now.Sub(g.at) > time.Hour {
			delete(w.gone, k)
		}
	}
	k := [2]string{site, track}
	g := w.gone[k]
	if g == nil {
		g = &goneTrack{}
		w.gone[k] = g
	}
	g.at = now
	g.spans = append(g.spans, [2]int64{first, last})
}

// withoutMerged drops, from stored summaries of site, those of tracks
// merged into others recently (their deletion may still be queued): the
// ones their merges delete, within the merged times (the track's
// summaries of other days stay, as in the store).
func (w *writer) withoutMerged(site string, days []footfall.TrackDay, visits []footfall.Visit) ([]footfall.TrackDay, []footfall.Visit) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.gone) == 0 {
		return days, visits
	}
	days = slices.DeleteFunc(days, func(d footfall.TrackDay) bool {
		g := w.gone[[2]string{site, d.Track}]
		return g != nil && g.hides(d.First)
	})
	visits = slices.DeleteFunc(visits, func(v footfall.Visit) bool {
		g := w.gone[[2]string{site, v.Track}]
		return g != nil && g.hides(v.Start)
	})
	return days, visits
}

func (w *writer) run(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if backoff > 0 {
			time.Sleep(backoff)
		}
		err := w.flush(ctx)
		if err == nil {
			err = w.refill(ctx, time.Now().Add(refillTime))
		}
		if err != nil {
			w.failures.Add(1)
			if !w.down.Swap(true) {
				w.log.Error("storage write failed; holding data and retrying", "err", err)
			}
			backoff = min(max(2*backoff, 500*time.Millisecond), 15*time.Second)
			continue
		}
		if w.down.Swap(false) {
			w.log.Info("storage writes resumed")
		}
		backoff = 0
	}
}

// flush writes what is queued; on an error what was not written stays.
func (w *writer) flush(ctx context.Context) error {
	// One flush at a time: a drain at shutdown waits for the run loop's
	// write in flight instead of finding the queue empty and returning
	// while that write is still going (and then cut off with the store).
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	batches, held := w.batches, w.held
	pos := w.pos
	days, visits := w.days, w.visits
	merges := w.merges
	w.merges = nil
	w.batches, w.held = nil, 0
	w.pos = map[string][]wire.Position{}
	w.days, w.visits = map[dayKey]footfall.TrackDay{}, map[visitKey]footfall.Visit{}
	w.inDays, w.inVisits = days, visits
	w.mu.Unlock()
	written := func(days, visits bool) {
		w.mu.Lock()
		if days {
			w.inDays = nil
		}
		if visits {
			w.inVisits = nil
		}
		w.stores++
		w.mu.Unlock()
	}
	defer written(true, true)

	requeue := func() {
		w.mu.Lock()
		w.inDays, w.inVisits = nil, nil
		w.batches = append(batches, w.batches...)
		w.held += held
		for site, ps := range pos {
			w.pos[site] = append(ps, w.pos[site]...)
		}
		for k, d := range days {
			if _, newer := w.days[k]; !newer {
				w.days[k] = d
			}
		}
		for k, v := range visits {
			if _, newer := w.visits[k]; !newer {
				w.visits[k] = v
			}
		}
		w.merges = append(merges, w.merges...)
		w.mu.Unlock()
	}
	// A write once begun is finished even when the server is stopping;
	// only its own time limit cuts it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if len(batches) > 0 {
		// After a failed write the database may have committed it all the
		// same (the connection lost before its answer): the batches are
		// written again in place of whatever it holds of them.
		write := w.st.WriteBatches
		if w.uncertain {
			write = w.st.ReplaceBatches
		}
		if err := write(ctx, batches); err != nil {
			w.uncertain = true
			requeue()
			return err
		}
		w.uncertain = false
		w.written.Add(int64(held))
		w.markStored(batches)
		batches, held = nil, 0
	}
	for site, ps := range pos {
		if err := w.st.WritePositions(ctx, site, ps); err != nil {
			requeue()
			return err
		}
		delete(pos, site)
	}
	if len(days) > 0 {
		ds := make([]footfall.TrackDay, 0, len(days))
		for _, d := range days {
			ds = append(ds, d)
		}
		if err := w.st.WriteTrackDays(ctx, ds); err != nil {
			requeue()
			return err
		}
		written(true, false)
		clear(days)
	}
	if len(visits) > 0 {
		vs := make([]footfall.Visit, 0, len(visits))
		for _, v := range visits {
			vs = append(vs, v)
		}
		if err := w.st.WriteVisits(ctx, vs); err != nil {
			requeue()
			return err
		}
		written(false, true)
		clear(visits)
	}
	if err := w.flushHeat(ctx); err != nil {
		requeue()
		return err
	}
	// After the upserts: a merged track's rows written by this flush or an
	// earlier one go, and its fixes name the track it was merged into. A
	// retry after a failed rename deletes again (idempotent).
	for len(merges) > 0 {
		m := merges[0]
		if err := w.st.DeleteTrack(ctx, m.site, m.track, m.first, m.last); err != nil {
			requeue()
			return err
		}
		if err := w.st.RenameTrack(ctx, m.site, m.track, m.into, m.first, m.last); err != nil {
			requeue()
			return err
		}
		merges = merges[1:]
	}
	return nil
}

// drain writes everything still queued, and the overflow waiting in the
// journal, trying until ctx ends; it returns the last write's error when
// ctx ended first. It returns when ctx ends also while a write is under
// way (a database that does not answer): the write goes on, within its own
// time limit, and what it does not write stays queued.
func (w *writer) drain(ctx context.Context) error {
	for {
		res := make(chan error, 1)
		go func() {
			err := w.flush(ctx)
			if err == nil {
				err = w.refill(ctx, time.Time{})
			}
			res <- err
		}()
		var err error
		select {
		case err = <-res:
		case <-ctx.Done():
			return fmt.Errorf("server: storage not answering; queued data not written yet (the journal keeps it): %w", context.Cause(ctx))
		}
		if err == nil && len(w.gapped()) == 0 {
			return nil
		}
		if err == nil {
			err = errors.New("the journal's latest lines are not written yet")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server: storage not reachable; queued data not written (the journal keeps it): %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// unstored returns the summaries of site that are queued or being written:
// what a report must add to the stored ones, since the runner prunes its
// memory of closed days once it has handed them over (a flush behind a
// large backlog of observations can take seconds). The count is
// storeCount's at the same moment.
func (w *writer) unstored(site string) ([]footfall.TrackDay, []footfall.Visit, int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	dm := map[dayKey]footfall.TrackDay{}
	for _, m := range []map[dayKey]footfall.TrackDay{w.inDays, w.days} { // queued: newer
		for k, d := range m {
			if k.site == site {
				dm[k] = d
			}
		}
	}
	vm := map[visitKey]footfall.Visit{}
	for _, m := range []map[visitKey]footfall.Visit{w.inVisits, w.visits} {
		for k, v := range m {
			if k.site == site {
				vm[k] = v
			}
		}
	}
	return slices.Collect(maps.Values(dm)), slices.Collect(maps.Values(vm)), w.stores
}

// storeCount returns how many times summaries being written have reached
// the store (see unstored).
func (w *writer) storeCount() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stores
}

// pendingObs returns the observations held for writing.
func (w *writer) pendingObs() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.held
}
