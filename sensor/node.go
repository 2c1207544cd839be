package sensor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/passant/passant/wire"
)

// NodeConfig configures a sniffer node.
type NodeConfig struct {
	Sensor   string
	Boot     int64         // Unix ms; the batches' boot
	Interval time.Duration // batch interval; default 1 s
	MaxObs   int           // observations per batch; default wire.MaxObs
	Decoder  DecoderOptions
	Pseudo   *Pseudonymizer // required
	OptOut   OptOut         // may be nil
	// Tick closes a batch on the source's clock even when no frame comes
	// (live capture, files at recorded pace). Leave it off for --fast.
	Tick bool
	// Clock is the wall clock frames are checked against, and whether it
	// is trusted to move an epoch key (clock.go); default SystemClock.
	Clock Clock
	// Progress, when > 0, logs counts this often.
	Progress time.Duration
	Log      *slog.Logger // default slog.Default()
}

// NodeStats counts what the node did with the frames it read.
type NodeStats struct {
	DecodeStats
	OptedOut     uint64 // frames of addresses in the opt-out list
	BadRSSI      uint64 // signal outside the contract's [-120, 0] dBm
	PastEpoch    uint64 // frames older than the epoch key this node holds
	Future       uint64 // frames stamped more than MaxAhead past the clock
	BeyondKey    uint64 // frames past the epoch key's epoch that may not move it (keyguard.go)
	Observations uint64 // observations handed to batches
	Batches      uint64 // batches handed to the sink
}

// Node runs capture → decode → opt-out → pseudonymise → batch → sink.
type Node struct {
	cfg   NodeConfig
	src   Source
	sink  Sink
	dec   *Decoder
	log   *slog.Logger
	guard keyGuard // the capture loop's

	mu      sync.Mutex // the batcher, the sink and batches, shared with the ticker
	batcher *Batcher
	batches uint64
	stopped bool // Run has ended: publish nothing more

	statsMu sync.Mutex
	stats   NodeStats
	own     NodeStats // the capture loop's counts, published to stats now and then
}

// NewNode returns a node reading src and writing to sink.
func NewNode(cfg NodeConfig, src Source, sink Sink) (*Node, error) {
	if cfg.Pseudo == nil {
		return nil, errors.New("sensor: node needs a pseudonymizer (a site or epoch key)")
	}
	if !wire.ValidID(cfg.Sensor) {
		return nil, fmt.Errorf("sensor: sensor id %q: want [A-Za-z0-9_-]{1,64}", cfg.Sensor)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	return &Node{
		cfg: cfg, src: src, sink: sink, dec: NewDecoder(cfg.Decoder), log: cfg.Log,
		guard:   keyGuard{clock: cfg.Clock, period: cfg.Pseudo.Period(), log: cfg.Log},
		batcher: NewBatcher(BatcherConfig{Sensor: cfg.Sensor, Boot: cfg.Boot, Interval: cfg.Interval, MaxObs: cfg.MaxObs}),
	}, nil
}

// Stats returns the counts so far (updated every few thousand frames and
// with every batch). It is safe to call from any goroutine.
func (n *Node) Stats() NodeStats {
	n.statsMu.Lock()
	defer n.statsMu.Unlock()
	return n.stats
}

// FillStatus fills in the status's counts that the node knows (frames
// heard, dropped for their key epoch or time) and whether its clock is
// trusted to move an epoch key. It is safe to call from any goroutine
// when the node's Clock is (SystemClock and TrustedClock are).
func (n *Node) FillStatus(s *Status) {
	st := n.Stats()
	trusted := n.cfg.Clock.Trusted()
	s.Frames, s.NoRSSI, s.OptedOut = &st.Frames, &st.NoRSSI, &st.OptedOut
	s.PastEpoch, s.Future, s.BeyondKey, s.ClockTrusted = &st.PastEpoch, &st.Future, &st.BeyondKey, &trusted
}

// publishStats publishes the capture loop's counts; only that goroutine, or
// Run once it has ended, calls it.
func (n *Node) publishStats() {
	n.own.DecodeStats = n.dec.Stats()
	n.mu.Lock()
	n.own.Batches = n.batches
	n.mu.Unlock()
	n.statsMu.Lock()
	n.stats = n.own
	n.statsMu.Unlock()
}

// Run reads the source until it ends or ctx is done, then closes the last
// batch. It does not close the sink. At the end of a file source it
// returns nil, or the read errors of the files that were corrupt (after
// everything readable was sent on).
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	tickErr := make(chan error, 1)
	if n.cfg.Tick {
		wg.Go(func() { tickErr <- n.tick(ctx) })
	}
	if n.cfg.Progress > 0 {
		wg.Go(func() { n.progress(ctx) })
	}
	capErr := make(chan error, 1)
	go func() { capErr <- n.capture(ctx) }()
	var err error
	capDone := true
	select {
	case err = <-capErr:
	case <-ctx.Done():
		select {
		case err = <-capErr:
		case <-time.After(time.Second):
			// A live read that hears nothing blocks; leave it, it stops
			// at its next frame (n.stopped). Its counts stay its own.
			capDone = false
		}
	}
	cancel()
	wg.Wait()
	if err == nil && n.cfg.Tick {
		err = <-tickErr
	}
	n.mu.Lock()
	n.stopped = true
	if b := n.batcher.Flush(n.src.Now()); b != nil {
		if perr := n.sink.Publish(b); perr != nil && err == nil {
			err = perr
		}
		n.batches++
	}
	batches := n.batches
	n.mu.Unlock()
	if capDone {
		n.publishStats()
	} else {
		n.statsMu.Lock()
		n.stats.Batches = batches
		n.statsMu.Unlock()
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil // asked to stop
	}
	return err
}

// MaxAhead is how far past the wall clock a frame's time may lie; later
// frames are counted (NodeStats.Future) and dropped.
const MaxAhead = 24 * time.Hour

func (n *Node) capture(ctx context.Context) error {
	var f Frame
	var ahead int64 // the wall clock plus MaxAhead, Unix ms, as last read
	keyEnd := n.cfg.Pseudo.KeyEnd()
	for i := uint64(1); ; i++ {
		data, ci, err := n.src.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if i%4096 == 0 {
			n.publishStats()
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if n.dec.Decode(data, ci, &f) != OK {
			continue
		}
		if n.cfg.OptOut != nil && n.cfg.OptOut.Has(f.Addr) {
			n.own.OptedOut++
			continue
		}
		if f.RSSI < wire.MinRSSI || f.RSSI > wire.MaxRSSI {
			n.own.BadRSSI++
			continue
		}
		if f.T > ahead {
			if ahead = n.cfg.Clock.Now().Add(MaxAhead).UnixMilli(); f.T > ahead {
				// A corrupt timestamp or a clock read wrong must not move
				// an epoch key past the present (it cannot come back: the
				// key file is rewritten) nor have keys derived epoch by
				// epoch up to it.
				n.own.Future++
				continue
			}
		}
		if f.T >= keyEnd {
			if !n.guard.mayMove(f.T, keyEnd) {
				n.own.BeyondKey++
				continue
			}
		}
		dev, err := n.cfg.Pseudo.Dev(f.Addr, f.T)
		if err != nil {
			n.own.PastEpoch++
			continue
		}
		if f.T >= keyEnd {
			keyEnd = n.cfg.Pseudo.KeyEnd() // moved
		}
		n.own.Observations++
		n.mu.Lock()
		if n.stopped {
			n.mu.Unlock()
			return nil
		}
		b := n.batcher.Add(f.Observation(dev), n.src.Now())
		if b != nil {
			err = n.sink.Publish(b)
			n.batches++
		}
		n.mu.Unlock()
		if b != nil {
			n.publishStats()
			if err != nil {
				return err
			}
		}
	}
}

// tick closes the open batch once its interval has passed on the source's
// clock, so a quiet channel still sends what it heard.
func (n *Node) tick(ctx context.Context) error {
	every := max(n.batcher.cfg.Interval/4, 20*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := n.src.Now()
		n.mu.Lock()
		var err error
		if n.batcher.Due(now) {
			err = n.sink.Publish(n.batcher.Flush(now))
			n.batches++
		}
		n.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

func (n *Node) progress(ctx context.Context) {
	t := time.NewTicker(n.cfg.Progress)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s := n.Stats()
			n.log.Info("sensor: progress", "frames", s.Frames, "probes", s.Probes, "data", s.Data,
				"observations", s.Observations, "batches", s.Batches, "no_rssi", s.NoRSSI)
		}
	}
}
