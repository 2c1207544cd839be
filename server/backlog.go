package server

// The backlog: when a site runner's queue is full, ingest does not wait for
// it. Every batch is in the journal before it is delivered, so the runner
// reads the batches it could not take from there, in journal order, then
// takes its queue again.
//
// The order is the journal's, so the live result is still the replay of the
// journal: a delivery that finds the queue full marks the runner behind from
// its line; while behind, no delivery goes to the queue, each only moves
// the backlog's end to after its line. The runner takes what is left in its
// queue (all of it journaled before the first line behind), then reads the
// journal from that line, a chunk at a time, up to the backlog's end. It
// reads only up to the end of the last line delivered, never to the end of
// the file: a line appended but not yet delivered is read by neither path
// twice. When it has read up to the end under the backlog's lock, which
// every delivery takes, it clears "behind", and the next delivery goes to
// the queue again. Memory stays bounded: a chunk of lines at a time.

import (
	"os"
	"sync"
	"sync/atomic"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/wire"
)

// backlogChunk is how many journal lines the runner reads at a time before
// it looks at its control channel and queue again.
const backlogChunk = 256

// backlog is a runner's state behind its queue.
type backlog struct {
	mu     sync.Mutex
	behind atomic.Bool // written under mu
	next   ingest.Pos  // the first line not yet processed
	end    ingest.Pos  // just after the last line delivered
	// nextFile is the file of next's day as the last read had it open,
	// and after the receive time up to which lines were processed: the
	// rest of the journal cursor (ingest.Cursor), for an erasure
	// (forget.go) that writes a closed day's file again.
	nextFile os.FileInfo
	after    int64
	// batches counts the batches read from the journal (the metric
	// passant_backlog_batches_total); times the runner fell behind.
	batches atomic.Int64
	times   atomic.Int64
}

// deliver hands a batch to the runner: on its queue, or, when the queue is
// full, the payloads queued at all runners would pass Config.QueueBytes, or the
// runner is behind already, through the journal. Without a journal line
// (at is zero) it waits for room on the queue. It reports whether the
// batch went on the queue (a payload is then the runner's until it has
// decoded it).
func (r *siteRunner) deliver(d delivery, at ingest.At) (queued bool) {
	if at.Day == "" {
		r.srv.payloads.Add(int64(cap(d.payload)))
		r.in <- d
		return true
	}
	d.next = at.Next()
	bl := &r.bl
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if bl.behind.Load() {
		bl.end = at.Next()
		return false
	}
	if n := int64(cap(d.payload)); n == 0 || r.srv.payloads.Add(n) <= r.srv.cfg.QueueBytes {
		select {
		case r.in <- d:
			return true
		default:
		}
	}
	r.srv.payloads.Add(-int64(cap(d.payload)))
	r.fallBehind(at, d.recv)
	bl.times.Add(1)
	return false
}

// fallBehind starts the backlog at the line at (received at recv); under
// bl.mu.
func (r *siteRunner) fallBehind(at ingest.At, recv int64) {
	bl := &r.bl
	bl.next, bl.end = at.Start(), at.Next()
	bl.nextFile, bl.after = r.srv.writer.dayFile(r.id, at.Day), recv-1
	bl.behind.Store(true)
}

// The payloads on the queues are bounded (Config.QueueBytes, all runners
// together): a burst larger than that goes through the journal, and
// ingest reuses each payload's memory for the next one at once, instead of
// taking fresh memory for the whole burst, which the runners would hold
// until it is over (they stand aside while it lasts); the kernel's
// faulting in and zeroing of that memory was the largest cost of a
// burst's reading in the server (docs/reliability.md, 2026-12-05
// afternoon).

// decoded notes that a queued payload has been decoded: it leaves the
// budget and goes back to ingest for a later message.
func (r *siteRunner) decoded(payload []byte) {
	r.srv.payloads.Add(-int64(cap(payload)))
	if sub := r.ingest(); sub != nil {
		sub.Release(payload)
	}
}

// catchUp processes up to max batches of the backlog from the journal; it
// runs in the runner's goroutine once the queue is empty. It returns
// whether the runner is still behind.
func (r *siteRunner) catchUp(max int) bool {
	bl := &r.bl
	bl.mu.Lock()
	cur, to := ingest.Cursor{Pos: bl.next, File: bl.nextFile, After: bl.after}, bl.end
	bl.mu.Unlock()
	after := cur.After
	rd, err := r.srv.journal.ReadFrom(r.id, cur, to, max, func(recv int64, b *wire.Batch, d wire.Drops) {
		if recv > after {
			after = recv
		}
		r.accept(delivery{recv: recv, b: b, drops: d})
	}, func(err error) {
		r.srv.log.Warn("journal line skipped", "site", r.id, "err", err)
	})
	pos, n := rd.Pos, rd.N
	bl.batches.Add(int64(n))
	if err != nil {
		// Nothing more can be read from here: what is left of the backlog
		// is lost to the live pipeline (a replay meets the same error).
		r.srv.log.Error("reading the backlog from the journal failed; the rest is skipped", "site", r.id,
			"from", cur.Pos, "to", to, "err", err)
		pos, rd.File = to, nil
	} else {
		r.checkpointDue(pos)
	}
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if rd.File != nil || pos.Day != cur.Pos.Day {
		bl.nextFile = rd.File
	}
	bl.next, bl.after = pos, after
	if bl.next == bl.end {
		bl.behind.Store(false)
		return false
	}
	return true
}

// behind reports whether the runner has a backlog in the journal.
func (r *siteRunner) behind() bool { return r.bl.behind.Load() }
