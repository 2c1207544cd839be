package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/passant/passant/ingest"
)

// Site sessions: in a cluster each site has a persistent MQTT session of its
// own (client id <prefix>-site-<site>), and the instance that holds the
// site's lease connects with it once it has rebuilt the site. The broker
// queues the site's batches in the session while nobody holds it: while the
// old holder shuts down (it closes the session before it stores what it
// took and gives the lease back) or lies dead until its lease expires, and
// while the new holder rebuilds. The new holder then gets them all, with
// those the old one took and did not acknowledge (which it stored, or which
// it lost with its memory: the redelivered ones the rebuilt pipeline has
// seen are dropped as duplicates). Before, each instance subscribed to its
// sites in its own session, and what came between the two instances was
// queued in the old one's session, and rejected by it as unknown when it
// came back (docs/reliability.md, "2026-12-05 night 2").

// sessionID is the client id of a site's session: the same for every
// instance of the cluster (they share the topic prefix).
func (s *Server) sessionID(site string) string {
	return strings.ReplaceAll(s.cfg.Prefix, "/", "-") + "-site-" + site
}

// newSubscriber makes the server's subscriber and keeps its configuration
// for the site sessions.
func (s *Server) newSubscriber(broker, user, pass string, tlsCfg *tls.Config) (*ingest.Subscriber, error) {
	s.ingest = ingest.Config{
		Broker: broker, Username: user, Password: pass, TLS: tlsCfg, Prefix: s.cfg.Prefix,
		Journal: s.journal, Log: s.log, Clock: &ingest.RecvClock{}, Buffers: &ingest.Buffers{},
		Known: s.known, Deliver: s.deliver, DeliverPlain: s.deliverPlain, Status: s.status,
	}
	s.ingest.Clock.After(s.lastRecv.Last())
	ic := s.ingest
	// A cluster instance's own session subscribes to nothing (each site
	// has a session of its own): a clean one drops the site subscriptions
	// an earlier version of the server left in it.
	ic.ClientID, ic.Only, ic.Clean = s.cfg.ClientID, s.cfg.Cluster, s.cfg.Cluster
	sub, err := ingest.NewSubscriber(ic)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return sub, nil
}

// openSession connects r's site session. It returns once the broker
// has the session's subscription (or after a failed try, which is taken up
// again in the background: the batches wait in the session meanwhile).
func (s *Server) openSession(r *siteRunner) {
	ic := s.ingest
	ic.ClientID, ic.Sites, ic.Only = s.sessionID(r.id), []string{r.id}, true
	ic.Counters = s.sub.C
	// The receive times go on after those of the stored batches the
	// rebuild read: the old holder's.
	ic.Clock.After(s.lastRecv.Last())
	// The session is this instance's while it runs the site and holds
	// the lease: one that lost it (frozen, cut off from the database)
	// must not take the session back from the new holder.
	ic.Exclusive = func() bool { return !r.sessionClosed.Load() && s.runner(r.id) == r && s.holds(r.id) }
	sub, err := ingest.NewSubscriber(ic)
	if err != nil {
		s.log.Error("site session", "site", r.id, "err", err) // a programmer's error: the configuration is the server's
		return
	}
	r.session.Store(sub)
	if r.sessionClosed.Load() {
		// The runner stopped meanwhile (the server shutting down).
		sub.Close(0)
		return
	}
	if err := sub.Start(); err != nil {
		s.log.Warn("site session not connected yet; trying again in the background", "site", r.id, "err", err)
	}
}

// holds reports whether this instance holds site's lease now. It only
// reads: taking a lease is the lease loop's, which rebuilds the site first.
func (s *Server) holds(site string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ls, err := s.store.ListLeases(ctx)
	if err != nil {
		return false
	}
	now := time.Now().UnixMilli()
	for _, l := range ls {
		if l.Site == site {
			return l.Owner == s.instanceID() && l.Expires > now
		}
	}
	return false
}

// ingest returns the subscriber that takes the runner's batches: its site
// session in a cluster, else the server's.
func (r *siteRunner) ingest() *ingest.Subscriber {
	if sess := r.session.Load(); sess != nil {
		return sess
	}
	return r.srv.sub
}

// closeSession closes the runner's site session, if any and not closed
// yet: the batches it took are delivered, the rest wait in the session
// for the next holder.
func (r *siteRunner) closeSession() {
	if r.sessionClosed.CompareAndSwap(false, true) {
		if sess := r.session.Load(); sess != nil {
			sess.Close(500 * time.Millisecond)
		}
	}
}

// closeSessions closes the site sessions of every runner, all at once: at
// shutdown, before the runners drain.
func (s *Server) closeSessions() {
	var wg sync.WaitGroup
	for _, r := range s.runners() {
		wg.Go(r.closeSession)
	}
	wg.Wait()
}
