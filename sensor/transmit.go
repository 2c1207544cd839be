package sensor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passant/passant/wire"
)

// Injector sends raw frames (radiotap + 802.11) on a monitor-mode
// interface. OpenInjector opens one (Linux: an AF_PACKET socket).
type Injector interface {
	Inject(frame []byte) error
	Close() error
}

// DefaultTxEvery is how often a transmitting sensor sends a probe request.
const DefaultTxEvery = 30 * time.Second

// TransmitConfig configures a Transmitter.
type TransmitConfig struct {
	MAC   MAC           // the address frames are sent from (TxMAC by default in the command)
	Every time.Duration // interval between frames, ±10% jitter; default DefaultTxEvery
	// Pseudo names the transmit address in the status (only its pseudonym
	// is ever said); the Transmitter works on copies of it.
	Pseudo *Pseudonymizer
	// Clock says whether the status may name the address past the epoch
	// key's epoch (keyguard.go); default SystemClock.
	Clock Clock
	Log   *slog.Logger
}

// Transmitter makes a sensor an anchor for self-calibration: it sends a
// probe request from a fixed address every so often, which the other
// sensors of the site hear at a known distance, and tells the server the
// pseudonym of that address in its status (Status). It never logs or
// publishes the address itself.
type Transmitter struct {
	cfg    TransmitConfig
	inj    Injector
	prober *Prober
	sent   atomic.Int64
	failed atomic.Int64

	mu        sync.Mutex // cur and next, used by the status goroutine
	cur, next *Pseudonymizer
}

// NewTransmitter returns a Transmitter sending on inj. Call it before the
// node uses cfg.Pseudo.
func NewTransmitter(cfg TransmitConfig, inj Injector) (*Transmitter, error) {
	if cfg.Pseudo == nil {
		return nil, errors.New("sensor: transmitter needs a pseudonymizer (a site or epoch key)")
	}
	if cfg.MAC.Group() {
		return nil, errors.New("sensor: the transmit address must be unicast (first byte even)")
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultTxEvery
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	return &Transmitter{cfg: cfg, inj: inj, prober: NewProber(cfg.MAC, rand.IntN(4096)),
		cur: cfg.Pseudo.Clone(), next: cfg.Pseudo.Clone()}, nil
}

// Run sends one frame now and then one every cfg.Every until ctx is done.
// It fails when the first frame cannot be sent (the driver refuses
// injection); later failures are counted and logged at most once a minute.
func (t *Transmitter) Run(ctx context.Context) error {
	if err := t.inj.Inject(t.prober.Next()); err != nil {
		return fmt.Errorf("sensor: transmit: the first probe request could not be sent: %w "+
			"(does the driver allow injection? docs/sensor.md)", err)
	}
	t.sent.Add(1)
	t.cfg.Log.Info("sensor: transmitting probe requests", "every", t.cfg.Every, "fp", ProbeFP())
	timer := time.NewTimer(t.jitter())
	defer timer.Stop()
	var warned time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if err := t.inj.Inject(t.prober.Next()); err != nil {
			t.failed.Add(1)
			if time.Since(warned) >= time.Minute {
				warned = time.Now()
				t.cfg.Log.Warn("sensor: transmit failed", "err", err, "failed", t.failed.Load())
			}
		} else {
			t.sent.Add(1)
		}
		timer.Reset(t.jitter())
	}
}

// jitter is the next interval: Every ±10%, so that sensors started
// together do not keep sending at the same instant.
func (t *Transmitter) jitter() time.Duration {
	d := t.cfg.Every
	return d - d/10 + rand.N(d/5+1)
}

// Sent returns how many frames were sent, and how many failed.
func (t *Transmitter) Sent() (sent, failed int64) { return t.sent.Load(), t.failed.Load() }

// Status returns the status's "tx" at time now (Unix ms): the pseudonyms
// of the transmit address in the current and next key epochs. It is nil
// when the node's key cannot name the address at now (a clock gone back
// behind the epoch key it holds), and past that key's epoch on a clock
// that is not trusted: the copy of an epoch key it works on cannot come
// back once moved, so a clock read years ahead at boot would leave it
// naming nothing once put right. Safe for concurrent use.
func (t *Transmitter) Status(now int64) *wire.Tx {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now >= t.cur.KeyEnd() && !t.cfg.Clock.Trusted() {
		return nil
	}
	dev, err := t.cur.Dev(t.cfg.MAC, now)
	if err != nil {
		return nil
	}
	tx := &wire.Tx{Dev: dev, EveryMS: t.cfg.Every.Milliseconds(), Sent: t.sent.Load()}
	if p := t.next.Period(); p > 0 {
		if next, err := t.next.Dev(t.cfg.MAC, now+p.Milliseconds()); err == nil {
			tx.Next = &next
		}
	}
	return tx
}
