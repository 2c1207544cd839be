package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// The Server is the web package's Backend.
var _ web.Backend = (*Server)(nil)

// Ready implements web.Backend.
func (s *Server) Ready() bool { return s.ready.Load() }

// Unhealthy implements web.Backend: the journal cannot write (a full
// disk), so ingest acknowledges nothing and the broker sends no more.
func (s *Server) Unhealthy() error {
	if s.journal == nil {
		return nil
	}
	if h := s.journal.Health(); h.Err != nil {
		return fmt.Errorf("journal cannot write since %s (%d failed writes, retried): %w",
			h.Since.UTC().Format(time.RFC3339), h.Failures, h.Err)
	}
	return nil
}

func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %v", web.ErrNotFound, err)
	}
	return err
}

func webVersion(v store.SiteVersion) web.SiteVersion { return web.SiteVersion(v) }

// Sites implements web.Backend.
func (s *Server) Sites(ctx context.Context) ([]*wire.Site, error) {
	vs, err := s.store.ListSites(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*wire.Site, 0, len(vs))
	for _, v := range vs {
		site, _, err := s.store.Site(ctx, v.Site)
		if err != nil {
			return nil, err
		}
		out = append(out, site)
	}
	return out, nil
}

// Site implements web.Backend.
func (s *Server) Site(ctx context.Context, site string) (*wire.Site, web.SiteVersion, error) {
	st, v, err := s.store.Site(ctx, site)
	return st, webVersion(v), notFound(err)
}

// PutSite implements web.Backend: a new version, applied live.
func (s *Server) PutSite(ctx context.Context, site *wire.Site, note string) (web.SiteVersion, error) {
	if err := site.Validate(); err != nil {
		return web.SiteVersion{}, fmt.Errorf("%w: %v", web.ErrInvalid, err)
	}
	v, err := s.store.SaveSite(ctx, site, store.SourceAPI, note)
	if err != nil {
		return web.SiteVersion{}, err
	}
	return webVersion(v), s.apply(ctx, site.Site)
}

// RevertSite implements web.Backend.
func (s *Server) RevertSite(ctx context.Context, site string, version int, note string) (web.SiteVersion, error) {
	v, err := s.store.RevertSite(ctx, site, version, note)
	if err != nil {
		return web.SiteVersion{}, notFound(err)
	}
	return webVersion(v), s.apply(ctx, site)
}

// apply starts or updates the site's pipeline with its latest version. In
// a cluster only the instance that holds the site's lease runs it: a site
// this instance does not run is left to the lease loop, which starts a new
// site where it gets the lease and has the holder apply a new version
// (balance).
func (s *Server) apply(ctx context.Context, id string) error {
	site, v, err := s.store.Site(ctx, id)
	if err != nil {
		return err
	}
	if r := s.runner(id); r != nil {
		return r.replace(ctx, site, v.Version)
	}
	if s.cfg.Cluster {
		return nil
	}
	return s.startSite(context.WithoutCancel(ctx), ctx, site, v)
}

// SiteVersions implements web.Backend.
func (s *Server) SiteVersions(ctx context.Context, site string) ([]web.SiteVersion, error) {
	vs, err := s.store.SiteHistory(ctx, site)
	if err != nil {
		return nil, notFound(err)
	}
	out := make([]web.SiteVersion, len(vs))
	for i, v := range vs {
		out[i] = webVersion(v)
	}
	return out, nil
}

// SiteVersion implements web.Backend.
func (s *Server) SiteVersion(ctx context.Context, site string, version int) (*wire.Site, web.SiteVersion, error) {
	st, v, err := s.store.SiteAt(ctx, site, version)
	return st, webVersion(v), notFound(err)
}

// PutPlan implements web.Backend.
func (s *Server) PutPlan(ctx context.Context, site string, img web.PlanImage) error {
	return s.store.PutPlanImage(ctx, site, store.PlanImage(img))
}

// Plan implements web.Backend.
func (s *Server) Plan(ctx context.Context, site string) (web.PlanImage, error) {
	img, err := s.store.PlanImage(ctx, site)
	return web.PlanImage(img), notFound(err)
}

// Sensors implements web.Backend.
func (s *Server) Sensors(ctx context.Context, site string) ([]web.SensorHealth, error) {
	r := s.runner(site)
	if r == nil {
		return nil, fmt.Errorf("%w: site %s", web.ErrNotFound, site)
	}
	return r.health(time.Now().UnixMilli()), nil
}

// A sensor is online when it says so in its status and has been heard
// from lately: a batch within onlineWithin, or a status (which `passant
// sensor` republishes every 30 s, also when it hears nobody) within
// statusWithin. A working sensor in a quiet night is online; the Sensors
// page's last batch says how long it has heard nothing.
const (
	onlineWithin = 30_000
	statusWithin = 75_000
)

func (r *siteRunner) health(now int64) []web.SensorHealth {
	r.mu.Lock()
	defer r.mu.Unlock()
	stats := r.pipe.Stats()
	out := make([]web.SensorHealth, 0, len(r.site.Sensors))
	for i, se := range r.site.Sensors {
		h := web.SensorHealth{ID: se.ID, Label: se.Label, X: se.X, Y: se.Y, Known: true, State: "unknown"}
		st := stats[i]
		h.Batches, h.Observations, h.Lost = st.Batches, st.Obs+st.Skipped, st.Lost
		h.Rejected = st.Dropped + st.Late
		h.ClockOffsetMs = float64(st.Offset)
		h.Clock = "ok"
		if st.Offset > 50 || st.Offset < -50 {
			h.Clock = "corrected"
		}
		if st.Clock == pipeline.ClockQuarantined || st.Clock == pipeline.ClockCorrected {
			h.Clock = st.Clock
		}
		if ss := r.seen[se.ID]; ss != nil {
			h.LastSeen = ss.lastRecv
			h.Rate = ss.rate(now)
		}
		if status, ok := r.statuses[se.ID]; ok {
			h.State, h.Version, h.Started, h.Dropped = status.State, status.Version, status.Started, status.Dropped
			h.Tx, h.BeyondKey, h.ClockTrusted = status.Tx, status.BeyondKey, status.ClockTrusted
		} else if h.LastSeen > 0 {
			h.State = "online"
		}
		at := r.statusAt[se.ID]
		h.Online = h.State == "online" && (h.LastSeen > 0 && now-h.LastSeen < onlineWithin || at > 0 && now-at < statusWithin)
		out = append(out, h)
	}
	return out
}

// Live implements web.Backend.
func (s *Server) Live(ctx context.Context, site string) (*web.Snapshot, error) {
	r := s.runner(site)
	if r == nil {
		return nil, fmt.Errorf("%w: site %s", web.ErrNotFound, site)
	}
	return r.snapshot(), nil
}

// Subscribe implements web.Backend.
func (s *Server) Subscribe(ctx context.Context, site string) (<-chan web.Event, error) {
	if s.runner(site) == nil {
		return nil, fmt.Errorf("%w: site %s", web.ErrNotFound, site)
	}
	return s.feed.Subscribe(ctx, site)
}

// ImportPOS implements web.Backend.
func (s *Server) ImportPOS(ctx context.Context, site string, tx []footfall.Transaction) (int, error) {
	if s.runner(site) == nil {
		return 0, fmt.Errorf("%w: site %s", web.ErrNotFound, site)
	}
	for i := range tx {
		tx[i].Site = site
	}
	return s.store.WriteTransactions(ctx, tx)
}

// EventTime is the event time up to which site's pipeline has processed
// the observations (Unix ms; what passant_lag_seconds measures against the
// wall clock), 0 before its first or when another instance runs the site.
func (s *Server) EventTime(site string) int64 {
	r := s.runner(site)
	if r == nil {
		return 0
	}
	return r.gauges.now.Load()
}

// Metrics implements web.Backend.
func (s *Server) Metrics() []web.Metric {
	var m []web.Metric
	add := func(name, help, kind string, v float64, labels map[string]string) {
		m = append(m, web.Metric{Name: name, Help: help, Kind: kind, Value: v, Labels: labels})
	}
	if s.sub != nil {
		c := s.sub.C
		add("passant_batches_received_total", "Observation batches received over MQTT.", "counter", float64(c.Messages.Load()), nil)
		add("passant_batches_rejected_total", "Batches rejected by the contract's checks.", "counter", float64(c.Rejected.Load()), nil)
		add("passant_observations_total", "Observations accepted.", "counter", float64(c.Observation.Load()), nil)
		add("passant_observations_dropped_total", "Observations dropped by the contract's checks.", "counter", float64(c.Dropped.Load()), nil)
		failed := c.JournalErr.Load()
		if s.journal != nil {
			failed += s.journal.Health().Failures
		}
		add("passant_journal_errors_total", "Journal writes that failed (each retried until it writes).", "counter", float64(failed), nil)
	}
	if s.journal != nil {
		up := 1.0
		if s.journal.Health().Err != nil {
			up = 0
		}
		add("passant_journal_up", "Whether the journal's last write succeeded (while 0, ingest acknowledges nothing).", "gauge", up, nil)
	}
	now := time.Now().UnixMilli()
	for _, r := range s.runners() {
		// The runner's gauges, not its lock: a scrape must not wait while
		// the runner locates a batch.
		g := &r.gauges
		l := map[string]string{"site": r.id}
		add("passant_fixes_total", "Position fixes computed.", "counter", float64(g.fixes.Load()), l)
		add("passant_tracks", "Live tracks.", "gauge", float64(g.tracks.Load()), l)
		add("passant_batches_duplicate_total", "Batches delivered again (QoS 1) and dropped by sensor, boot and id.", "counter", float64(g.dupes.Load()), l)
		add("passant_batches_lost_total", "Batches missing from the sensors' sequences of ids.", "counter", float64(g.lost.Load()), l)
		add("passant_observations_late_total", "Observations that came after their time was processed (stored, not located live).", "counter", float64(g.late.Load()), l)
		add("passant_backlog_batches_total", "Batches a site runner read from the journal because its queue was full.", "counter", float64(r.bl.batches.Load()), l)
		add("passant_backlog_episodes_total", "Times a site runner's queue was full and it fell behind to the journal.", "counter", float64(r.bl.times.Load()), l)
		if t := g.now.Load(); t > 0 {
			add("passant_lag_seconds", "Wall clock minus the event time processed.", "gauge", float64(now-t)/1000, l)
		}
	}
	if s.writer != nil {
		add("passant_store_observations_written_total", "Observations written to storage.", "counter", float64(s.writer.written.Load()), nil)
		add("passant_store_observations_dropped_total", "Observations the write buffer did not hold (full, or its site's earlier ones waiting in the journal): stored from the journal once the database takes them.", "counter", float64(s.writer.dropped.Load()), nil)
		add("passant_store_journal_observations_total", "Observations stored from the journal after the write buffer overflowed.", "counter", float64(s.writer.fromJournal.Load()), nil)
		add("passant_store_journal_pending_batches", "Batches waiting in the journal to be stored (the write buffer's overflow).", "gauge", float64(s.writer.journalPending()), nil)
		add("passant_store_journal_missing_batches_total", "Batches of the write buffer's overflow the journal did not have: not stored.", "counter", float64(s.writer.missing.Load()), nil)
		add("passant_store_pending_observations", "Observations waiting to be written.", "gauge", float64(s.writer.pendingObs()), nil)
		up := 1.0
		if s.writer.down.Load() {
			up = 0
		}
		add("passant_store_up", "Whether the last storage write succeeded.", "gauge", up, nil)
	}
	if s.broker != nil {
		add("passant_broker_messages_dropped_total", "Messages the embedded broker dropped to a subscriber that read or acknowledged too slowly.", "counter", float64(s.broker.Dropped()), nil)
	}
	add("passant_websocket_events_dropped_total", "Live events a slow subscriber could not take.", "counter", float64(s.feed.Dropped()), nil)
	return m
}

func sortPositions(ps []wire.Position) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Track < ps[j].Track })
}
