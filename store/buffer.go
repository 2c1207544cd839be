package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/wire"
)

// Transient reports whether err may go away by itself: the database is
// unreachable, restarting, overloaded or busy. A write that failed so is
// worth retrying; any other error (bad data, a broken schema) is not.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", // connection exception
			"40", // serialization failure, deadlock
			"53", // insufficient resources (disk full, too many connections)
			"57", // operator intervention: shutdown, cannot connect now, query canceled
			"58": // system error (I/O)
			return true
		}
		return false
	}
	if code, ok := sqliteCode(err); ok {
		switch code & 0xff { // the primary result code
		case 5, 6, 10, 13: // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL
			return true
		}
		return false
	}
	// Network errors, a closed connection, a timeout: the database is away.
	return true
}

// BufferStats counts what a Buffer did. Rows are observations, positions,
// visits, track days, hours and sensor health rows alike.
type BufferStats struct {
	Pending   int    `json:"pending"` // rows waiting to be written
	Written   int64  `json:"written"` // rows written
	Dropped   int64  `json:"dropped"` // rows refused because the buffer was full
	Failed    int64  `json:"failed"`  // rows given up on a permanent error
	Retries   int64  `json:"retries"` // writes retried after a transient error
	Down      bool   `json:"down"`    // the last write failed transiently: the database is away
	LastError string `json:"last_error,omitempty"`
}

type opKind int

const (
	opBatches opKind = iota
	opPositions
	opVisits
	opTrackDays
	opHours
	opHealth
)

type op struct {
	kind      opKind
	site      string // positions, hours
	batches   []RawBatch
	positions []wire.Position
	visits    []footfall.Visit
	days      []footfall.TrackDay
	hours     []wire.Hour
	health    []SensorHealth
	rows      int
}

// Buffer writes the pipeline's output to a Store behind its back: a write
// queues and returns at once, and Run writes the queue in order, merging
// consecutive writes of a kind into one (one COPY for many batches). While
// the database is away Run retries with backoff and the queue grows, up to
// MaxRows rows; beyond that new writes are refused and counted. A write
// the database rejects for good (bad data) is logged, counted and dropped,
// so that it cannot hold up the rest.
//
// The buffer keeps the slices it is given: callers must not change them
// afterwards. Across an outage a write whose commit succeeded but whose
// answer was lost is written again (observations and positions have no key
// to dedupe them; upserts are unharmed).
type Buffer struct {
	s       Store
	log     *slog.Logger
	maxRows int

	// MergeRows caps the rows of one merged write (default 50,000).
	MergeRows int
	// Timeout caps one write, so that a database that hangs counts as
	// away (default 30 s).
	Timeout time.Duration
	// MaxBackoff caps the wait between retries (default 5 s).
	MaxBackoff time.Duration

	mu       sync.Mutex
	q        []op
	inflight bool
	stats    BufferStats
	wake     chan struct{}
}

// NewBuffer returns a buffer in front of s holding at most maxRows rows.
// Start Run in a goroutine.
func NewBuffer(s Store, maxRows int, log *slog.Logger) *Buffer {
	if log == nil {
		log = slog.Default()
	}
	return &Buffer{s: s, log: log, maxRows: maxRows, MergeRows: 50000, Timeout: 30 * time.Second,
		MaxBackoff: 5 * time.Second, wake: make(chan struct{}, 1)}
}

func (b *Buffer) push(o op) bool {
	if o.rows == 0 {
		return true
	}
	b.mu.Lock()
	if b.stats.Pending+o.rows > b.maxRows {
		b.stats.Dropped += int64(o.rows)
		b.mu.Unlock()
		return false
	}
	b.q = append(b.q, o)
	b.stats.Pending += o.rows
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return true
}

// WriteBatches queues raw batches; false when the buffer is full (the
// observations are dropped and counted).
func (b *Buffer) WriteBatches(bs []RawBatch) bool {
	n := 0
	for i := range bs {
		n += len(bs[i].Batch.Obs)
	}
	return b.push(op{kind: opBatches, batches: bs, rows: n})
}

// WritePositions queues position fixes of a site.
func (b *Buffer) WritePositions(site string, ps []wire.Position) bool {
	return b.push(op{kind: opPositions, site: site, positions: ps, rows: len(ps)})
}

// WriteVisits queues visit upserts.
func (b *Buffer) WriteVisits(vs []footfall.Visit) bool {
	return b.push(op{kind: opVisits, visits: vs, rows: len(vs)})
}

// WriteTrackDays queues track day upserts.
func (b *Buffer) WriteTrackDays(ds []footfall.TrackDay) bool {
	return b.push(op{kind: opTrackDays, days: ds, rows: len(ds)})
}

// WriteHours queues hour upserts of a site.
func (b *Buffer) WriteHours(site string, hs []wire.Hour) bool {
	return b.push(op{kind: opHours, site: site, hours: hs, rows: len(hs)})
}

// UpsertSensorHealth queues sensor health upserts.
func (b *Buffer) UpsertSensorHealth(hs []SensorHealth) bool {
	return b.push(op{kind: opHealth, health: hs, rows: len(hs)})
}

// Stats returns the counters.
func (b *Buffer) Stats() BufferStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// Flush waits until everything queued so far is written (or given up), or
// ctx is done. Run must be running.
func (b *Buffer) Flush(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		b.mu.Lock()
		idle := len(b.q) == 0 && !b.inflight
		pending := b.stats.Pending
		b.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: flush with %d rows pending: %w", pending, ctx.Err())
		case <-t.C:
		}
	}
}

// Run writes the queue until ctx is done. To write what is left at
// shutdown, cancel Run's context and call Drain with a deadline.
func (b *Buffer) Run(ctx context.Context) error {
	for {
		if !b.step(ctx) {
			select {
			case <-ctx.Done():
				return nil
			case <-b.wake:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// Drain writes what is queued until the queue is empty or ctx is done;
// for shutdown, after Run has returned.
func (b *Buffer) Drain(ctx context.Context) error {
	for b.step(ctx) {
		if ctx.Err() != nil {
			break
		}
	}
	b.mu.Lock()
	pending := b.stats.Pending
	b.mu.Unlock()
	if pending > 0 {
		return fmt.Errorf("store: %d buffered rows not written: %w", pending, ctx.Err())
	}
	return nil
}

// step takes the next merged write off the queue and writes it, retrying
// while the database is away; false when the queue was empty.
func (b *Buffer) step(ctx context.Context) bool {
	b.mu.Lock()
	if len(b.q) == 0 {
		b.mu.Unlock()
		return false
	}
	o, n := b.merge()
	b.q = b.q[n:]
	if len(b.q) == 0 {
		b.q = nil // let the backing array go
	}
	b.inflight = true
	b.mu.Unlock()

	b.write(ctx, o, n > 1)

	b.mu.Lock()
	b.inflight = false
	b.mu.Unlock()
	return true
}

// merge joins the ops at the head of the queue that can go in one write.
func (b *Buffer) merge() (op, int) {
	o := b.q[0]
	n := 1
	for n < len(b.q) {
		next := &b.q[n]
		if next.kind != o.kind || next.site != o.site || o.rows+next.rows > b.MergeRows {
			break
		}
		if n == 1 { // copy before appending: the slices are the callers'
			o.batches = append([]RawBatch(nil), o.batches...)
			o.positions = append([]wire.Position(nil), o.positions...)
			o.visits = append([]footfall.Visit(nil), o.visits...)
			o.days = append([]footfall.TrackDay(nil), o.days...)
			o.hours = append([]wire.Hour(nil), o.hours...)
			o.health = append([]SensorHealth(nil), o.health...)
		}
		o.batches = append(o.batches, next.batches...)
		o.positions = append(o.positions, next.positions...)
		o.visits = append(o.visits, next.visits...)
		o.days = append(o.days, next.days...)
		o.hours = append(o.hours, next.hours...)
		o.health = append(o.health, next.health...)
		o.rows += next.rows
		n++
	}
	return o, n
}

func (b *Buffer) do(ctx context.Context, o *op) error {
	ctx, cancel := context.WithTimeout(ctx, b.Timeout)
	defer cancel()
	switch o.kind {
	case opBatches:
		return b.s.WriteBatches(ctx, o.batches)
	case opPositions:
		return b.s.WritePositions(ctx, o.site, o.positions)
	case opVisits:
		return b.s.WriteVisits(ctx, o.visits)
	case opTrackDays:
		return b.s.WriteTrackDays(ctx, o.days)
	case opHours:
		return b.s.WriteHours(ctx, o.site, o.hours)
	default:
		return b.s.UpsertSensorHealth(ctx, o.health)
	}
}

// write writes o, retrying transient failures with backoff until it is
// written, fails for good, or ctx is done (then it goes back on the queue).
func (b *Buffer) write(ctx context.Context, o op, merged bool) {
	backoff := 100 * time.Millisecond
	for {
		err := b.do(ctx, &o)
		if err == nil {
			b.mu.Lock()
			wasDown := b.stats.Down
			b.stats.Down = false
			b.stats.Pending -= o.rows
			b.stats.Written += int64(o.rows)
			pending := b.stats.Pending
			b.mu.Unlock()
			if wasDown {
				b.log.Info("store: database back, writing the buffered rows", "pending", pending)
			}
			return
		}
		if ctx.Err() != nil {
			// Stopping: put it back for Drain.
			b.mu.Lock()
			b.q = append([]op{o}, b.q...)
			b.mu.Unlock()
			return
		}
		if !Transient(err) {
			if merged {
				// Find the bad part: write the parts one by one. Only
				// batches and positions are split (upserts are
				// rejected whole, rarely).
				if b.split(ctx, o) {
					return
				}
			}
			b.log.Error("store: write failed; dropping it", "rows", o.rows, "err", err)
			b.mu.Lock()
			b.stats.Pending -= o.rows
			b.stats.Failed += int64(o.rows)
			b.stats.LastError = err.Error()
			b.mu.Unlock()
			return
		}
		b.mu.Lock()
		if !b.stats.Down {
			b.log.Warn("store: database unreachable; buffering writes", "pending", b.stats.Pending, "err", err)
		}
		b.stats.Down = true
		b.stats.Retries++
		b.stats.LastError = err.Error()
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			b.mu.Lock()
			b.q = append([]op{o}, b.q...)
			b.mu.Unlock()
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, b.MaxBackoff)
	}
}

// split writes a merged batch write batch by batch, so that one bad batch
// costs only itself; false when o is of another kind.
func (b *Buffer) split(ctx context.Context, o op) bool {
	if o.kind != opBatches || len(o.batches) < 2 {
		return false
	}
	for i := range o.batches {
		if ctx.Err() != nil {
			rest := op{kind: opBatches, batches: o.batches[i:]}
			for _, rb := range rest.batches {
				rest.rows += len(rb.Batch.Obs)
			}
			b.mu.Lock()
			b.q = append([]op{rest}, b.q...)
			b.mu.Unlock()
			return true
		}
		part := op{kind: opBatches, batches: o.batches[i : i+1], rows: len(o.batches[i].Batch.Obs)}
		b.write(ctx, part, false)
	}
	return true
}
