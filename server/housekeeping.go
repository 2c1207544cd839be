package server

// The server's background rounds beside the site runners: housekeeping
// (sensor health, alerts, retention) and the hours' saving (hours.go),
// which end with Run's context and are awaited at shutdown.

import (
	"context"
	"time"
)

// awaitLoops waits, up to d, for the housekeeping and hours loops, which
// end with Run's context: a round under way (a day's final hours, the
// retention) finishes before the writer's drain and the store's Close.
func (s *Server) awaitLoops(d time.Duration) {
	done := make(chan struct{})
	go func() { s.loops.Wait(); close(done) }()
	s.log.Debug("waiting for the housekeeping and hours loops")
	select {
	case <-done:
	case <-time.After(d):
		s.log.Warn("shutting down with a housekeeping or hours round still under way", "waited", d)
	}
}

// housekeepRound is one round of housekeeping: the runners' summaries go
// to the writer, their sensors' alerts are raised or cleared and their
// health is stored.
func (s *Server) housekeepRound(ctx context.Context) {
	for _, r := range s.runners() {
		r.persist(ctx)
		s.checkAlerts(ctx, r)
		s.saveHealth(ctx, r)
	}
	s.storeKept(ctx)
	if err := s.unstored.save(); err != nil {
		s.log.Error("alerts kept while the database is away are not on disk: a restart before it is back loses them", "err", err)
	}
}

// storeKept stores the alerts kept (refused by the store) of sensors that
// no round of checkAlerts asks for: a site not run here (removed, another
// instance's in a cluster, or not started yet after a restart) or a sensor
// the site no longer has. Each is raised at its time and cleared at the
// time its condition ended, or now.
func (s *Server) storeKept(ctx context.Context) {
	now := time.Now().UnixMilli()
	for _, k := range s.unstored.keys() {
		if r := s.runner(k.site); r != nil && r.knows(k.sensor) {
			continue // checkAlerts asked for it
		}
		s.alert(ctx, k.site, k.sensor, k.kind, false, now, "")
	}
}

// housekeeping stores sensor health, applies retention and raises alerts
// (the hours are saved by hoursLoop).
func (s *Server) housekeeping(ctx context.Context) {
	tick := time.NewTicker(s.cfg.housekeepEvery)
	defer tick.Stop()
	retention := time.NewTicker(time.Hour)
	defer retention.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.housekeepRound(ctx)
		case <-retention.C:
			s.retain(ctx)
			for _, r := range s.runners() {
				s.forgetPending(r.id, false)
			}
		}
	}
}
