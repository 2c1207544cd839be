package sensor

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/passant/passant/wire"
)

// PublisherConfig configures a Publisher: one MQTT client for one sensor.
type PublisherConfig struct {
	Broker   string // tcp://host:1883, ssl://host:8883, ws://host/mqtt
	Prefix   string // topic prefix; default "passant"
	Site     string
	Sensor   string
	ClientID string // default passant-<site>-<sensor>
	Username string
	Password string
	TLS      *tls.Config // for ssl:// brokers; nil: the system's roots

	Version string // the status's version
	Started int64  // the status's started, Unix ms; default now

	Spool       SpoolConfig
	StatusEvery time.Duration // how often the status is republished; default 30 s
	AckTimeout  time.Duration // wait this long for a PUBACK before sending again; default 10 s
	// Status, when set, fills in the counts the Publisher cannot know
	// (frames heard, ...) before each status message.
	Status func(*Status)
	Log    *slog.Logger
}

// Status is the contract's sensor status message. Captured, Published and
// Dropped count observations: handed to Publish, acknowledged by the
// broker, refused by a full spool. The other fields extend the contract.
type Status struct {
	V         int    `json:"v"`
	State     string `json:"state"`
	Version   string `json:"version"`
	Started   int64  `json:"started"`
	Captured  int64  `json:"captured"`
	Published int64  `json:"published"`
	Dropped   int64  `json:"dropped"`

	Batches        int64 `json:"batches,omitempty"`         // batches acknowledged
	DroppedBatches int64 `json:"dropped_batches,omitempty"` // batches refused by a full spool
	Queued         int64 `json:"queued"`                    // observations waiting for the broker
	QueuedBatches  int64 `json:"queued_batches"`
	SpoolBytes     int64 `json:"spool_bytes,omitempty"` // of them, on disk
	// SpoolLost counts the observations (SpoolLostBatches the batches)
	// lost to records that went bad on disk (Spool.Lost).
	SpoolLost        int64   `json:"spool_lost,omitempty"`
	SpoolLostBatches int64   `json:"spool_lost_batches,omitempty"`
	Frames           *uint64 `json:"frames,omitempty"`  // frames heard, when the node tells
	NoRSSI           *uint64 `json:"no_rssi,omitempty"` // wanted frames without a dBm signal
	OptedOut         *uint64 `json:"opted_out,omitempty"`
	PastEpoch        *uint64 `json:"past_epoch,omitempty"` // frames older than the epoch key held
	Future           *uint64 `json:"future,omitempty"`     // frames stamped more than a day past the clock
	// BeyondKey counts the frames past the epoch key's epoch that could
	// not move it (an untrusted clock, or stamped in an epoch the clock
	// has not reached: keyguard.go); ClockTrusted is whether the node's clock
	// is trusted to move it (Clock.Trusted).
	BeyondKey    *uint64 `json:"beyond_key,omitempty"`
	ClockTrusted *bool   `json:"clock_trusted,omitempty"`
	// Tx, when the sensor transmits probe requests (--transmit), names
	// them by pseudonym for self-calibration (wire.Tx).
	Tx *wire.Tx `json:"tx,omitempty"`
}

// Publisher sends batches to an MQTT broker with QoS 1, in order, one at a
// time: a batch leaves the queue only when the broker has acknowledged it,
// so a broker outage loses nothing (it may make the server see a batch
// twice, which it drops by boot and id). Publish never waits on the
// network; the queue is a Spool. It also keeps the sensor's retained
// status up to date, with an "offline" last will. Many Publishers may run
// in one process (the simulator runs one per simulated sensor).
type Publisher struct {
	cfg     PublisherConfig
	log     *slog.Logger
	client  mqtt.Client
	spool   *Spool
	obsT    string
	statusT string

	wake   chan struct{} // connection state changed
	stop   chan struct{} // Close began: drain, then stop
	halt   chan struct{} // Close's deadline: stop now
	done   chan struct{} // the sender ended
	closed atomic.Bool

	captured, published, batches atomic.Int64
	warned                       atomic.Int64 // when a full queue was last told, Unix ms
	encMu                        sync.Mutex
	enc                          []byte
}

// NewPublisher starts a Publisher; it connects in the background and keeps
// reconnecting.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "passant"
	}
	if !wire.ValidID(cfg.Site) || !wire.ValidID(cfg.Sensor) {
		return nil, fmt.Errorf("sensor: site %q and sensor %q must match [A-Za-z0-9_-]{1,64}", cfg.Site, cfg.Sensor)
	}
	if cfg.Broker == "" {
		return nil, errors.New("sensor: no broker URL")
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "passant-" + cfg.Site + "-" + cfg.Sensor
	}
	if cfg.Started == 0 {
		cfg.Started = time.Now().UnixMilli()
	}
	if cfg.StatusEvery <= 0 {
		cfg.StatusEvery = 30 * time.Second
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	sp, err := OpenSpool(cfg.Spool)
	if err != nil {
		return nil, err
	}
	p := &Publisher{
		cfg: cfg, log: cfg.Log.With("sensor", cfg.Sensor), spool: sp,
		obsT:    wire.Topic(cfg.Prefix, cfg.Site, cfg.Sensor, "obs"),
		statusT: wire.Topic(cfg.Prefix, cfg.Site, cfg.Sensor, "status"),
		wake:    make(chan struct{}, 1), stop: make(chan struct{}), halt: make(chan struct{}), done: make(chan struct{}),
	}
	will, _ := json.Marshal(Status{V: 1, State: "offline", Version: cfg.Version, Started: cfg.Started})
	opts := mqtt.NewClientOptions().AddBroker(cfg.Broker).SetClientID(cfg.ClientID).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(10*time.Second).
		SetConnectTimeout(10*time.Second).SetWriteTimeout(10*time.Second).SetKeepAlive(30*time.Second).
		SetBinaryWill(p.statusT, will, 1, true).
		SetOnConnectHandler(func(mqtt.Client) {
			p.log.Info("sensor: connected to broker", "broker", cfg.Broker)
			p.poke()
			go p.publishStatus("online")
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			p.log.Warn("sensor: lost the broker; queueing", "broker", cfg.Broker, "err", err)
			p.poke()
		})
	if cfg.Username != "" {
		opts.SetUsername(cfg.Username).SetPassword(cfg.Password)
	}
	if cfg.TLS != nil {
		opts.SetTLSConfig(cfg.TLS)
	}
	p.client = mqtt.NewClient(opts)
	p.client.Connect() // with ConnectRetry it keeps trying in the background
	go p.send()
	go p.statusLoop()
	return p, nil
}

func (p *Publisher) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Publish encodes b and queues it. It never waits on the network; when the
// queue is full the batch is counted as dropped (see Status). b is not kept.
func (p *Publisher) Publish(b *wire.Batch) error {
	if p.closed.Load() {
		return errors.New("sensor: publisher closed")
	}
	p.encMu.Lock()
	p.enc = wire.AppendBatch(p.enc[:0], b)
	data := append([]byte(nil), p.enc...)
	p.encMu.Unlock()
	p.captured.Add(int64(len(b.Obs)))
	if !p.spool.Push(data, len(b.Obs)) {
		// Counted in the status; said here at most every 10 s.
		if now := time.Now().UnixMilli(); now-p.warned.Load() >= 10_000 {
			p.warned.Store(now)
			d := p.spool.Dropped()
			p.log.Warn("sensor: queue full, dropping batches", "dropped_batches", d.Batches, "dropped_obs", d.Obs)
		}
	}
	return nil
}

// send publishes the queue's head until the broker acknowledges it, then
// the next, until Close.
func (p *Publisher) send() {
	defer close(p.done)
	backoff := 100 * time.Millisecond
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	stop, stopping := p.stop, false
	for {
		data, obs, ok := p.spool.Peek()
		if !ok && stopping {
			return // drained
		}
		if !ok || !p.client.IsConnectionOpen() {
			select {
			case <-p.halt:
				return
			case <-p.spool.Ready():
			case <-p.wake:
			case <-poll.C:
			case <-stop:
				stop, stopping = nil, true
			}
			continue
		}
		tok := p.client.Publish(p.obsT, 1, false, data)
		timer := time.NewTimer(p.cfg.AckTimeout)
		select {
		case <-tok.Done():
		case <-timer.C:
		case <-p.halt:
			timer.Stop()
			return
		}
		timer.Stop()
		if err := tok.Error(); err != nil || !isDone(tok) {
			p.log.Debug("sensor: publish not acknowledged; will send again", "err", err)
			select {
			case <-time.After(backoff):
			case <-p.halt:
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		p.spool.Pop()
		p.published.Add(int64(obs))
		p.batches.Add(1)
	}
}

func isDone(t mqtt.Token) bool {
	select {
	case <-t.Done():
		return true
	default:
		return false
	}
}

// Status returns the current status message.
func (p *Publisher) Status(state string) Status {
	l := p.spool.Len()
	d, lost := p.spool.Dropped(), p.spool.Lost()
	s := Status{V: 1, State: state, Version: p.cfg.Version, Started: p.cfg.Started,
		Captured: p.captured.Load(), Published: p.published.Load(), Dropped: d.Obs,
		Batches: p.batches.Load(), DroppedBatches: d.Batches,
		Queued: l.Obs, QueuedBatches: l.Batches, SpoolBytes: l.DiskBytes,
		SpoolLost: lost.Obs, SpoolLostBatches: lost.Batches}
	if p.cfg.Status != nil {
		p.cfg.Status(&s)
	}
	return s
}

func (p *Publisher) publishStatus(state string) mqtt.Token {
	data, _ := json.Marshal(p.Status(state))
	return p.client.Publish(p.statusT, 1, true, data)
}

func (p *Publisher) statusLoop() {
	t := time.NewTicker(p.cfg.StatusEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			if p.client.IsConnectionOpen() {
				p.publishStatus("online")
			}
		}
	}
}

// Close sends what is queued until ctx is done, publishes the "offline"
// status with the final counts, and disconnects. What could not be sent
// stays in the spool directory (when there is one) for the next start; it
// is counted as queued in the final status.
func (p *Publisher) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	close(p.stop)
	var err error
	select {
	case <-p.done:
	case <-ctx.Done():
		close(p.halt)
		<-p.done
		if l := p.spool.Len(); l.Batches > 0 {
			err = fmt.Errorf("sensor: %d batches (%d observations) not sent before shutdown", l.Batches, l.Obs)
		}
	}
	if p.client.IsConnectionOpen() {
		tok := p.publishStatus("offline")
		select {
		case <-tok.Done():
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	p.client.Disconnect(250)
	if serr := p.spool.Close(); serr != nil && err == nil {
		err = serr
	}
	return err
}
