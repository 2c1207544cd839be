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
			for _, r := range s.runners() {
				r.persist(ctx)
				s.checkAlerts(ctx, r)
				s.saveHealth(ctx, r)
			}
		case <-retention.C:
			s.retain(ctx)
			for _, r := range s.runners() {
				s.forgetPending(r.id, false)
			}
		}
	}
}
