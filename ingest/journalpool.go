package ingest

// bufPool holds the journal files' buffers that are done with (a round's
// written lines, a buffer that grew, one an idle file gave back) for the
// next buffer that has to grow, at most maxPool bytes of them, for the
// journal's life. A burst then fills buffers in use already, instead of
// fresh memory that the runtime zeroes and the kernel faults in page by
// page: in TestIngestVsSubscriber's burst that was a third of the
// journal's appends (docs/reliability.md, "2026-12-05 evening"). Used
// under the journal's lock.
type bufPool struct {
	free  [][]byte
	bytes int
}

// maxPool is the most bytes of buffers the pool holds.
const maxPool = 64 << 20

// get returns an empty buffer aligned to directAlign with room for n
// bytes: the smallest pooled one that has it, or a new one.
func (p *bufPool) get(n int) []byte {
	best := -1
	for i, b := range p.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(p.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return growAligned(nil, n)
	}
	b := p.free[best]
	last := len(p.free) - 1
	p.free[best], p.free[last] = p.free[last], nil
	p.free = p.free[:last]
	p.bytes -= cap(b)
	return b
}

// put gives b's memory back for a later get; b must not be used after.
// Buffers of less than 64 KiB or more than maxSpare, and any past the
// pool's bound, are left to the collector.
func (p *bufPool) put(b []byte) {
	c := cap(b)
	if c < 64<<10 || c > maxSpare || p.bytes+c > maxPool || !aligned(b) {
		return
	}
	p.free = append(p.free, b[:0])
	p.bytes += c
}
