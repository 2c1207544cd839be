package ingest

import (
	"fmt"
	"time"
	"unsafe"
)

// The journal's syncer: each round writes the lines appended since the
// last (whole disk blocks with direct I/O where the system has it, the
// partial last block through the page cache), fsyncs the files and only
// then answers the appends waiting for it.

// syncLoop is the syncer: each round takes the files appended to, their
// buffered lines and the waiters under the lock, writes and fsyncs outside
// it and answers the waiters. A round that fails keeps its lines and its
// appends' waiters for the next, which starts retryAfter later. It returns
// once the journal is closed and all is synced (or the last round failed).
func (j *Journal) syncLoop() {
	defer close(j.done)
	var r round
	for {
		j.mu.Lock()
		for len(j.pending) == 0 && len(j.syncs) == 0 && len(j.retired) == 0 && !j.closed {
			j.mu.Unlock()
			<-j.kick
			j.mu.Lock()
		}
		j.takeRound(&r)
		j.mu.Unlock()

		start := time.Now()
		err := r.commit()

		j.mu.Lock()
		j.finishRound(&r, err)
		more := len(j.pending) > 0 || len(j.syncs) > 0 || len(j.retired) > 0
		j.mu.Unlock()
		if r.final && !more {
			return
		}
		d := j.interval - time.Since(start)
		if err != nil {
			d = retryAfter
		}
		if d > 0 && !r.final {
			time.Sleep(d)
		}
	}
}

// retryAfter is how long the syncer waits after a round that failed before
// it writes the lines again.
const retryAfter = 100 * time.Millisecond

// round is a syncer's round: the files' flushes, the retired files among
// them (closed after), the appends waiting for it and the Syncs. Its
// slices are kept for the next round.
type round struct {
	flushes []flush
	retired []*journalFile
	waiters []chan error
	syncs   []chan error
	final   bool // the journal is closed: what this round cannot write is lost
}

// takeRound starts a round: it takes the lines of the files appended to,
// the retired files' last lines and the waiters; under the journal's lock.
func (j *Journal) takeRound(r *round) {
	r.flushes, r.retired, r.waiters = r.flushes[:0], append(r.retired[:0], j.retired...), append(r.waiters[:0], j.pending...)
	r.syncs, r.final = append(r.syncs[:0], j.syncs...), j.closed
	clear(j.retired)
	clear(j.pending)
	clear(j.syncs)
	j.retired, j.pending, j.syncs = j.retired[:0], j.pending[:0], j.syncs[:0]
	now := time.Now()
	for _, jf := range j.files {
		if jf.dirty {
			jf.dirty, jf.taken = false, now
			r.flushes = append(r.flushes, jf.take())
		} else if now.Sub(jf.taken) > idleAfter {
			jf.idle()
		}
	}
	for _, jf := range r.retired {
		fl := jf.take()
		fl.last = true
		r.flushes = append(r.flushes, fl)
	}
	clear(r.retired)
}

// commit writes and fsyncs the round's lines, closes its retired files
// and answers its appends once their lines are on disk (or the journal is
// closed); without the journal's lock. The appends of a round that failed
// stay in r.waiters for finishRound.
func (r *round) commit() error {
	err := writeFlushes(r.flushes, r.final)
	if err == nil || r.final {
		answer := err
		if err != nil {
			answer = fmt.Errorf("%w: %w", ErrClosed, err)
		}
		for _, ch := range r.waiters {
			ch <- answer
		}
		clear(r.waiters)
		r.waiters = r.waiters[:0]
	}
	return err
}

// finishRound notes what the round wrote, keeps what it could not write
// for the next, puts the appends waiting for those lines back in front of
// the ones that came since, and answers the round's Syncs with its
// outcome; under the journal's lock.
func (j *Journal) finishRound(r *round, err error) {
	for i := range r.flushes {
		r.flushes[i].done(j, r.final)
	}
	clear(r.flushes)
	// The Syncs last: a reader they answer finds what the round wrote
	// noted (writtenTo).
	for _, ch := range r.syncs {
		ch <- err
	}
	clear(r.syncs)
	if len(r.waiters) > 0 {
		j.pending = append(append(make([]chan error, 0, len(r.waiters)+len(j.pending)), r.waiters...), j.pending...)
		clear(r.waiters)
		r.waiters = r.waiters[:0]
	}
	j.err = err
	if err != nil || j.health.Err != nil {
		j.noteLocked(err)
	}
}

// noteLocked notes the outcome of a write in the journal's health and logs
// the start and the end of a failure; under the journal's lock.
func (j *Journal) noteLocked(err error) {
	h := &j.health
	switch {
	case err != nil && h.Err == nil:
		h.Since = time.Now()
		j.log.Error("journal cannot write; its lines are kept and written again, the batches not acknowledged until then",
			"err", err, "retry", retryAfter)
	case err == nil && h.Err != nil:
		j.log.Info("journal writes again", "failed_for", time.Since(h.Since).Round(time.Millisecond),
			"failures", h.Failures)
		h.Since = time.Time{}
	}
	if err != nil {
		h.Failures++
	}
	h.Err = err
}

// flush is one file's part of a syncer's round: the bytes it writes and
// where.
type flush struct {
	jf     *journalFile
	data   []byte // the file's bytes [off, end)
	off    int64
	end    int64
	direct int  // data[:direct] is written with direct I/O
	ok     bool // written and synced
	last   bool // the file's last: a retired file, closed after once written
	// buffered: direct I/O was refused; the file goes through the page
	// cache from now on.
	buffered bool
}

// take hands the syncer the lines buffered; under the journal's lock.
func (jf *journalFile) take() flush {
	fl := flush{jf: jf, data: jf.buf, off: jf.base, end: jf.size}
	jf.peak = min(max(jf.peak, len(jf.buf)), maxSpare)
	next := jf.spare[:0]
	jf.spare = nil
	if jf.d == nil {
		jf.buf, jf.base = next, jf.size
		return fl
	}
	// Whole blocks go to the disk directly; the partial last one through
	// the page cache, and again with the next round's lines.
	full := len(jf.buf) &^ (directAlign - 1)
	if aligned(jf.buf) {
		fl.direct = full
	}
	tail := jf.buf[full:]
	jf.buf = next
	jf.buf = append(jf.grow(len(tail)), tail...)
	jf.base += int64(full)
	return fl
}

// idle lets a file that has had nothing to write for idleAfter give back
// the memory a burst grew its buffers to; under the journal's lock.
func (jf *journalFile) idle() {
	jf.pool.put(jf.spare)
	jf.spare = nil
	if cap(jf.buf) > idleBuffer {
		old := jf.buf
		jf.buf = append(growAligned(nil, len(old)), old...)
		jf.pool.put(old)
	}
}

// idleBuffer is the most buffer memory a file keeps once it has not been
// appended to for idleAfter.
const (
	idleBuffer = 256 << 10
	idleAfter  = time.Second
)

// write writes the flush's bytes to its file.
func (fl *flush) write() error {
	if len(fl.data) == 0 {
		return nil
	}
	refused := false
	if fl.direct > 0 {
		if _, err := fl.jf.d.WriteAt(fl.data[:fl.direct], fl.off); err != nil {
			// Refused (a file system without direct I/O after all): the
			// whole of it through the page cache, as from now on if that
			// writes (if not, the disk failed, not direct I/O).
			refused = true
			fl.direct = 0
		}
	}
	if _, err := fl.jf.f.WriteAt(fl.data[fl.direct:], fl.off+int64(fl.direct)); err != nil {
		return err
	}
	fl.ok, fl.buffered = true, refused
	return nil
}

// done notes what the round wrote and keeps its buffer for the next;
// under the journal's lock. Bytes not written (their appends were not
// answered, so nothing of them was acknowledged) go back in front of the
// lines appended since, and the next round writes them again, so a later
// round never leaves a hole in the file; a retired file whose bytes were
// not written stays retired until they are (unless final).
func (fl *flush) done(j *Journal, final bool) {
	jf := fl.jf
	if fl.ok {
		jf.written = max(jf.written, fl.end)
	}
	if fl.buffered && jf.d != nil && !jf.retired {
		jf.d.Close()
		jf.d = nil
	}
	if !fl.ok && len(fl.data) > 0 {
		if nf := j.files[jf.site]; jf.retired && nf != nil && nf != jf && nf.day == jf.day {
			// A file of the same day opened since (appends out of receive
			// order) took jf's lines over: it writes these first too. One
			// opened during this round took what the round left, and is
			// given them now; either way its lines follow with no hole.
			if nf.base > fl.off && nf.written < fl.end {
				fl.putBack(nf)
			}
		} else {
			fl.putBack(jf)
		}
		if fl.last && !final {
			j.retired = append(j.retired, jf) // closed once written
		}
		return
	}
	if fl.last {
		// closed by commit
		jf.pool.put(fl.data)
		jf.pool.put(jf.spare)
		jf.buf, jf.spare = nil, nil
		if j.gone[goneKey{jf.site, jf.day}] == jf && jf.written == jf.size {
			delete(j.gone, goneKey{jf.site, jf.day})
		}
		return
	}
	if jf.spare == nil && cap(fl.data) <= maxSpare {
		jf.spare = fl.data[:0]
	} else {
		jf.pool.put(fl.data)
	}
}

// putBack puts the flush's bytes, not written, back in front of the lines
// jf buffered after them (jf is the flush's file, or the file of its day
// opened after it took them); under the journal's lock.
func (fl *flush) putBack(jf *journalFile) {
	rest := jf.buf[fl.end-jf.base:]
	jf.buf = append(append(growAligned(nil, len(fl.data)+len(rest)), fl.data...), rest...)
	jf.base, jf.dirty = fl.off, true
}

// maxSpare is the largest round's buffer a file keeps for the next.
const maxSpare = 16 << 20

// writeFlushes writes the round's lines and fsyncs their files; a flush whose
// fsync fails counts as not written (written again: after a failed fsync
// the kernel may have dropped the pages). Retired files are closed after,
// once their last lines are written (or final).
func writeFlushes(flushes []flush, final bool) error {
	var err error
	keep := func(e error) bool {
		if e != nil && err == nil {
			err = fmt.Errorf("ingest: journal sync: %w", e)
		}
		return e == nil
	}
	for i := range flushes {
		keep(flushes[i].write())
	}
	for i := range flushes {
		fl := &flushes[i]
		fl.ok = keep(fl.jf.f.Sync()) && fl.ok
	}
	for i := range flushes {
		fl := &flushes[i]
		if fl.last && (fl.ok || len(fl.data) == 0 || final) {
			keep(fl.jf.f.Close())
			if fl.jf.d != nil {
				keep(fl.jf.d.Close())
			}
		}
	}
	return err
}

// directAlign is the alignment of direct I/O: of the file offsets, the
// lengths and the memory written from (the page size; a disk's logical
// block is 512 or 4096 bytes).
const directAlign = 4096

// growAligned returns b with room for n more bytes, in memory aligned to
// directAlign (b's own when it has the room).
func growAligned(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	c := max(2*cap(b), len(b)+n, 64<<10)
	nb := make([]byte, c+directAlign)
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(nb))) & (directAlign - 1))
	if off != 0 {
		off = directAlign - off
	}
	return append(nb[off:off:off+c], b...)
}

// grow returns jf.buf with room for n more bytes; a buffer that grows
// grows to at least the largest round's size.
func (jf *journalFile) grow(n int) []byte {
	if cap(jf.buf)-len(jf.buf) >= n {
		return jf.buf
	}
	old := jf.buf
	jf.buf = append(jf.pool.get(len(old)+n, max(2*cap(old), jf.peak)), old...)
	jf.pool.put(old)
	return jf.buf
}

// aligned reports whether b starts at an address aligned to directAlign.
func aligned(b []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))&(directAlign-1) == 0
}
