package ingest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/wire"
)

// DefaultPrefix is the contract's default topic prefix.
const DefaultPrefix = "passant"

// Config configures a Subscriber.
type Config struct {
	Broker   string // tcp://host:1883 or ssl://host:8883
	ClientID string // stable, so the broker keeps the session while the server is away
	Username string
	Password string
	TLS      *tls.Config
	Prefix   string // topic prefix; default "passant"
	// Sites limits the subscription to these sites (scale-out: each server
	// takes its share, and SetSites changes it); with Only false and no
	// sites the subscription is to all sites.
	Sites []string
	Only  bool
	// Known reports whether the server knows the site and sensor.
	Known func(site, sensor string) bool
	// Journal, when set, gets every accepted batch before it is delivered;
	// the broker's QoS 1 acknowledgement waits until the line is on disk.
	Journal *Journal
	// Deliver gets every accepted batch, in arrival order, with where its
	// line is in the journal (zero without a journal). It may block
	// (back-pressure on the broker) but should not for long: with a
	// journal, a receiver that falls behind can read the batches from it
	// (Journal.ReadRange) instead of waiting.
	Deliver func(site string, recv int64, b *wire.Batch, drops wire.Drops, at At)
	// DeliverPlain, when set, gets instead of Deliver every accepted batch
	// whose payload is plain (wire.DecodeBatch: it is journaled verbatim,
	// no observation was dropped), undecoded: the payload as received,
	// which wire.DecodeBatch decodes to the checked batch (decoding is a
	// pure function of the bytes). Ingest then only checks such a batch
	// (into a buffer it reuses) and leaves building it to the receiver:
	// in a burst the receiver waits (the site runners yield to ingest),
	// so ingest does less per message while messages come. Batches that
	// are not plain still go to Deliver, decoded.
	//
	// DeliverPlain returns whether it kept the payload: one it did not
	// keep (a receiver that reads the batch from the journal instead) is
	// reused for a later message at once; one it kept it may give back
	// with Subscriber.Release once done with it.
	DeliverPlain func(site string, recv int64, payload []byte, at At) (kept bool)
	// Status gets every sensor status message.
	Status func(site, sensor string, s Status)
	// Now is the receive clock (default time.Now).
	Now func() time.Time
	// RecvAfter is the newest receive time already journaled (by an
	// earlier run of the server): receive times go on strictly after it,
	// even when a burst had pushed them ahead of the clock before a
	// restart, so that the journal's lines stay in receive order across
	// restarts (and across UTC midnight, where the file changes).
	RecvAfter int64
	// Clock, when set, hands out the receive times instead (RecvAfter is
	// then ignored): one clock shared by the subscribers of one server
	// (a cluster instance's site sessions) keeps its receive times
	// strictly increasing whichever subscriber takes a site's batches.
	Clock *RecvClock
	// Counters, when set, are counted into instead of the subscriber's
	// own: the site sessions of a cluster instance count together.
	Counters *Counters
	// Buffers, when set, is the free list of payload buffers, shared with
	// the server's other subscribers (see Buffers).
	Buffers *Buffers
	// Exclusive makes the subscriber a session that belongs to whoever
	// holds a lease (a cluster's site session, session.go): it connects
	// with a persistent session, and after a lost connection it connects
	// again only while Exclusive returns true. Another server that
	// connects with the same ClientID takes the session over (MQTT
	// 3.1.1: the broker closes the older connection), with what the
	// broker queued and what it sent and was not acknowledged.
	Exclusive func() bool
	// Clean starts with a clean session: the broker drops what an
	// earlier session of ClientID subscribed to and queued.
	Clean bool
	// Decoders is how many goroutines decode batches (default GOMAXPROCS
	// − 1, at least 1: the reading of the connection, the journal and the
	// broker need a core too; on two cores a second decoder made a burst
	// slower, docs/reliability.md); whatever their number, batches are
	// journaled, delivered and acknowledged in arrival order.
	Decoders int
	Log      *slog.Logger
}

// Status is the contract's sensor status message.
type Status struct {
	V         int    `json:"v"`
	State     string `json:"state"`
	Version   string `json:"version,omitempty"`
	Started   int64  `json:"started,omitempty"`
	Captured  int64  `json:"captured"`
	Published int64  `json:"published"`
	Dropped   int64  `json:"dropped"`
	// Tx extends the contract: the probe requests the sensor transmits
	// for self-calibration (passant sensor --transmit).
	Tx *wire.Tx `json:"tx,omitempty"`
	// BeyondKey and ClockTrusted extend it too: frames an epoch-key
	// sensor dropped past its key's epoch, and whether its clock may move
	// the key (sensor.Status).
	BeyondKey    uint64 `json:"beyond_key,omitempty"`
	ClockTrusted *bool  `json:"clock_trusted,omitempty"`
	// Retained says the broker handed the status over because it was
	// retained (at a new subscription), not because the sensor sent it
	// now: what it last said, no sign that it is there.
	Retained bool `json:"-"`
}

// statusExtensions are the status fields of this project's sensors that a
// status may lose when they do not read, keeping the rest (ParseStatus).
var statusExtensions = []string{"tx", "beyond_key", "clock_trusted"}

// Counters are what a Subscriber has seen.
type Counters struct {
	Messages    atomic.Int64 // obs messages received
	Accepted    atomic.Int64 // batches accepted
	Rejected    atomic.Int64 // batches rejected (all reasons)
	Unknown     atomic.Int64 // of which for an unknown site or sensor
	Observation atomic.Int64 // observations accepted
	// LastAcked is when the last message was acknowledged to the broker
	// (Unix ns; a batch once its journal line is on disk): a rate measured
	// to it is ingest's own, not delayed by whoever polls the counters.
	// Acked counts the messages acknowledged (of every kind), each after
	// LastAcked is set for it: once Acked reaches the number of messages
	// sent, LastAcked is when the last of them was acknowledged.
	LastAcked  atomic.Int64
	Acked      atomic.Int64
	Dropped    atomic.Int64 // observations dropped by the checks
	JournalErr atomic.Int64 // journal appends that failed to open their file (tried again; Journal.Health counts failed writes)
}

// Subscriber subscribes to the sensors' topics and hands checked batches on.
type Subscriber struct {
	cfg    Config
	client mqtt.Client
	C      *Counters
	log    *slog.Logger

	// decode and ordered are the ordered pipeline (ordered.go): every
	// message goes on ordered in arrival order, a batch also on decode.
	decode  chan *job
	ordered chan *job
	lastMsg atomic.Int64 // when the last message came, Unix ns
	// arrivals holds when the last len(arrivals) messages came (Unix ns),
	// a ring written by onMessage at arrivalN (Busy).
	arrivals [busyCount]atomic.Int64
	arrivalN int

	// acks holds every message in arrival order; one goroutine
	// acknowledges each once its journal line is synced (rejected and
	// status messages at once after the ones before), so acknowledgements
	// go out in the order the messages came (as MQTT 3.1.1 asks).
	acks chan pendingAck

	sitesMu sync.Mutex
	sites   []string

	clock *RecvClock // the receive times

	// session is the reconnecting of an exclusive session (session.go).
	session session

	// inMu is held (read) by onMessage while it hands a message on, and
	// by end to close the pipeline's channels once (closeOnce): after
	// that (inClosed) messages are left unacknowledged.
	inMu      sync.RWMutex
	inClosed  bool
	closeOnce sync.Once

	// own holds the payloads of the messages when the subscriber reads the
	// connection itself (conn.go); nil when the client does.
	own *payloads

	logMu   sync.Mutex
	logNext time.Time
	logSkip int

	// beforeSubscribe, when set (by tests), runs in onConnect before the
	// subscription is made.
	beforeSubscribe func()
}

type pendingAck struct {
	synced <-chan error // nil: acknowledge at once (after the ones before)
	m      mqtt.Message
}

// NewSubscriber checks cfg and prepares a client; Run connects.
func NewSubscriber(cfg Config) (*Subscriber, error) {
	if cfg.Broker == "" {
		return nil, errors.New("ingest: no broker")
	}
	if cfg.Deliver == nil || cfg.Known == nil {
		return nil, errors.New("ingest: Deliver and Known are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "passant-server"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Decoders <= 0 {
		cfg.Decoders = max(1, runtime.GOMAXPROCS(0)-1)
	}
	s := &Subscriber{cfg: cfg, log: cfg.Log.With("component", "ingest"), acks: make(chan pendingAck, 4096), clock: cfg.Clock, C: cfg.Counters,
		decode: make(chan *job, inFlight), ordered: make(chan *job, inFlight)}
	s.session.done = make(chan struct{})
	if s.clock == nil {
		s.clock = &RecvClock{}
		s.clock.After(cfg.RecvAfter)
	}
	if s.C == nil {
		s.C = &Counters{}
	}
	s.sites = append([]string(nil), cfg.Sites...)
	go s.ackLoop()
	go s.sequence()
	for range cfg.Decoders {
		go s.decodeLoop()
	}
	opts := mqtt.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.ClientID).
		SetCleanSession(cfg.Clean).
		SetOrderMatters(true).
		// An exclusive session connects again only while it is this
		// server's (session.go).
		SetAutoReconnect(cfg.Exclusive == nil).
		SetConnectRetry(cfg.Exclusive == nil).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetOnConnectHandler(s.onConnect).
		// The session is persistent: on a reconnect the broker sends what
		// it queued for the server right after accepting the connection,
		// before onConnect (a goroutine of its own) has subscribed again
		// and so put its handler in place. The client drops a message no
		// handler takes without acknowledging it, and the broker sends it
		// again only at the next reconnect: the default handler takes
		// those (docs/reliability.md).
		SetDefaultPublishHandler(s.onMessage).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			s.log.Warn("broker connection lost", "client", cfg.ClientID, "err", err)
			if cfg.Exclusive != nil {
				go s.reconnect()
			}
		})
	opts.AutoAckDisabled = true
	if cfg.Username != "" {
		opts.SetUsername(cfg.Username).SetPassword(cfg.Password)
	}
	if cfg.TLS != nil {
		opts.SetTLSConfig(cfg.TLS)
	}
	if ownReading(cfg.Broker) {
		s.own = &payloads{buf: cfg.Buffers}
		opts.SetCustomOpenConnectionFn(s.own.open)
	}
	s.client = mqtt.NewClient(opts)
	return s, nil
}

// Topics returns the subscription filters.
func (s *Subscriber) Topics() []string {
	s.sitesMu.Lock()
	defer s.sitesMu.Unlock()
	if len(s.sites) == 0 && !s.cfg.Only {
		p := s.cfg.Prefix
		return []string{p + "/+/+/obs", p + "/+/+/status"}
	}
	return s.siteTopics(s.sites)
}

func (s *Subscriber) siteTopics(sites []string) []string {
	var t []string
	for _, site := range sites {
		t = append(t, s.cfg.Prefix+"/"+site+"/+/obs", s.cfg.Prefix+"/"+site+"/+/status")
	}
	return t
}

// SetSites changes the sites subscribed to (with Config.Only): new sites
// are subscribed and dropped ones unsubscribed at once when connected, and
// the set holds for reconnects.
func (s *Subscriber) SetSites(sites []string) error {
	s.sitesMu.Lock()
	old := map[string]bool{}
	for _, site := range s.sites {
		old[site] = true
	}
	now := map[string]bool{}
	var added []string
	for _, site := range sites {
		now[site] = true
		if !old[site] {
			added = append(added, site)
		}
	}
	var removed []string
	for _, site := range s.sites {
		if !now[site] {
			removed = append(removed, site)
		}
	}
	s.sites = append([]string(nil), sites...)
	s.sitesMu.Unlock()
	if !s.client.IsConnectionOpen() {
		return nil
	}
	if len(added) > 0 {
		filters := map[string]byte{}
		for _, t := range s.siteTopics(added) {
			filters[t] = 1
		}
		tok := s.client.SubscribeMultiple(filters, s.onMessage)
		if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
			return fmt.Errorf("ingest: subscribe %v: %w", added, tok.Error())
		}
	}
	if len(removed) > 0 {
		tok := s.client.Unsubscribe(s.siteTopics(removed)...)
		if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
			return fmt.Errorf("ingest: unsubscribe %v: %w", removed, tok.Error())
		}
	}
	return nil
}

func (s *Subscriber) onConnect(c mqtt.Client) {
	if s.cfg.Exclusive != nil {
		// connectOnce subscribes, once: a second SUBSCRIBE of the same
		// filters replaces the subscription, which a broker may not do
		// without a gap.
		return
	}
	if s.beforeSubscribe != nil {
		s.beforeSubscribe()
	}
	filters := map[string]byte{}
	if len(s.Topics()) == 0 {
		return
	}
	for _, t := range s.Topics() {
		filters[t] = 1
	}
	tok := c.SubscribeMultiple(filters, s.onMessage)
	go func() {
		if tok.WaitTimeout(30*time.Second) && tok.Error() != nil {
			s.log.Error("subscribe failed", "err", tok.Error())
			return
		}
		s.log.Info("subscribed", "broker", s.cfg.Broker, "topics", len(filters))
	}()
}

// Run connects and stays subscribed until ctx ends. It returns once the
// first connection is made or failed within the timeout of ctx.
func (s *Subscriber) Run(ctx context.Context) error {
	tok := s.client.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("ingest: connect %s: %w", s.cfg.Broker, err)
		}
	case <-ctx.Done():
		s.client.Disconnect(0)
		return ctx.Err()
	}
	<-ctx.Done()
	return nil
}

// Release gives back a payload that DeliverPlain kept, once the receiver
// is done with it (decoded: the batch holds nothing of it): a later
// message's payload is read into it. It must not be used after.
func (s *Subscriber) Release(payload []byte) {
	if s.own != nil {
		s.own.release(payload)
	}
}

// Connected reports whether the client is connected now.
func (s *Subscriber) Connected() bool { return s.client.IsConnectionOpen() }

// Close disconnects, waiting up to wait for in-flight work: the messages
// the client took before it stopped are journaled and delivered (they
// cannot be acknowledged any more; the broker sends them again, and
// redelivered batches are dropped downstream).
func (s *Subscriber) Close(wait time.Duration) {
	s.session.close()
	s.client.Disconnect(uint(wait.Milliseconds()))
	s.flush(wait)
	// Then the pipeline's goroutines end, once what is in it is through
	// (a cluster instance closes a site's session at every handover).
	go s.closeOnce.Do(s.end)
}

// end stops taking messages and closes the pipeline: its goroutines end
// once what is in it has been through.
func (s *Subscriber) end() {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	s.inClosed = true
	close(s.decode)
	close(s.ordered)
}

// splitTopic parses prefix/<site>/<sensor>/<kind>.
func (s *Subscriber) splitTopic(topic string) (site, sensor, kind string, ok bool) {
	rest, ok := strings.CutPrefix(topic, s.cfg.Prefix+"/")
	if !ok {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || !wire.ValidID(parts[0]) || !wire.ValidID(parts[1]) {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// Check applies the contract's batch checks for a message on the topic of
// site and sensor: the payload decodes, names the topic's sensor, and the
// site and sensor are known.
func Check(site, sensor string, payload []byte, known func(site, sensor string) bool) (wire.Batch, wire.Drops, error) {
	b, drops, _, err := decode(sensor, payload)
	if err != nil {
		return b, drops, err
	}
	return b, drops, checkKnown(site, sensor, known)
}

// decode reads a payload on the topic of sensor: the checks of the batch
// itself. plain tells whether its journal line may hold it verbatim
// (wire.DecodeBatch).
func decode(sensor string, payload []byte) (b wire.Batch, drops wire.Drops, plain bool, err error) {
	b, drops, plain, err = wire.DecodeBatch(payload)
	if err != nil {
		return b, drops, false, err
	}
	if err := b.CheckTopic(sensor); err != nil {
		return b, drops, false, err
	}
	return b, drops, plain, nil
}

// checkKnown is the last check: the server knows the site and sensor.
func checkKnown(site, sensor string, known func(site, sensor string) bool) error {
	if !known(site, sensor) {
		return fmt.Errorf("ingest: %w: %s/%s", wire.ErrUnknownSensor, site, sensor)
	}
	return nil
}

func (s *Subscriber) onStatus(site, sensor string, m mqtt.Message, payload []byte) {
	if s.cfg.Status == nil || len(payload) == 0 {
		return
	}
	st, partial, err := ParseStatus(payload)
	if err != nil {
		s.logReject(m.Topic(), err)
		return
	}
	if partial != nil {
		s.logReject(m.Topic(), partial)
	}
	if !s.cfg.Known(site, sensor) {
		return
	}
	st.Retained = m.Retained()
	s.cfg.Status(site, sensor, st)
}

// ParseStatus reads a sensor status message (the contract's, with this
// server's extensions). A malformed "tx" extension loses only itself: the
// status is returned without it and partial says so. err is set when the
// message is not a version 1 status at all.
func ParseStatus(payload []byte) (st Status, partial, err error) {
	err = json.Unmarshal(payload, &st)
	if err != nil {
		var raw map[string]json.RawMessage
		if json.Unmarshal(payload, &raw) == nil {
			var bad []string
			for _, k := range statusExtensions {
				if v, ok := raw[k]; ok && json.Unmarshal(v, extensionField(&Status{}, k)) != nil {
					bad = append(bad, k)
					delete(raw, k)
				}
			}
			if len(bad) > 0 {
				b, _ := json.Marshal(raw)
				st = Status{}
				if err = json.Unmarshal(b, &st); err == nil {
					partial = fmt.Errorf("bad %s in status message; the rest is kept", strings.Join(bad, ", "))
				}
			}
		}
	}
	if err != nil {
		return Status{}, nil, fmt.Errorf("bad status message: %w", err)
	}
	if st.V != 1 {
		return Status{}, nil, fmt.Errorf("bad status message: version %d, want 1", st.V)
	}
	return st, partial, nil
}

// extensionField is the field of st that the extension k reads into.
func extensionField(st *Status, k string) any {
	switch k {
	case "tx":
		return &st.Tx
	case "beyond_key":
		return &st.BeyondKey
	default:
		return &st.ClockTrusted
	}
}

// logReject logs rejected messages with their topic, at most ten a second;
// the rest are counted and summarised.
func (s *Subscriber) logReject(topic string, err error) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	now := time.Now()
	if now.Before(s.logNext) {
		s.logSkip++
		return
	}
	s.logNext = now.Add(100 * time.Millisecond)
	if s.logSkip > 0 {
		s.log.Warn("batch rejected", "topic", topic, "err", err, "more_rejected_unlogged", s.logSkip)
		s.logSkip = 0
		return
	}
	s.log.Warn("batch rejected", "topic", topic, "err", err)
}
