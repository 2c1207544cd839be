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
// (or, when it is full, through the journal: backlog.go) and are processed
// by one goroutine; web requests read its state under mu.
type siteRunner struct {
	srv       *Server
	persistMu sync.Mutex // persist's hand-overs one at a time
	id        string
	in        chan delivery
	bl        backlog

	sensorIDs atomic.Pointer[map[string]bool] // the site's sensors, for ingest
	// session is the site's MQTT session in a cluster (session.go); nil
	// otherwise, where the server's subscriber takes every site.
	session       atomic.Pointer[ingest.Subscriber]
	sessionClosed atomic.Bool
	anchors       *anchors // fixed transmitters: not people

	// gauges are the figures /metrics shows, published after every batch
	// so that a scrape never waits for mu while the runner locates.
	gauges runnerGauges

	mu       sync.Mutex
	site     *wire.Site
	version  int // the stored version of site
	plan     *zones.Plan
	pipe     *pipeline.Pipeline
	counter  *footfall.Counter
	live     map[string]wire.Position // track -> latest fix
	occ      map[string]int
	occDirty bool
	lastT    int64
	firstT   int64 // the first fix's event time since the start (saveFinalHours)
	now      int64 // the watermark: event time the pipeline has reached
	quiet    bool  // recovering from the journal: nothing is published or stored
	statuses map[string]ingest.Status
	statusAt map[string]int64 // when each sensor's latest status came, wall clock ms
	seen     map[string]*sensorSeen
	posSaved map[string]int64 // track -> t of the last stored position
	heat     *heat
	// heatHeld keeps the heat tiles baked from the writer while a rebuild
	// has yet to delete the stored ones it replaces (holdHeat).
	heatHeld bool
	// trackDevs are the pseudonyms seen in each track, for retention;
	// devTrack the track of each pseudonym, for the calibration walk, which
	// reads it from inside accept (under mu): so it is written under mu and
	// devMu both and read under either, and devMu is held for nothing else.
	trackDevs map[string]map[wire.Dev]struct{}
	// orig puts the fixes of a re-processing before the retention's cut
	// under the stored tracks of their pseudonyms (thinned.go); zero
	// otherwise.
	orig     origTracks
	devMu    sync.Mutex
	devTrack map[wire.Dev]string
	// forgotten are pseudonyms erased (forget.go): their observations are
	// dropped, live and from the journal, while the process runs; and so
	// are fixes of them or of the tracks erased (forgottenTracks).
	forgotten       map[wire.Dev]bool
	forgottenTracks map[string]bool
	pending         []wire.Position // positions to store
	positions       int64

	// restoreFrom, while recovering for a site change, is the time from
	// which positions are stored again (0: none are).
	restoreFrom int64
	// floor (under mu) is the time before which the counter's summaries
	// are neither stored nor read by reports (sinceFloor, rebuild.go).
	floor int64
	// held (under mu), while a start replays the journal without a
	// checkpoint, holds back its floor and merges (restartfloor.go).
	held *heldRestart
	// recovered is the receive time of the last batch the latest rebuild
	// from the journal read (runner's goroutine only): a delivery up to it,
	// queued or in the backlog while the rebuild read the journal, has
	// been taken already.
	recovered int64
	// ckDue is the event time at which the next checkpoint is due
	// (checkpoint.go; runner's goroutine, or before it starts).
	ckDue int64
	// ckGen counts the erasures (forget.go) that touched the runner's
	// memory or the site's journal: a checkpoint whose state was taken
	// before one is not written. ckFile is held while the checkpoint file
	// is written or removed.
	ckGen  atomic.Int64
	ckFile sync.Mutex
	// devsPruned is the event time trackDevs and devTrack were last
	// pruned to the counter's and the live map's tracks (persist).
	devsPruned int64

	hours hoursState // housekeeping's goroutine only
	// staff (under mu): the reads of the earlier days' staff
	// (refreshKnownStaff).
	staff   staffRead
	yielded time.Time  // when the runner last let other goroutines run
	gate    ingestGate // how long it may still wait for ingest (yieldToIngest)

	ctl  chan func()
	done chan struct{}
	quit chan struct{}
}

type delivery struct {
	recv  int64
	b     *wire.Batch
	drops wire.Drops
	// payload, when b is nil, is a plain batch as ingest checked and
	// journaled it (ingest.Config.DeliverPlain): accept decodes it.
	payload []byte
	// next is the journal's position after the batch's line (zero when it
	// has none), where a checkpoint taken after it ends.
	next ingest.Pos
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
	devsPruneEvery = 3_600_000  // ms of event time between prunings of trackDevs
)

// startSite rebuilds a site's live state (recover, within rebuild) and
// starts its runner, which lives until stop (ctx ends only what it reads
// of the store).
func (s *Server) startSite(ctx, rebuild context.Context, site *wire.Site, v store.SiteVersion) error {
	r := &siteRunner{
		srv: s, id: site.Site, version: v.Version, floor: versionFloor(v, site.Location()), in: make(chan delivery, s.cfg.QueueBatches),
		statuses: map[string]ingest.Status{}, statusAt: map[string]int64{}, seen: map[string]*sensorSeen{},
		ctl: make(chan func()), done: make(chan struct{}), quit: make(chan struct{}),
	}
	r.anchors = s.siteAnchors(site.Site)
	if err := r.reset(site); err != nil {
		return err
	}
	// Erasures left pending in journal files that were open (forget.go):
	// before they are read back.
	s.forgetPending(site.Site, !s.ingesting.Load())
	if err := r.recover(rebuild, true); err != nil {
		if s.cfg.Cluster {
			// Rebuilt from the store, whose read failed: started from
			// what it read, the site's figures would go on from a part
			// of the day (and be stored over the complete ones). The
			// lease loop tries again at its next round.
			return fmt.Errorf("server: rebuild %s from storage: %w", site.Site, err)
		}
		s.log.Warn("journal recovery incomplete", "site", site.Site, "err", err)
	}
	s.mu.Lock()
	s.sites[site.Site] = r
	s.mu.Unlock()
	if s.past != nil {
		s.past.forget(site.Site)
	}
	go r.run(ctx)
	return nil
}

// reset builds a fresh pipeline for site.
func (r *siteRunner) reset(site *wire.Site) error {
	plan := zones.NewPlan(site)
	counter := footfall.NewCounter(site, plan)
	p, err := pipeline.New(pipeline.Config{Site: site, Zone: plan.Innermost, Lateness: r.srv.cfg.Lateness,
		Skip: r.anchors.has}, r)
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
	r.staff.day = "" // the new counter knows no staff yet
	r.live = map[string]wire.Position{}
	r.occ = map[string]int{}
	r.posSaved = map[string]int64{}
	r.heat = newHeat(site)
	r.trackDevs = map[string]map[wire.Dev]struct{}{}
	r.devMu.Lock()
	r.devTrack = map[wire.Dev]string{}
	r.devMu.Unlock()
	r.publishGauges()
	r.mu.Unlock()
	r.calibrateAgainstAnchors(site)
	return nil
}

func (r *siteRunner) run(ctx context.Context) {
	defer close(r.done)
	// A read of the earlier days' staff under way ends with the runner.
	defer r.staff.wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	occTick := time.NewTicker(250 * time.Millisecond)
	defer occTick.Stop()
	for {
		// While behind, everything queued came before the backlog: once
		// the queue is empty the backlog is read, a chunk at a time,
		// still heeding the other channels.
		in, backlog := r.in, (<-chan struct{})(nil)
		if r.behind() && len(r.in) == 0 {
			in, backlog = nil, alwaysReady
		}
		select {
		case d := <-in:
			r.yieldToIngest()
			r.accept(d)
			r.checkpointDue(d.next)
		case <-backlog:
			r.yieldToIngest()
			r.catchUp(backlogChunk)
		case f := <-r.ctl:
			f()
		case <-occTick.C:
			r.refreshKnownStaff(ctx)
			r.publishOccupancy()
		case <-r.quit:
			// Only stop ends the runner, not the server's context: ingest
			// delivers until it is closed (TestClusterHandoverLosesNothing).
			r.drain()
			return
		}
	}
}

// alwaysReady is a closed channel: a select case on it is always ready.
var alwaysReady = func() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// drain processes what is queued and the backlog behind it, then stores.
func (r *siteRunner) drain() {
	for {
		select {
		case d := <-r.in:
			r.accept(d)
			continue
		default:
		}
		if !r.behind() || !r.catchUp(backlogChunk) {
			break
		}
	}
	for len(r.in) > 0 {
		r.accept(<-r.in)
	}
	r.persist(context.Background())
}

func (r *siteRunner) stop() {
	// The site's session first (a cluster's): what it took is delivered
	// before the runner drains, the rest waits in the session for the
	// next holder.
	r.closeSession()
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
	<-r.done
}

func (r *siteRunner) accept(d delivery) {
	if d.recv <= r.recovered {
		if d.b == nil {
			r.decoded(d.payload)
		}
		return
	}
	if d.b == nil {
		b, drops, err := wire.ParseBatch(d.payload)
		r.decoded(d.payload)
		if err != nil {
			// Ingest checked it: the same bytes cannot fail now.
			r.srv.log.Error("a checked batch did not decode; skipped", "site", r.id, "recv", d.recv, "err", err)
			return
		}
		d.b, d.drops, d.payload = &b, drops, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	d.b = r.withoutForgotten(d.b)
	err := r.pipe.Accept(d.recv, d.b, d.drops)
	r.publishGauges()
	if err != nil {
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

func (r *siteRunner) publishOccupancy() {
	r.mu.Lock()
	if !r.occDirty {
		r.mu.Unlock()
		return
	}
	r.occDirty = false
	occ := r.occupancy()
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
	if !st.Retained { // a retained one is what it last said, not that it is there
		r.statusAt[sensor] = time.Now().UnixMilli()
	}
	site := r.site
	r.mu.Unlock()
	if st.Tx != nil {
		r.announced(site, sensor, st.Tx)
	}
}

// persistSnapshotHook, in tests, runs in persist between taking the
// snapshot and handing it to the writer.
var persistSnapshotHook func()

// persist hands the stored positions and the footfall summaries that may have
// changed to the writer, and forgets what is final and stored.
func (r *siteRunner) persist(ctx context.Context) {
	// One at a time (housekeeping, a heatmap query, a rebuild, the
	// runner's end): each snapshot reaches the writer in the order taken,
	// or an older one would overwrite a newer one in its queue.
	r.persistMu.Lock()
	defer r.persistMu.Unlock()
	r.mu.Lock()
	pos := r.pending
	r.pending = nil
	days, visits := r.sinceFloor()
	now := max(r.pipe.Now(), r.now)
	w := r.srv.writer
	if !r.quiet && !r.heatHeld {
		// Under mu: a heatmap query reads the runner's baked tiles, then
		// the writer's, and must find them in one or the other.
		w.heatTiles(r.id, r.heat.takeBaked())
	}
	r.mu.Unlock()
	if persistSnapshotHook != nil {
		persistSnapshotHook()
	}
	if len(pos) > 0 {
		w.positions(r.id, pos)
	}
	w.summaries(days, visits)
	// Keep two days of closed summaries in memory; older ones are stored.
	if now > 0 {
		r.mu.Lock()
		r.counter.Prune(now - 48*3600_000)
		if now-r.devsPruned >= devsPruneEvery {
			// The pseudonyms of the tracks the counter holds (its two
			// days) and the live map's: retention's visitors and an
			// erasure's links read those of the counter's tracks, the
			// calibration walk the live ones'. Kept for every track, they
			// grew by about 300 kB a day (docs/reliability.md).
			r.devsPruned = now
			keep := map[string]bool{}
			for _, d := range r.counter.TrackDays() {
				keep[d.Track] = true
			}
			for t := range r.live {
				keep[t] = true
			}
			for t, devs := range r.trackDevs {
				if !keep[t] {
					delete(r.trackDevs, t)
					r.devMu.Lock()
					for d := range devs {
						delete(r.devTrack, d)
					}
					r.devMu.Unlock()
				}
			}
		}
		r.mu.Unlock()
	}
}

// occupancy returns the live occupancy per zone at the watermark: for the
// store and its areas the non-staff tracks in them now (footfall's
// Counter.Present: the latest fix, at most footfall.PresentWithin old,
// leaves the track in the store), for each outside zone (the street) the
// tracks on the live map whose latest fix lies in it and is at most
// footfall.StreetWithin old: the people walking by now. It runs under r.mu.
func (r *siteRunner) occupancy() map[string]int {
	now := max(r.now, r.lastT)
	occ := r.counter.Present(now, footfall.PresentWithin)
	for _, id := range r.plan.Outside() {
		occ[id] = 0
	}
	for _, p := range r.live {
		if now-p.T <= footfall.StreetWithin && p.Zone != "" && r.plan.Kind(p.Zone) == wire.ZoneOutside {
			occ[p.Zone]++
		}
	}
	return occ
}

// snapshot returns the live map's state.
func (r *siteRunner) snapshot() *web.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &web.Snapshot{Site: r.id, T: r.lastT, Occupancy: r.occupancy()}
	for _, p := range r.live {
		s.Tracks = append(s.Tracks, p)
	}
	sortPositions(s.Tracks)
	return s
}

// summaries returns the in-memory track days and visits (since the floor).
func (r *siteRunner) summaries() ([]footfall.TrackDay, []footfall.Visit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sinceFloor()
}

// runnerGauges hold a site runner's figures for /metrics.
type runnerGauges struct {
	fixes, tracks, dupes, lost, late, now atomic.Int64
}

// publishGauges copies the pipeline's figures into r.gauges; it runs
// under r.mu.
func (r *siteRunner) publishGauges() {
	g := &r.gauges
	g.fixes.Store(r.positions)
	g.tracks.Store(int64(r.pipe.Tracks()))
	dupes, lost, late := r.pipe.Totals()
	g.dupes.Store(dupes)
	g.lost.Store(lost)
	g.late.Store(late)
	g.now.Store(r.pipe.Now())
}
