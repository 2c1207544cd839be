// Package ingest is the server's front door for sensor data: the MQTT
// subscription, the contract's checks on every batch, and the journal of
// accepted batches that replays reproduce the live server from.
package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/passant/passant/wire"
)

// Journal appends every accepted batch, with its receive time, as the
// contract's journal lines {"recv":...,"batch":{...}}, one file per site and
// UTC day: DIR/<site>/<YYYY-MM-DD>.jsonl. Append puts the line in the
// file's buffer and returns; a background syncer writes the buffered lines
// to the file and fsyncs it, and only then answers the append, so a batch
// that is acknowledged to the broker after that is never lost by a crash
// of the server. The writes and syncs are grouped (group commit): the
// syncer works without the append lock, so appends go on meanwhile, and it
// starts the next round as soon as the previous one is done: the more
// batches come during a round, the more one write and one fsync cover.
//
// Where the system allows it (Linux, a file system with O_DIRECT), the
// syncer writes a round's whole blocks with direct I/O: from the buffer to
// the disk without a copy into the page cache, which was the larger part
// of a burst's journal writes (docs/reliability.md, "2026-12-05
// afternoon"). The partial block at the end goes through the page cache
// and is written again, completed, by the next round; the fsync after
// each round covers both.
type Journal struct {
	dir      string
	interval time.Duration

	mu      sync.Mutex
	files   map[string]*journalFile
	retired []*journalFile // files of a past day, synced and closed by the syncer
	// gone holds the files retired and not yet closed with every line
	// written, by site and day (file).
	gone    map[goneKey]*journalFile
	pending []chan error // appends (and Syncs) waiting for the next fsync
	buf     []byte
	// buffered, when set (tests), writes every line through the page
	// cache, as on systems without direct I/O.
	buffered bool
	kick     chan struct{}
	done     chan struct{}
	closed   bool
	err      error
}

type journalFile struct {
	site, day string
	f         *os.File // read and written at offsets (not O_APPEND)
	d         *os.File // the same file opened for direct I/O; nil without
	size      int64    // bytes in the file once written: where the next line starts
	dirty     bool     // appended to since the syncer last took it
	// buf holds the file's bytes [base, size) that the syncer has not
	// taken yet. With direct I/O base is a multiple of directAlign and buf
	// starts with the bytes of the file's last partial block (written
	// again, completed, with the next lines); without, base is the size
	// written. spare is the buffer of the round before, for the next.
	buf, spare []byte
	base       int64
	written    int64     // bytes [0, written) are in the file
	retired    bool      // of a past day: synced and closed by the syncer
	taken      time.Time // when the syncer last took lines of it
}

// OpenJournal opens (creating) a journal directory. interval is the least
// time from the start of one fsync to the start of the next (0: the next
// starts as soon as the previous one is done and an append waits).
func OpenJournal(dir string, interval time.Duration) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("ingest: journal: %w", err)
	}
	j := &Journal{dir: dir, interval: interval, files: map[string]*journalFile{}, gone: map[goneKey]*journalFile{},
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	go j.syncLoop()
	return j, nil
}

// Append writes one batch of site received at recv and waits until it is on
// disk.
func (j *Journal) Append(site string, recv int64, b *wire.Batch) error {
	ch, _, err := j.append(site, recv, b, nil)
	if err != nil {
		return err
	}
	return <-ch
}

// AppendAsync writes one batch and returns a channel that yields nil once it
// is on disk (or the error that kept it from being synced).
func (j *Journal) AppendAsync(site string, recv int64, b *wire.Batch) (<-chan error, error) {
	ch, _, err := j.append(site, recv, b, nil)
	return ch, err
}

// AppendAt is AppendAsync that also tells where the line was written.
func (j *Journal) AppendAt(site string, recv int64, b *wire.Batch) (<-chan error, At, error) {
	return j.append(site, recv, b, nil)
}

// AppendBatchJSONAt is AppendAt for a batch already in JSON: a plain
// payload as received (wire.DecodeBatch says when; it decodes to the same
// batch, so it need not be encoded again) or wire.AppendBatch's encoding.
// The line is {"recv":...,"batch":<batchJSON>}.
func (j *Journal) AppendBatchJSONAt(site string, recv int64, batchJSON []byte) (<-chan error, At, error) {
	return j.append(site, recv, nil, batchJSON)
}

// append writes the line of b, or of batchJSON when b is nil.
func (j *Journal) append(site string, recv int64, b *wire.Batch, batchJSON []byte) (chan error, At, error) {
	if !wire.ValidID(site) {
		return nil, At{}, fmt.Errorf("ingest: journal: bad site id")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, At{}, errors.New("ingest: journal closed")
	}
	day := time.UnixMilli(recv).UTC().Format(time.DateOnly)
	jf, err := j.file(site, day)
	if err != nil {
		return nil, At{}, err
	}
	k := len(jf.buf)
	if b != nil {
		j.buf = wire.AppendJournalLine(j.buf[:0], recv, b)
		jf.buf = append(growAligned(jf.buf, len(j.buf)+1), j.buf...)
	} else {
		// The line in place: {"recv":N,"batch": is at most 40 bytes.
		jf.buf = wire.AppendJournalPayload(growAligned(jf.buf, len(batchJSON)+64), recv, batchJSON)
	}
	jf.buf = append(jf.buf, '\n')
	n := len(jf.buf) - k
	jf.dirty = true
	at := At{Day: day, Off: jf.size, End: jf.size + int64(n)}
	jf.size += int64(n)
	ch := make(chan error, 1)
	j.pending = append(j.pending, ch)
	j.kickLocked()
	return ch, at, nil
}

func (j *Journal) kickLocked() {
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

// file returns the open file of site for day; a file of another day is
// retired: the syncer syncs and closes it.
func (j *Journal) file(site, day string) (*journalFile, error) {
	jf := j.files[site]
	if jf != nil && jf.day == day {
		return jf, nil
	}
	d := filepath.Join(j.dir, site)
	if err := os.MkdirAll(d, 0o750); err != nil {
		return nil, fmt.Errorf("ingest: journal: %w", err)
	}
	name := filepath.Join(d, day+".jsonl")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("ingest: journal: %w", err)
	}
	nf := &journalFile{site: site, day: day, f: f}
	if old := j.gone[goneKey{site, day}]; old != nil {
		// The file of a day appended to again (appends out of receive
		// order) while the syncer may still write its lines: it goes on
		// from where that one ended, and the file is not cut.
		if old.d != nil {
			nf.d, _ = openDirect(name)
		}
		if (old.d == nil) != (nf.d == nil) {
			f.Close()
			return nil, errors.New("ingest: journal: direct I/O refused for a file that had it")
		}
		nf.size, nf.base, nf.written = old.size, old.base, old.written
		nf.buf = append(growAligned(nil, len(old.buf)), old.buf...)
	} else {
		size, err := dropTornTail(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("ingest: journal: %w", err)
		}
		nf.size, nf.base, nf.written = size, size, size
		if !j.buffered {
			nf.d, _ = openDirect(name) // nil: through the page cache
		}
		if nf.d != nil {
			// The next direct write starts at the last partial block,
			// which the buffer holds.
			nf.base = size &^ (directAlign - 1)
			nf.buf = growAligned(nil, int(size-nf.base))[:size-nf.base]
			if _, err := f.ReadAt(nf.buf, nf.base); err != nil {
				nf.d.Close()
				f.Close()
				return nil, fmt.Errorf("ingest: journal: %w", err)
			}
		}
	}
	if jf != nil {
		jf.retired = true
		j.retired = append(j.retired, jf)
		j.gone[goneKey{site, jf.day}] = jf
	}
	j.files[site] = nf
	return nf, nil
}

// goneKey names a retired file: its site and day.
type goneKey struct{ site, day string }

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

// aligned reports whether b starts at an address aligned to directAlign.
func aligned(b []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))&(directAlign-1) == 0
}

// dropTornTail cuts a torn last line off a journal file opened to append to
// and returns the file's size after. A server killed while it wrote a line
// can leave part of it (Linux stops a write to a file at a page boundary
// when the process gets SIGKILL); that batch was never acknowledged, so the
// broker delivers it again, and the line appended next would run on from
// the torn part, and both be lost to every reader.
func dropTornTail(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = start + int64(i) + 1
			if end == size {
				return size, nil
			}
			return end, f.Truncate(end)
		}
		end = start
	}
	if size == 0 {
		return 0, nil
	}
	return 0, f.Truncate(0)
}

// syncLoop is the syncer: each round takes the files appended to, their
// buffered lines and the waiters under the lock, writes and fsyncs outside
// it and answers the waiters. It returns once the journal is closed and all
// is synced.
func (j *Journal) syncLoop() {
	defer close(j.done)
	var flushes []flush
	var retired []*journalFile
	var waiters []chan error
	for {
		j.mu.Lock()
		for len(j.pending) == 0 && len(j.retired) == 0 && !j.closed {
			j.mu.Unlock()
			<-j.kick
			j.mu.Lock()
		}
		flushes, retired, waiters = flushes[:0], append(retired[:0], j.retired...), append(waiters[:0], j.pending...)
		clear(j.retired)
		clear(j.pending)
		j.retired, j.pending = j.retired[:0], j.pending[:0]
		now := time.Now()
		for _, jf := range j.files {
			if jf.dirty {
				jf.dirty, jf.taken = false, now
				flushes = append(flushes, jf.take())
			} else if now.Sub(jf.taken) > idleAfter {
				jf.idle()
			}
		}
		for _, jf := range retired {
			fl := jf.take()
			fl.last = true
			flushes = append(flushes, fl)
		}
		closed := j.closed
		j.mu.Unlock()

		start := time.Now()
		err := commit(flushes, retired)
		for _, ch := range waiters {
			ch <- err
		}
		clear(waiters)
		clear(retired)

		j.mu.Lock()
		for i := range flushes {
			flushes[i].done(j)
		}
		clear(flushes)
		if err != nil {
			j.err = err
		}
		more := len(j.pending) > 0 || len(j.retired) > 0
		j.mu.Unlock()
		if closed && !more {
			return
		}
		if d := j.interval - time.Since(start); d > 0 && !closed {
			time.Sleep(d)
		}
	}
}

// flush is one file's part of a syncer's round: the bytes it writes and
// where.
type flush struct {
	jf     *journalFile
	data   []byte // the file's bytes [off, end)
	off    int64
	end    int64
	direct int  // data[:direct] is written with direct I/O
	ok     bool // written
	last   bool // the file's last: a retired file, closed after
	// buffered: direct I/O was refused; the file goes through the page
	// cache from now on.
	buffered bool
}

// take hands the syncer the lines buffered; under the journal's lock.
func (jf *journalFile) take() flush {
	fl := flush{jf: jf, data: jf.buf, off: jf.base, end: jf.size}
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
	jf.buf = append(growAligned(next, len(tail)), tail...)
	jf.base += int64(full)
	return fl
}

// idle lets a file that has had nothing to write for idleAfter give back
// the memory a burst grew its buffers to; under the journal's lock.
func (jf *journalFile) idle() {
	jf.spare = nil
	if cap(jf.buf) > idleBuffer {
		jf.buf = append(growAligned(nil, len(jf.buf)), jf.buf...)
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
	if fl.direct > 0 {
		if _, err := fl.jf.d.WriteAt(fl.data[:fl.direct], fl.off); err != nil {
			// Refused (a file system without direct I/O after all): the
			// whole of it through the page cache, as from now on.
			fl.buffered = true
			fl.direct = 0
		}
	}
	if _, err := fl.jf.f.WriteAt(fl.data[fl.direct:], fl.off+int64(fl.direct)); err != nil {
		return err
	}
	fl.ok = true
	return nil
}

// done notes what the round wrote and keeps its buffer for the next;
// under the journal's lock.
func (fl *flush) done(j *Journal) {
	jf := fl.jf
	if fl.ok {
		jf.written = max(jf.written, fl.end)
	}
	if fl.last {
		// closed by commit
		if j.gone[goneKey{jf.site, jf.day}] == jf && jf.written == jf.size {
			delete(j.gone, goneKey{jf.site, jf.day})
		}
		jf.buf, jf.spare = nil, nil
		return
	}
	if fl.buffered && jf.d != nil && !jf.retired {
		jf.d.Close()
		jf.d = nil
	}
	if !fl.ok && len(fl.data) > 0 {
		// Not written (its waiters had the error, so nothing of it was
		// acknowledged): the round's bytes go back in front of the lines
		// appended since, and the next round writes them again, so a
		// later round never leaves a hole in the file.
		rest := jf.buf[fl.end-jf.base:]
		jf.buf = append(append(growAligned(nil, len(fl.data)+len(rest)), fl.data...), rest...)
		jf.base, jf.dirty = fl.off, true
		return
	}
	if jf.spare == nil && cap(fl.data) <= maxSpare {
		jf.spare = fl.data[:0]
	}
}

// maxSpare is the largest round's buffer a file keeps for the next.
const maxSpare = 16 << 20

// commit writes the rounds' lines and fsyncs their files; retired files
// are closed after.
func commit(flushes []flush, retired []*journalFile) error {
	var err error
	keep := func(e error) {
		if e != nil && err == nil {
			err = fmt.Errorf("ingest: journal sync: %w", e)
		}
	}
	for i := range flushes {
		keep(flushes[i].write())
	}
	for i := range flushes {
		keep(flushes[i].jf.f.Sync())
	}
	for _, jf := range retired {
		keep(jf.f.Close())
		if jf.d != nil {
			keep(jf.d.Close())
		}
	}
	return err
}

// written waits until the lines of site appended so far are in its files,
// where a reader sees them (the syncer writes them in its next round).
func (j *Journal) written(site string) {
	j.mu.Lock()
	need := false
	if jf := j.files[site]; jf != nil && jf.written < jf.size {
		need = true
	}
	for _, jf := range j.retired {
		need = need || jf.site == site
	}
	j.mu.Unlock()
	if need {
		j.Sync()
	}
}

// Sync waits until every line appended so far is on disk. Lines are handed
// on before they are synced (the acknowledgement waits, delivery does
// not); a reader of the files sees them once the syncer has written them
// (ReadRange waits for that).
func (j *Journal) Sync() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	ch := make(chan error, 1)
	j.pending = append(j.pending, ch)
	j.kickLocked()
	j.mu.Unlock()
	if err := <-ch; err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// Close syncs and closes the journal.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.kickLocked()
	j.mu.Unlock()
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.err
	for _, jf := range j.files {
		if e := jf.f.Close(); e != nil && err == nil {
			err = e
		}
		if jf.d != nil {
			jf.d.Close()
		}
	}
	return err
}

// Files returns the journal files of site whose UTC day is in [from, to]
// (YYYY-MM-DD, either may be empty for open), oldest first.
func (j *Journal) Files(site, from, to string) ([]string, error) {
	return JournalFiles(j.dir, site, from, to)
}

// JournalFiles lists a journal directory's files of site, oldest first.
func JournalFiles(dir, site, from, to string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, site))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: journal: %w", err)
	}
	var out []string
	for _, e := range ents {
		day, ok := strings.CutSuffix(e.Name(), ".jsonl")
		if !ok || (from != "" && day < from) || (to != "" && day > to) {
			continue
		}
		out = append(out, filepath.Join(dir, site, e.Name()))
	}
	sort.Strings(out)
	return out, nil
}

// ReadJournal calls fn for each line of the given journal files in order.
// Lines that do not decode are reported to bad and skipped (a torn last
// line after a crash is such a line).
func ReadJournal(files []string, fn func(l *wire.Line) error, bad func(file string, err error)) error {
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("ingest: journal: %w", err)
		}
		err = readLines(f, fn, func(err error) {
			if bad != nil {
				bad(name, err)
			}
		})
		f.Close()
		if err != nil {
			return fmt.Errorf("ingest: journal %s: %w", filepath.Base(name), err)
		}
	}
	return nil
}

func readLines(r io.Reader, fn func(l *wire.Line) error, bad func(error)) error {
	lines := wire.NewLines(r)
	var l wire.Line
	for lines.Next(&l) {
		if l.Err != nil {
			bad(l.Err)
			continue
		}
		if err := fn(&l); err != nil {
			return err
		}
	}
	return lines.Err()
}
