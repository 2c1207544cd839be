package ingest

// The ordered pipeline. The MQTT client hands over one message at a time,
// in arrival order (SetOrderMatters(true)). Decoding a batch, the
// contract's checks on each observation, is most of the work per message
// and depends on nothing but the payload, so it runs on several goroutines
// (Config.Decoders); all the rest runs on one goroutine in arrival order:
// the known-sensor check, the counters, the journal line, delivery and the
// queue of acknowledgements. So the journal, the site runners and the
// broker see the messages in the order they came, as with one goroutine,
// and a replay of the journal still gives what the live server computed.
//
//	client ──onMessage──▶ ordered ──────────────▶ sequence ──▶ journal, Deliver, acks
//	              └──────▶ decode ──▶ decodeLoop ×N ──(done)──┘
//
// Memory stays bounded: at most inFlight messages between the client and
// the sequencer; when the pipeline is full, onMessage waits, and with it
// the client's reading from the broker.

import (
	"errors"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/wire"
)

// inFlight is how many messages the pipeline holds at most.
const inFlight = 64

// appendRetry is how long the sequencer waits before it appends a batch
// again whose journal file could not be opened.
const appendRetry = 500 * time.Millisecond

// job is one message in the pipeline.
type job struct {
	m            mqtt.Message
	payload      []byte // the message's (Subscriber.payload)
	own          bool   // payload was read by payloadConn: given back once done (release)
	kind         jobKind
	site, sensor string
	recv         int64
	done         chan struct{} // closed once decoded (batches only)
	flushed      chan struct{} // a marker of flush: closed when reached

	// Set by the decoder before done is closed.
	b     *wire.Batch // apart from the job: delivery keeps it, not the payload; nil when only checked
	n     int         // observations accepted
	drops wire.Drops
	err   error
	body  []byte // the batch's JSON for the journal line: the payload when plain
	plain bool   // the payload was only checked (Config.DeliverPlain)
}

type jobKind uint8

const (
	jobOther jobKind = iota
	jobBatch
	jobStatus
	jobFlush
)

// onMessage is the client's handler; it runs in arrival order.
func (s *Subscriber) onMessage(_ mqtt.Client, m mqtt.Message) {
	s.inMu.RLock()
	defer s.inMu.RUnlock()
	if s.inClosed {
		return // closed: not acknowledged, the broker sends it again
	}
	s.arrived(time.Now().UnixNano())
	payload, own, found := s.payload(m)
	if !found {
		// Not acknowledged: the broker sends it again after a reconnect.
		s.log.Error("message without its payload; not acknowledged", "topic", m.Topic())
		return
	}
	site, sensor, kind, ok := s.splitTopic(m.Topic())
	jb := &job{m: m, payload: payload, own: own, site: site, sensor: sensor}
	switch {
	case ok && kind == "obs":
		s.C.Messages.Add(1)
		jb.kind = jobBatch
		// Receive times strictly increase, so that storage, which orders
		// batches by them, gives them back in the order they came.
		jb.recv = s.clock.Next(s.cfg.Now().UnixMilli())
		jb.done = make(chan struct{})
		s.decode <- jb
	case ok && kind == "status":
		jb.kind = jobStatus
	}
	s.ordered <- jb
}

// payload returns the payload of m: the one taken out of the stream for it
// when the subscriber reads the connection itself (conn.go), where every
// message's payload is a token (own); found is false when that is missing
// (a message of a connection lost before the last).
func (s *Subscriber) payload(m mqtt.Message) (payload []byte, own, found bool) {
	p := m.Payload()
	if s.own == nil || !isToken(p) {
		return p, false, true
	}
	payload, found = s.own.take(p)
	return payload, found, found
}

// release gives the payload of jb back for a later message once nothing
// holds it any more (not the client's own payloads: its message has it).
func (s *Subscriber) release(jb *job) {
	if jb.own {
		s.own.release(jb.payload)
	}
	jb.payload = nil
}

// decodeLoop is a decoder: it checks batches in whatever order it takes
// them; the sequencer puts them back in order.
//
// With Config.DeliverPlain it first only checks the payload, decoding into
// a buffer of its own that every batch reuses (no allocation per batch); a
// plain payload is then journaled and delivered as received, and only a
// batch that is not plain (dropped observations, other fields) is decoded
// again for keeps.
func (s *Subscriber) decodeLoop() {
	var scratch []wire.Observation
	for jb := range s.decode {
		payload := jb.payload
		if s.cfg.DeliverPlain != nil {
			// A payload written as encoders write a valid batch is
			// checked without decoding it (wire.CheckPlain: what it
			// takes, DecodeBatch takes as plain, with the same sensor
			// and count); anything else is decoded with every check.
			if sensor, n, ok := wire.CheckPlain(payload); ok && string(sensor) == jb.sensor {
				jb.n, jb.plain, jb.body = n, true, payload
				close(jb.done)
				continue
			}
			b, drops, plain, err := wire.DecodeBatchInto(payload, scratch)
			if cap(b.Obs) > cap(scratch) {
				scratch = b.Obs[:0]
			}
			if err == nil {
				err = b.CheckTopic(jb.sensor)
			}
			if err != nil || plain {
				jb.n, jb.drops, jb.err, jb.plain, jb.body = len(b.Obs), drops, err, err == nil, payload
				close(jb.done)
				continue
			}
		}
		b, drops, plain, err := decode(jb.sensor, payload)
		jb.b, jb.n, jb.drops, jb.err = &b, len(b.Obs), drops, err
		if err == nil && s.cfg.Journal != nil {
			if plain {
				jb.body = payload
			} else {
				jb.body = wire.AppendBatch(nil, &b)
			}
		}
		close(jb.done)
	}
}

// sequence takes the messages in arrival order, each once decoded.
func (s *Subscriber) sequence() {
	for jb := range s.ordered {
		switch jb.kind {
		case jobBatch:
			<-jb.done
			s.onBatch(jb)
		case jobStatus:
			s.onStatus(jb.site, jb.sensor, jb.m, jb.payload)
			s.acks <- pendingAck{nil, jb.m}
			s.release(jb)
		case jobFlush:
			close(jb.flushed)
		default:
			s.acks <- pendingAck{nil, jb.m}
		}
	}
	close(s.acks) // closed (end): the acknowledgements end after these
}

// flush waits up to wait until every message handed over so far has been
// through the sequencer.
func (s *Subscriber) flush(wait time.Duration) {
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	jb := &job{kind: jobFlush, flushed: make(chan struct{})}
	s.inMu.RLock()
	if s.inClosed {
		s.inMu.RUnlock()
		return
	}
	select {
	case s.ordered <- jb:
	case <-timeout.C:
		s.inMu.RUnlock()
		return
	}
	s.inMu.RUnlock()
	select {
	case <-jb.flushed:
	case <-timeout.C:
	}
}

// onBatch journals, delivers and queues the acknowledgement of a decoded
// batch, or counts and logs its rejection. The payload is then given back
// for a later message unless DeliverPlain kept it: the journal holds a copy
// of it, and a decoded batch holds nothing of it.
func (s *Subscriber) onBatch(jb *job) {
	m, site := jb.m, jb.site
	err := jb.err
	if err == nil {
		err = checkKnown(site, jb.sensor, s.cfg.Known)
	}
	if err != nil {
		s.C.Rejected.Add(1)
		if errors.Is(err, wire.ErrUnknownSensor) {
			s.C.Unknown.Add(1)
		}
		s.logReject(m.Topic(), err)
		s.acks <- pendingAck{nil, m}
		s.release(jb)
		return
	}
	s.C.Accepted.Add(1)
	s.C.Observation.Add(int64(jb.n))
	s.C.Dropped.Add(int64(jb.drops.Total()))
	var synced <-chan error
	var at At
	if j := s.cfg.Journal; j != nil {
		var err error
		for {
			synced, at, err = j.AppendBatchJSONAt(site, jb.recv, jb.body)
			if err == nil || errors.Is(err, ErrClosed) {
				break
			}
			// Its file cannot be opened (a full disk): tried again until
			// it can, ingest waiting meanwhile. Dropped, the message would
			// hold one of the broker's in-flight places until a reconnect.
			s.C.JournalErr.Add(1)
			s.log.Error("journal append failed; tried again", "topic", m.Topic(), "err", err, "retry", appendRetry)
			time.Sleep(appendRetry)
		}
		if err != nil {
			// Closed: not acknowledged, the broker delivers it again.
			s.release(jb)
			return
		}
	}
	jb.body = nil
	kept := false
	if jb.plain {
		kept = s.cfg.DeliverPlain(site, jb.recv, jb.payload, at)
	} else {
		s.cfg.Deliver(site, jb.recv, jb.b, jb.drops, at)
	}
	if !kept {
		s.release(jb)
	}
	s.acks <- pendingAck{synced, m}
}

func (s *Subscriber) ackLoop() {
	for a := range s.acks {
		if a.synced == nil {
			a.m.Ack()
			s.acked()
			continue
		}
		// The journal answers once the line is on disk: while it cannot
		// write, the acknowledgements wait here (in order), and with them
		// the broker's in-flight window; they go out as soon as a round
		// writes the lines again. An error: the journal was closed first.
		if err := <-a.synced; err != nil {
			s.log.Error("journal closed before the batch was written; not acknowledged", "topic", a.m.Topic(), "err", err)
			continue
		}
		a.m.Ack()
		s.acked()
	}
}

// acked notes that a message was acknowledged just now (ackLoop only).
func (s *Subscriber) acked() {
	s.C.LastAcked.Store(time.Now().UnixNano())
	s.C.Acked.Add(1)
}

// Busy reports whether messages are coming in: some wait in the ordered
// pipeline, one arrived within busyGap (the MQTT client hands them over
// one at a time, so an empty pipeline in a burst is the usual case), or
// the last busyCount came within busyWindow (a burst, which goes on
// through a pause of a few milliseconds: ingest itself waiting for a CPU
// made such pauses, and the site runners took them to locate).
func (s *Subscriber) Busy() bool {
	return len(s.ordered) > 0 || s.busyAt(time.Now().UnixNano())
}

// arrived notes that a message came at now (Unix ns); onMessage only.
func (s *Subscriber) arrived(now int64) {
	s.lastMsg.Store(now)
	s.arrivals[s.arrivalN].Store(now)
	s.arrivalN = (s.arrivalN + 1) % busyCount
}

// busyAt is Busy at now (Unix ns) without the pipeline's queue.
func (s *Subscriber) busyAt(now int64) bool {
	if now-s.lastMsg.Load() < int64(busyGap) {
		return true
	}
	// A burst: the last busyCount messages came within busyWindow, so a
	// pause of a few milliseconds in it (ingest waiting for a CPU) does
	// not end it.
	for i := range s.arrivals {
		if now-s.arrivals[i].Load() >= int64(busyWindow) {
			return false
		}
	}
	return true
}

// busyCount messages within busyWindow (800 a second) are a burst; a
// steady stream of some 300 sensors at a batch a second is not.
const (
	busyCount  = 16
	busyWindow = 20 * time.Millisecond
)

// busyGap is how soon after a message another makes ingest busy: in a
// burst the broker sends them back to back (well under a millisecond
// apart); the load run's stream of 40 sensors is 25 ms apart on average.
const busyGap = 3 * time.Millisecond
