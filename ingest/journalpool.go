package ingest

import "sync"

// bufPool holds the journal files' buffers that are done with (a round's
// written lines, a buffer that grew, one an idle file gave back) for the
// next buffer that has to grow, at most maxPool bytes of them, for the
// process's life (every journal of the process shares journalPool). A
// burst then fills buffers in use already, instead of fresh memory that
// the runtime zeroes and the kernel faults in page by page: in
// TestIngestVsSubscriber's burst that was a third of the journal's appends
// (docs/reliability.md, "2026-12-05 evening").
type bufPool struct {
	mu    sync.Mutex
	free  [][]byte
	bytes int
}

// journalPool is the process's pool of journal buffers.
var journalPool bufPool

// maxPool is the most bytes of buffers the pool holds.
const maxPool = 64 << 20

// get returns an empty buffer aligned to directAlign with room for at
// least n bytes, best want: the smallest pooled one that has want, else the
// largest that has n, else a new one of want.
func (p *bufPool) get(n, want int) []byte {
	want = max(n, want)
	p.mu.Lock()
	defer p.mu.Unlock()
	best := -1
	for i, b := range p.free {
		switch c := cap(b); {
		case c < n:
		case best < 0:
			best = i
		case cap(p.free[best]) < want && c > cap(p.free[best]), // larger, still short of want
			c >= want && c < cap(p.free[best]): // smaller, and want fits
			best = i
		}
	}
	if best < 0 {
		return growAligned(nil, want)
	}
	b := p.free[best]
	last := len(p.free) - 1
	p.free[best], p.free[last] = p.free[last], nil
	p.free = p.free[:last]
	p.bytes -= cap(b)
	return b
}

// put gives b's memory back for a later get; b must not be used after.
// Buffers of less than 64 KiB or more than maxSpare are left to the
// collector; past the pool's bound, smaller pooled buffers make room for b
// (a burst's rounds want the largest), or b is left.
func (p *bufPool) put(b []byte) {
	c := cap(b)
	if c < 64<<10 || c > maxSpare || !aligned(b) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.bytes+c > maxPool {
		small := -1
		for i, f := range p.free {
			if cap(f) < c && (small < 0 || cap(f) < cap(p.free[small])) {
				small = i
			}
		}
		if small < 0 {
			return
		}
		p.bytes -= cap(p.free[small])
		last := len(p.free) - 1
		p.free[small], p.free[last] = p.free[last], nil
		p.free = p.free[:last]
	}
	p.free = append(p.free, b[:0])
	p.bytes += c
}
