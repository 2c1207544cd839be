package ingest

// Exclusive sessions: a cluster keeps one persistent MQTT session per site,
// under a client id of the site's, and the instance that holds the site's
// lease connects with it (Config.Exclusive). The broker queues the site's
// batches in that session whoever holds it and whenever nobody does: while
// the old holder stops or lies dead and the new one rebuilds the site, the
// batches wait in the session, and the new holder gets them, with those
// the old one took and did not acknowledge, as soon as it connects. A
// second connection with the same client id takes the session over (MQTT
// 3.1.1, 3.1.4: the broker closes the first), so an instance that lost the
// lease without noticing (frozen, cut off from the database) loses the
// session too; it must not take it back, so it connects again only while
// Exclusive says the session is its own.

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// RecvClock hands out receive times (Unix ms) that strictly increase.
type RecvClock struct{ last atomic.Int64 }

// Next returns the receive time of a message that came at now: now, or
// just after the last one handed out.
func (c *RecvClock) Next(now int64) int64 {
	for {
		last := c.last.Load()
		t := max(now, last+1)
		if c.last.CompareAndSwap(last, t) {
			return t
		}
	}
}

// Last returns the last receive time handed out (or given to After).
func (c *RecvClock) Last() int64 { return c.last.Load() }

// After makes the receive times go on after t.
func (c *RecvClock) After(t int64) {
	for {
		last := c.last.Load()
		if t <= last || c.last.CompareAndSwap(last, t) {
			return
		}
	}
}

// session is the connecting of an exclusive subscriber.
type session struct {
	mu     sync.Mutex // held while connecting (one connect at a time)
	once   sync.Once
	closed atomic.Bool
	done   chan struct{} // closed by close; made by NewSubscriber
}

// close ends the session without waiting for a connect in progress: the
// connect gives up (Subscriber.Close disconnects the client, which ends
// it), and one that succeeded after all disconnects again (connectOnce).
func (ss *session) close() {
	ss.once.Do(func() {
		ss.closed.Store(true)
		close(ss.done)
	})
}

// wait waits for tok up to sessionWait or until the session is closed:
// errSessionEnded, errNoAnswer, or nil once tok is done.
func (ss *session) wait(tok interface{ Done() <-chan struct{} }) error {
	t := time.NewTimer(sessionWait)
	defer t.Stop()
	select {
	case <-tok.Done():
		return nil
	case <-ss.done:
		return errSessionEnded
	case <-t.C:
		return fmt.Errorf("%w within %v", errNoAnswer, sessionWait)
	}
}

// sessionWait bounds a connect and a subscribe of an exclusive session
// (a variable for the tests).
var sessionWait = 10 * time.Second

// Why an exclusive session does not connect.
var (
	errNotOurs      = errors.New("the session is no longer this server's")
	errSessionEnded = errors.New("closed")
	errNoAnswer     = errors.New("no answer")
)

// Start connects an exclusive subscriber and subscribes (waiting for the
// broker's answers, up to 10 s each): once it returns nil, the broker
// queues the site's batches for the session even while nobody holds it.
// When the broker cannot be reached, it goes on trying in the background
// (while Exclusive is true) and returns the error.
func (s *Subscriber) Start() error {
	if s.cfg.Exclusive == nil {
		return errors.New("ingest: Start is for exclusive sessions")
	}
	if err := s.connectOnce(); err != nil {
		if !errors.Is(err, errNotOurs) && !errors.Is(err, errSessionEnded) {
			go s.reconnect()
		}
		return err
	}
	return nil
}

// connectOnce connects and subscribes, unless the session is closed or no
// longer this server's.
func (s *Subscriber) connectOnce() error {
	ss := &s.session
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed.Load() {
		return fmt.Errorf("ingest: session %s: %w", s.cfg.ClientID, errSessionEnded)
	}
	if !s.cfg.Exclusive() {
		return fmt.Errorf("ingest: session %s: %w", s.cfg.ClientID, errNotOurs)
	}
	tok := s.client.Connect()
	if err := ss.wait(tok); err != nil {
		// Closed: Close disconnects (the connect ends). No answer: the
		// connect is given up.
		if errors.Is(err, errNoAnswer) {
			s.client.Disconnect(0)
		}
		return fmt.Errorf("ingest: session %s: connect: %w", s.cfg.ClientID, err)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("ingest: session %s: connect: %w", s.cfg.ClientID, err)
	}
	if ss.closed.Load() {
		// Closed while connecting, and connected all the same (Close's
		// disconnect came before the connect began): it must not hold
		// the session the next holder connects with.
		s.client.Disconnect(0)
		return fmt.Errorf("ingest: session %s: %w", s.cfg.ClientID, errSessionEnded)
	}
	filters := map[string]byte{}
	for _, t := range s.Topics() {
		filters[t] = 1
	}
	sub := s.client.SubscribeMultiple(filters, s.onMessage)
	err := ss.wait(sub)
	if err == nil {
		err = sub.Error()
	}
	if err != nil {
		// Connected but not subscribed: the broker would queue nothing
		// for the session, and a connected client cannot connect again.
		// Disconnect, so that reconnect starts afresh.
		if !errors.Is(err, errSessionEnded) {
			s.client.Disconnect(0)
		}
		return fmt.Errorf("ingest: session %s: subscribe: %w", s.cfg.ClientID, err)
	}
	return nil
}

// reconnect connects an exclusive session again after a lost connection
// (or a failed start), with growing pauses, until it is connected or
// closed. While the session is not this server's (another took it over,
// or the lease could not be read) it only waits: the server closes it
// once it has given the site up, or connects it if the lease turns out
// to be its own after all.
func (s *Subscriber) reconnect() {
	warned := false
	for delay := time.Second; ; delay = min(2*delay, 10*time.Second) {
		time.Sleep(delay)
		err := s.connectOnce()
		switch {
		case err == nil:
			s.log.Info("session connected again", "client", s.cfg.ClientID)
			return
		case errors.Is(err, errSessionEnded):
			return
		case errors.Is(err, errNotOurs):
			if !warned {
				s.log.Warn("session not this server's (another took it over, or the lease is not renewed); not connecting for now", "client", s.cfg.ClientID)
				warned = true
			}
		default:
			s.log.Warn("session: connecting again failed", "err", err, "retry", delay)
		}
	}
}
