package server

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/ingest"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// siteRunner owns one site's pipeline. Batches come in on a bounded channel
// and are processed by one goroutine; web requests read its state under mu.
type siteRunner struct {
	srv *Server
	id  string
	in  chan delivery

	sensorIDs atomic.Pointer[map[string]bool] // the site's sensors, for ingest

	mu       sync.Mutex
	site     *wire.Site
	plan     *zones.Plan
	pipe     *pipeline.Pipeline
	counter  *footfall.Counter
	live     map[string]wire.Position // track -> latest fix
	occ      map[string]int
	occDirty bool
	lastT    int64
	quiet    bool // recovering from the journal: nothing is published or stored
	statuses map[string]ingest.Status
	seen     map[string]*sensorSeen
	posSaved map[string]int64 // track -> t of the last stored position
	heat     *heat
	// trackDevs are the pseudonyms seen in each track, for retention;
	// devTrack the track of each pseudonym, for the calibration walk.
	trackDevs map[string]map[wire.Dev]struct{}
	devTrack  map[wire.Dev]string
	pending   []wire.Position // positions to store
	positions int64

	// restoreFrom, while recovering for a site change, is the time from
	// which positions are stored again (0: none are).
	restoreFrom int64

	hoursSaved time.Time // housekeeping's clock only

	ctl  chan func()
	done chan struct{}
	quit chan struct{}
}

type delivery struct {
	recv  int64
	b     *wire.Batch
	drops wire.Drops
}

// sensorSeen keeps receive-side figures of a sensor: when a batch came last
// and the observations per second over the last minute.
type sensorSeen struct {
	lastRecv int64
	window   [60]int64 // observations per wall-clock second, ring
	stamp    [60]int64 // the second each slot counts
}

const (
	liveExpiry     = 5 * 60_000 // ms a track stays on the live map without a fix
	positionsEvery = 5_000      // ms between stored positions of one track
)

func (s *Server) startSite(ctx context.Context, site *wire.Site) error {
	r := &siteRunner{
		srv: s, id: site.Site, in: make(chan delivery, 4096),
		statuses: map[string]ingest.Status{}, seen: map[string]*sensorSeen{},
		ctl: make(chan func()), done: make(chan struct{}), quit: make(chan struct{}),
	}
	if err := r.reset(site); err != nil {
		return err
	}
	if err := r.recover(); err != nil {
		s.log.Warn("journal recovery incomplete", "site", site.Site, "err", err)
	}
	s.mu.Lock()
	s.sites[site.Site] = r
	s.mu.Unlock()
	go r.run(ctx)
	return nil
}

// reset builds a fresh pipeline for site.
func (r *siteRunner) reset(site *wire.Site) error {
	plan := zones.NewPlan(site)
	counter := footfall.NewCounter(site, plan)
	p, err := pipeline.New(pipeline.Config{Site: site, Zone: plan.Innermost, Lateness: r.srv.cfg.Lateness}, r)
	if err != nil {
		return fmt.Errorf("server: site %s: %w", site.Site, err)
	}
	ids := make(map[string]bool, len(site.Sensors))
	for _, se := range site.Sensors {
		ids[se.ID] = true
	}
	r.sensorIDs.Store(&ids)
	r.mu.Lock()
	r.site, r.plan, r.counter, r.pipe = site, plan, counter, p
	r.live = map[string]wire.Position{}
	r.occ = map[string]int{}
	r.posSaved = map[string]int64{}
	r.heat = newHeat(site)
	r.trackDevs = map[string]map[wire.Dev]struct{}{}
	r.devTrack = map[wire.Dev]string{}
	r.mu.Unlock()
	return nil
}

// recover replays the journal of yesterday and today (UTC days) so that a
// restarted server picks up open visits, today's figures and live tracks
// exactly where the journal left them. Nothing is published or stored again
// while recovering, except the summaries, which are upserts.
func (r *siteRunner) recover() error {
	if r.srv.cfg.Cluster {
		return r.recoverFromStore()
	}
	now := time.Now().UTC()
	from := now.Add(-24 * time.Hour).Format(time.DateOnly)
	files, err := r.srv.journal.Files(r.id, from, "")
	if err != nil || len(files) == 0 {
		return err
	}
	r.mu.Lock()
	r.quiet = true
	startup := r.restoreFrom == 0 // not the rebuild of a site change
	r.mu.Unlock()
	n := 0
	// At start, what was journaled after the stored mark was never stored.
	// (A rebuild while running finds it still queued in the writer.)
	mark, marked := r.srv.writer.storedMark(r.id)
	marked = marked && startup
	var seen int64
	err = ingest.ReadJournal(files, func(l *wire.Line) error {
		r.mu.Lock()
		err := r.pipe.Accept(l.Recv, &l.Batch, l.Drops)
		r.mu.Unlock()
		// Journaled but not yet stored when the server stopped.
		if err == nil && marked && len(l.Batch.Obs) > 0 && mark.unstored(l.Recv, &seen) {
			r.srv.writer.batch(store.RawBatch{Site: r.id, Recv: l.Recv, Batch: l.Batch})
		}
		n++
		return nil
	}, func(file string, err error) {
		r.srv.log.Warn("journal line skipped", "site", r.id, "err", err)
	})
	r.mu.Lock()
	r.quiet = false
	r.mu.Unlock()
	r.srv.log.Info("recovered from the journal", "site", r.id, "batches", n, "files", len(files))
	return err
}

// recoverFromStore rebuilds the site's state from the stored observations
// of the last 36 hours: what an instance that takes over a site from another
// needs, since the journal of the other is on its own disk.
func (r *siteRunner) recoverFromStore() error {
	now := time.Now().UnixMilli()
	r.mu.Lock()
	r.quiet = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.quiet = false
		r.mu.Unlock()
	}()
	n := 0
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := r.srv.store.ScanBatches(ctx, r.id, now-36*3600_000, now+3600_000, func(b *store.RawBatch) error {
		r.mu.Lock()
		r.pipe.Accept(b.Recv, &b.Batch, wire.Drops{})
		r.mu.Unlock()
		n++
		return nil
	})
	r.srv.log.Info("recovered from stored observations", "site", r.id, "batches", n)
	return err
}

// reprocess rebuilds the live pipeline, in its own goroutine, from the
// stored observations since from (with late backlogs put in order), and
// replaces the stored figures since from with the rebuilt ones: memory and
// storage then agree, and the live map goes on.
func (r *siteRunner) reprocess(ctx context.Context, site *wire.Site, from int64) error {
	res := make(chan error, 1)
	f := func() { res <- r.rebuildFromStore(ctx, site, from) }
	select {
	case r.ctl <- f:
	case <-r.done:
		return fmt.Errorf("server: site %s is stopping", r.id)
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-res
}

func (r *siteRunner) rebuildFromStore(ctx context.Context, site *wire.Site, from int64) error {
	r.persist(ctx)
	// Let the writer store what the live pipeline handed it, so that the
	// scan below sees every batch taken so far.
	r.srv.writer.drain(ctx)
	if err := r.reset(site); err != nil {
		return err
	}
	r.mu.Lock()
	r.pipe.SetLateness(reorderStored)
	r.quiet, r.restoreFrom = true, from
	r.mu.Unlock()
	n := 0
	err := r.srv.store.ScanBatches(ctx, r.id, from, time.Now().Add(time.Hour).UnixMilli(), func(b *store.RawBatch) error {
		r.mu.Lock()
		r.pipe.Accept(b.Recv, &b.Batch, wire.Drops{})
		r.mu.Unlock()
		n++
		return nil
	})
	r.mu.Lock()
	r.pipe.SetLateness(r.srv.lateness()) // releases what the live lateness lets go
	r.quiet, r.restoreFrom = false, 0
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("server: reprocess %s: %w", r.id, err)
	}
	r.srv.writer.drain(ctx)
	if err := r.srv.store.DeleteDerived(ctx, r.id, from, time.Now().Add(time.Hour).UnixMilli()); err != nil {
		return fmt.Errorf("server: reprocess %s: %w", r.id, err)
	}
	r.persist(ctx)
	r.srv.log.Info("re-processed through the live pipeline", "site", r.id, "from", from, "batches", n)
	return nil
}

func (r *siteRunner) run(ctx context.Context) {
	defer close(r.done)
	occTick := time.NewTicker(250 * time.Millisecond)
	defer occTick.Stop()
	for {
		select {
		case d := <-r.in:
			r.accept(d)
		case f := <-r.ctl:
			f()
		case <-occTick.C:
			r.publishOccupancy()
		case <-r.quit:
			for {
				select {
				case d := <-r.in:
					r.accept(d)
				default:
					r.persist(context.Background())
					return
				}
			}
		case <-ctx.Done():
			r.persist(context.Background())
			return
		}
	}
}

func (r *siteRunner) stop() {
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
	<-r.done
}

func (r *siteRunner) deliver(recv int64, b *wire.Batch, drops wire.Drops) {
	r.in <- delivery{recv, b, drops}
}

func (r *siteRunner) accept(d delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.pipe.Accept(d.recv, d.b, d.drops); err != nil {
		return // a duplicate, or a sensor the site no longer has
	}
	if len(d.b.Obs) > 0 {
		r.srv.writer.batch(store.RawBatch{Site: r.id, Recv: d.recv, Batch: *d.b})
	}
	if r.srv.cal != nil {
		r.srv.cal.Observe(r.id, d.b)
	}
	ss := r.seen[d.b.Sensor]
	if ss == nil {
		ss = &sensorSeen{}
		r.seen[d.b.Sensor] = ss
	}
	ss.lastRecv = d.recv
	sec := d.recv / 1000
	i := sec % int64(len(ss.window))
	if ss.stamp[i] != sec {
		ss.stamp[i], ss.window[i] = sec, 0
	}
	ss.window[i] += int64(len(d.b.Obs))
}

func (ss *sensorSeen) rate(now int64) float64 {
	var n int64
	sec := now / 1000
	for i := range ss.window {
		if sec-ss.stamp[i] < int64(len(ss.window)) {
			n += ss.window[i]
		}
	}
	return float64(n) / float64(len(ss.window))
}

// Position implements pipeline.Handler; it runs under r.mu.
func (r *siteRunner) Position(p wire.Position) {
	r.counter.Add(p)
	r.heat.add(&p)
	devs := r.trackDevs[p.Track]
	if devs == nil {
		devs = map[wire.Dev]struct{}{}
		r.trackDevs[p.Track] = devs
	}
	devs[p.Dev] = struct{}{}
	r.devTrack[p.Dev] = p.Track
	r.lastT = p.T
	r.positions++
	if r.quiet {
		r.live[p.Track] = p
		if r.restoreFrom > 0 && p.T >= r.restoreFrom {
			r.savePosition(p)
		}
		return
	}
	r.live[p.Track] = p
	r.srv.feed.Publish(r.id, web.Event{Position: &p})
	r.occDirty = true
	r.savePosition(p)
}

// savePosition queues p for storage, one position per track every
// positionsEvery.
func (r *siteRunner) savePosition(p wire.Position) {
	if last, ok := r.posSaved[p.Track]; !ok || p.T-last >= positionsEvery {
		r.posSaved[p.Track] = p.T
		r.pending = append(r.pending, p)
	}
}

// Advance implements pipeline.Handler; it runs under r.mu.
func (r *siteRunner) Advance(now int64) {
	r.counter.Advance(now)
	r.heat.builder.Expire(now)
	for track, p := range r.live {
		if now-p.T > liveExpiry {
			delete(r.live, track)
			delete(r.posSaved, track)
			if !r.quiet {
				r.srv.feed.Publish(r.id, web.Event{Gone: track})
				r.occDirty = true
			}
		}
	}
}

func (r *siteRunner) publishOccupancy() {
	r.mu.Lock()
	if !r.occDirty {
		r.mu.Unlock()
		return
	}
	r.occDirty = false
	occ := r.counter.Occupancy()
	same := maps.Equal(occ, r.occ)
	r.occ = occ
	r.mu.Unlock()
	if !same {
		r.srv.feed.Publish(r.id, web.Event{Occupancy: maps.Clone(occ)})
	}
}

// knows reports whether the site has the sensor. It runs on the ingest
// path for every batch, so it reads a snapshot of the sensor ids instead of
// waiting for r.mu, which the runner holds while it locates a batch.
func (r *siteRunner) knows(sensor string) bool {
	ids := r.sensorIDs.Load()
	return ids != nil && (*ids)[sensor]
}

func (r *siteRunner) setStatus(sensor string, st ingest.Status) {
	r.mu.Lock()
	r.statuses[sensor] = st
	r.mu.Unlock()
}

// persist hands the stored positions and the footfall summaries that may have
// changed to the writer, and forgets what is final and stored.
func (r *siteRunner) persist(ctx context.Context) {
	r.mu.Lock()
	pos := r.pending
	r.pending = nil
	days := r.counter.TrackDays()
	visits := r.counter.Visits()
	now := r.pipe.Now()
	r.mu.Unlock()
	w := r.srv.writer
	if len(pos) > 0 {
		w.positions(r.id, pos)
	}
	w.summaries(days, visits)
	// Keep two days of closed summaries in memory; older ones are stored.
	if now > 0 {
		r.mu.Lock()
		r.counter.Prune(now - 48*3600_000)
		if len(r.trackDevs) > 1<<15 {
			keep := map[string]bool{}
			for _, d := range r.counter.TrackDays() {
				keep[d.Track] = true
			}
			for t, devs := range r.trackDevs {
				if !keep[t] {
					delete(r.trackDevs, t)
					for d := range devs {
						delete(r.devTrack, d)
					}
				}
			}
		}
		r.mu.Unlock()
	}
}

// snapshot returns the live map's state.
func (r *siteRunner) snapshot() *web.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &web.Snapshot{Site: r.id, T: r.lastT, Occupancy: r.counter.Occupancy()}
	for _, p := range r.live {
		s.Tracks = append(s.Tracks, p)
	}
	sortPositions(s.Tracks)
	return s
}

// summaries returns the in-memory track days and visits.
func (r *siteRunner) summaries() ([]footfall.TrackDay, []footfall.Visit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counter.TrackDays(), r.counter.Visits()
}

// replace swaps in a new version of the site, in the runner's goroutine so
// that no batch comes between: a fresh pipeline is rebuilt from the journal
// (as at a restart) with the new site, and today's stored figures are
// replaced by the rebuilt ones, so today follows the new plan as if it had
// held all day. Earlier days keep theirs; `passant reprocess` redoes them.
func (r *siteRunner) replace(ctx context.Context, site *wire.Site) error {
	res := make(chan error, 1)
	f := func() { res <- r.rebuild(ctx, site) }
	select {
	case r.ctl <- f:
	case <-r.done:
		return fmt.Errorf("server: site %s is stopping", r.id)
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-res
}

func (r *siteRunner) rebuild(ctx context.Context, site *wire.Site) error {
	r.persist(ctx)
	if err := r.reset(site); err != nil {
		return err
	}
	now := time.Now()
	y, m, d := now.In(site.Location()).Date()
	dayStart := time.Date(y, m, d, 0, 0, 0, 0, site.Location()).UnixMilli()
	r.mu.Lock()
	r.restoreFrom = dayStart
	r.mu.Unlock()
	err := r.recover()
	r.mu.Lock()
	r.restoreFrom = 0
	r.mu.Unlock()
	if err != nil {
		return err
	}
	// The writer may still hold summaries of the old plan: write them first,
	// so that the delete takes them too.
	r.srv.writer.drain(ctx)
	if err := r.srv.store.DeleteDerived(ctx, r.id, dayStart, now.UnixMilli()+3600_000); err != nil {
		return fmt.Errorf("server: site %s: replace today's figures: %w", r.id, err)
	}
	r.persist(ctx)
	r.mu.Lock()
	occ := r.counter.Occupancy()
	r.mu.Unlock()
	r.srv.feed.Publish(r.id, web.Event{Occupancy: occ})
	return nil
}
