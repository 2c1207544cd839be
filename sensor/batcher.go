package sensor

import (
	"time"

	"github.com/passant/passant/wire"
)

// BatcherConfig sets how observations are cut into batches.
type BatcherConfig struct {
	Sensor   string        // the batches' sensor id
	Boot     int64         // when the sensor process started, Unix ms (the batches' boot)
	Interval time.Duration // a batch spans at most this much capture time; default 1 s
	MaxObs   int           // and holds at most this many observations; default wire.MaxObs
}

// Batcher cuts a stream of observations into the contract's batches,
// numbered 1, 2, 3, ... since Boot. A batch closes when an observation
// comes Interval or more after (or, the clock stepped back, before) the
// batch's first one (capture time), when
// it is full, or when Flush is called (by a ticker on a quiet channel, and
// at the end). It is not safe for concurrent use.
//
// A returned batch stays valid until the next call to Add or Flush: the
// Batcher reuses its memory, so sinks encode or copy it at once (Publisher
// and JSONLWriter do).
type Batcher struct {
	cfg   BatcherConfig
	cur   *wire.Batch
	spare *wire.Batch
	id    int64
}

// NewBatcher returns a Batcher; zero fields of cfg take their defaults.
func NewBatcher(cfg BatcherConfig) *Batcher {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.MaxObs <= 0 || cfg.MaxObs > wire.MaxObs {
		cfg.MaxObs = wire.MaxObs
	}
	return &Batcher{cfg: cfg, cur: &wire.Batch{}, spare: &wire.Batch{}}
}

// Add appends o. now is the sensor clock (Unix ms), used as the sent time
// of a batch that o closes; that batch is returned, else nil.
func (b *Batcher) Add(o wire.Observation, now int64) *wire.Batch {
	var out *wire.Batch
	if n := len(b.cur.Obs); n > 0 && b.past(o.T) {
		out = b.close(now)
	}
	b.cur.Obs = append(b.cur.Obs, o)
	if len(b.cur.Obs) >= b.cfg.MaxObs {
		if out != nil {
			panic("sensor: batcher closed two batches at once") // MaxObs >= 1
		}
		out = b.close(now)
	}
	return out
}

// Due reports whether the open batch has reached its Interval by the
// clock now (Unix ms), so that a Flush should close it.
func (b *Batcher) Due(now int64) bool {
	return len(b.cur.Obs) > 0 && b.past(now)
}

// past reports whether t lies Interval or more from the open batch's first
// observation, either way: a clock stepped back (an NTP correction) must
// not hold the batch open until it has come round to that time again.
func (b *Batcher) past(t int64) bool {
	d := t - b.cur.Obs[0].T
	return d >= b.cfg.Interval.Milliseconds() || -d >= b.cfg.Interval.Milliseconds()
}

// Flush closes and returns the open batch with sent time now; nil when it
// holds no observation.
func (b *Batcher) Flush(now int64) *wire.Batch {
	if len(b.cur.Obs) == 0 {
		return nil
	}
	return b.close(now)
}

// Pending is the number of observations in the open batch.
func (b *Batcher) Pending() int { return len(b.cur.Obs) }

// Batches is the number of batches closed so far (the last id).
func (b *Batcher) Batches() int64 { return b.id }

func (b *Batcher) close(now int64) *wire.Batch {
	b.id++
	out := b.cur
	out.V, out.Sensor, out.Boot, out.ID = wire.Version, b.cfg.Sensor, b.cfg.Boot, b.id
	out.Sent = max(now, out.Obs[len(out.Obs)-1].T)
	b.cur, b.spare = b.spare, b.cur
	b.cur.Obs = b.cur.Obs[:0]
	return out
}
