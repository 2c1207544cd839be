package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Scale-out: several servers share the sites of one database and one MQTT
// broker (or cluster). Each site has a lease in the database; the instance
// that holds it runs the site's pipeline and takes the site's MQTT session
// (session.go).
// An instance renews its leases every third of their length, so when it
// dies its sites fall free after one length and the others take them. Each
// instance also keeps a lease on "@<instance>" as a heartbeat, so that all
// know how many are alive and take an even share: an instance with more
// than its share gives one site back per round.

const heartbeatPrefix = "@"

func (s *Server) instanceID() string {
	if s.cfg.Instance != "" {
		return s.cfg.Instance
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// leaseLoop balances the leases until ctx ends. Then, while the server
// shuts down, it only renews the leases it holds, and gives them back when
// shutdown closes s.leaseStop, once the writer has stored what the sites
// took: the instance that takes a site over rebuilds it from the stored
// observations. When it cannot renew the leases (the database out of reach
// for this instance) for two rounds, two thirds of a lease's length, it
// gives its sites up before the leases expire and another instance takes
// them: two pipelines of one site would both store its figures. A round
// that waits on the database (giving a site back stores what it took
// first; a rebuild) waits at most until then (leaseDeadline), so that the
// guard runs in time.
func (s *Server) leaseLoop(ctx context.Context) {
	defer close(s.leaseDone)
	ttl := s.cfg.LeaseTTL
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	stopping := ctx.Done()
	for {
		if s.leasePaused.Load() {
			// A test's stand-in for a frozen or dead instance.
		} else if ctx.Err() != nil {
			if err := s.renew(); err != nil {
				s.log.Warn("leases: renewing while shutting down", "err", err)
			}
		} else if err := s.balance(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("leases", "err", err)
			if !time.Now().Before(s.leaseDeadline()) && len(s.runners()) > 0 {
				s.giveUpSites()
			}
		}
		select {
		case <-s.leaseStop:
			if !s.leasePaused.Load() {
				s.releaseAll()
			}
			return
		case <-stopping:
			stopping = nil // renew from now on, until leaseStop
		case <-tick.C:
		}
	}
}

// leaseDeadline returns when the sites must be given up if the leases are
// not renewed before: two thirds of a lease's length after they last were.
func (s *Server) leaseDeadline() time.Time {
	return time.Unix(0, s.renewed.Load()).Add(s.cfg.LeaseTTL * 2 / 3)
}

// errLeasesLapsing ends the work of a lease round (a rebuild) whose leases
// could not be renewed in time.
var errLeasesLapsing = errors.New("server: the leases could not be renewed; the sites are given up")

// keepLeases renews owner's heartbeat and the leases of sites every third
// of a lease's length until the function it returns is called (and
// returns once the renewing has stopped). The context it returns, ctx's
// child, ends (errLeasesLapsing) once the leases have not been renewed by
// leaseDeadline: the work under way (a rebuild waiting for the writer
// while the database is away) gives way to leaseLoop's guard.
func (s *Server) keepLeases(ctx context.Context, owner string, sites map[string]bool) (context.Context, func()) {
	ids := make([]string, 0, len(sites)+1)
	ids = append(ids, heartbeatPrefix+owner)
	for site := range sites {
		ids = append(ids, site)
	}
	ttl := s.cfg.LeaseTTL
	lctx, lapse := context.WithCancelCause(ctx)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			late := time.NewTimer(time.Until(s.leaseDeadline()))
			select {
			case <-quit:
				late.Stop()
				return
			case <-late.C:
				if !time.Now().Before(s.leaseDeadline()) {
					lapse(errLeasesLapsing)
					return
				}
				continue
			case <-tick.C:
			}
			late.Stop()
			rctx, cancel := context.WithDeadline(context.Background(), s.leaseDeadline())
			now := time.Now()
			ok := true
			for _, id := range ids {
				if _, _, err := s.store.AcquireLease(rctx, id, owner, now.UnixMilli(), ttl.Milliseconds()); err != nil {
					s.log.Warn("leases: renewing while sites start", "site", id, "err", err)
					ok = false
					break
				}
			}
			cancel()
			if ok {
				s.renewed.Store(now.UnixNano())
			}
		}
	}()
	return lctx, func() {
		close(quit)
		<-done
		lapse(nil)
	}
}

// renew renews the leases of the sites this instance runs and its
// heartbeat, and nothing else: what the lease loop does while the server
// shuts down.
func (s *Server) renew() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LeaseTTL)
	defer cancel()
	owner := s.instanceID()
	ttl := s.cfg.LeaseTTL.Milliseconds()
	now := time.Now().UnixMilli()
	if _, _, err := s.store.AcquireLease(ctx, heartbeatPrefix+owner, owner, now, ttl); err != nil {
		return err
	}
	for _, r := range s.runners() {
		if _, _, err := s.store.AcquireLease(ctx, r.id, owner, now, ttl); err != nil {
			return err
		}
	}
	s.renewed.Store(time.UnixMilli(now).UnixNano())
	return nil
}

// balance renews, takes and gives back leases, and starts and stops the
// sites' pipelines to match.
func (s *Server) balance(ctx context.Context) error {
	owner := s.instanceID()
	ttl := s.cfg.LeaseTTL.Milliseconds()
	now := time.Now().UnixMilli()
	// The lease loop's reads and writes end by the guard's deadline: a
	// database that stops answering (no reset) must not hold the loop
	// past it. Past it (the sites given up, or none held) a round has a
	// third of a lease.
	deadline := s.leaseDeadline()
	if time.Now().After(deadline) {
		deadline = time.Now().Add(s.cfg.LeaseTTL / 3)
	}
	lctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if _, _, err := s.store.AcquireLease(lctx, heartbeatPrefix+owner, owner, now, ttl); err != nil {
		return err
	}
	leases, err := s.store.ListLeases(lctx)
	if err != nil {
		return err
	}
	alive := map[string]bool{owner: true}
	holder := map[string]string{}
	for _, l := range leases {
		if l.Expires <= now {
			continue
		}
		if strings.HasPrefix(l.Site, heartbeatPrefix) {
			alive[l.Owner] = true
		} else {
			holder[l.Site] = l.Owner
		}
	}
	vs, err := s.store.ListSites(lctx)
	if err != nil {
		return err
	}
	sites := make([]string, 0, len(vs))
	version := map[string]int{}
	for _, v := range vs {
		sites = append(sites, v.Site)
		version[v.Site] = v.Version
	}
	sort.Strings(sites)
	share := (len(sites) + len(alive) - 1) / len(alive)
	var mine []string
	for _, site := range sites {
		if holder[site] == owner {
			mine = append(mine, site)
		}
	}
	// Give one back when over the share, so a newcomer can take it.
	if len(mine) > share {
		last := mine[len(mine)-1]
		mine = mine[:len(mine)-1]
		s.stopSite(last)
		// The instance that takes it rebuilds it from storage: what the
		// site took is stored first (its session holds the rest). While
		// the database is away that waits at most until the other leases
		// must be renewed; then the lease is left to expire (the writer
		// stores what it holds once the database is back, from the
		// journal what overflowed), and the renewing below fails or goes
		// on in time.
		dctx, cancel := context.WithDeadline(ctx, s.leaseDeadline())
		err := s.writer.drain(dctx)
		cancel()
		if err != nil {
			s.log.Warn("a site given back before what it took is stored: its lease is left to expire", "site", last, "err", err)
		} else if err := s.store.ReleaseLease(lctx, last, owner); err != nil {
			return err
		} else {
			s.log.Info("lease given back to balance the instances", "site", last, "instances", len(alive))
		}
	}
	// Renew what is ours, then take free sites up to the share.
	owned := map[string]bool{}
	for _, site := range mine {
		if _, ok, err := s.store.AcquireLease(lctx, site, owner, now, ttl); err != nil {
			return err
		} else if ok {
			owned[site] = true
		}
	}
	s.renewed.Store(time.UnixMilli(now).UnixNano())
	for _, site := range sites {
		if holder[site] != "" || len(owned) >= share {
			continue
		}
		_, ok, err := s.store.AcquireLease(lctx, site, owner, now, ttl)
		if err != nil {
			return err
		}
		if ok {
			owned[site] = true
		}
	}
	// Rebuilding a site taken over (or a new version) reads its stored
	// observations and may take longer than a lease: the leases held are
	// renewed meanwhile.
	kctx, stop := s.keepLeases(ctx, owner, owned)
	defer stop()
	var failed error // sites whose start failed
	for site := range owned {
		r := s.runner(site)
		if r != nil && r.storedVersion() >= version[site] {
			continue
		}
		st, v, err := s.store.Site(kctx, site)
		if err != nil {
			return err
		}
		if r != nil {
			// A new version stored through another instance (its API,
			// a calibration): the holder applies it.
			if err := r.replace(kctx, st, v.Version); err != nil {
				return fmt.Errorf("server: apply version %d of %s: %w", v.Version, site, err)
			}
			s.log.Info("applied a new version of a site", "site", site, "version", v.Version)
			continue
		}
		// The rebuild reads the stored observations: what this instance
		// took of the site before (it gave the site up, its leases lost
		// with the database) is stored first, and a write under way
		// finished. The writer retries with a backoff of up to 15 s; the
		// drain writes at once. When it cannot, the site starts all the
		// same (its figures lack those batches until re-processed).
		dctx, cancel := context.WithTimeout(kctx, s.cfg.LeaseTTL)
		if err := s.writer.drain(dctx); err != nil {
			s.log.Warn("a site taken over is rebuilt without what this instance took of it before and has not stored yet",
				"site", site, "err", err)
		}
		cancel()
		if err := s.startSite(ctx, kctx, st, v); err != nil {
			// Tried again at the next round; the other sites start.
			failed = errors.Join(failed, err)
			continue
		}
		// Rebuilt: now the batches the session queued meanwhile.
		s.openSession(s.runner(site))
		s.log.Info("took the lease of a site", "site", site, "instance", owner)
	}
	for _, r := range s.runners() {
		if !owned[r.id] {
			s.stopSite(r.id)
			s.log.Info("lost the lease of a site", "site", r.id)
		}
	}
	return failed
}

// giveUpSites stops every site's pipeline and session: the leases
// could not be renewed, so they are about to expire (or have) and another
// instance will take the sites. What the runners hold goes to the writer,
// which writes it once the database is back.
func (s *Server) giveUpSites() {
	var ids []string
	for _, r := range s.runners() {
		s.stopSite(r.id)
		ids = append(ids, r.id)
	}
	s.log.Warn("leases not renewed for two thirds of their length; the sites are given up until the database answers again",
		"sites", ids, "ttl", s.cfg.LeaseTTL)
}

// stopSite stops a site's pipeline, storing what it has. Its session is
// closed first, while the runner still takes what the session had taken:
// without the runner, ingest would reject those batches as unknown and
// acknowledge them.
func (s *Server) stopSite(site string) {
	r := s.runner(site)
	if r == nil {
		return
	}
	r.closeSession()
	s.mu.Lock()
	delete(s.sites, site)
	s.mu.Unlock()
	r.stop()
}

func (s *Server) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	owner := s.instanceID()
	for _, r := range s.runners() {
		if err := s.store.ReleaseLease(ctx, r.id, owner); err != nil {
			s.log.Warn("leases: giving a lease back (it expires by itself)", "site", r.id, "err", err)
		}
	}
	if err := s.store.ReleaseLease(ctx, heartbeatPrefix+owner, owner); err != nil {
		s.log.Warn("leases: giving the heartbeat back (it expires by itself)", "err", err)
	}
}

// Running returns the ids of the sites this instance runs now.
func (s *Server) Running() []string {
	var out []string
	for _, r := range s.runners() {
		out = append(out, r.id)
	}
	return out
}
