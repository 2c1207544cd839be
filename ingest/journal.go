// Package ingest is the server's front door for sensor data: the MQTT
// subscription, the contract's checks on every batch, and the journal of
// accepted batches that replays reproduce the live server from.
package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

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
//
// A round that fails (a full disk) keeps its lines and its appends'
// waiters: the syncer writes them again every retryAfter, with whatever
// was appended since, and answers the appends once their lines are on
// disk. So an append is answered nil exactly when its line is on disk,
// whenever that is, and with an error only when the journal is closed
// before (its line lost to the journal). Health tells whether the journal
// writes now.
type Journal struct {
	dir      string
	interval time.Duration

	mu      sync.Mutex
	files   map[string]*journalFile
	retired []*journalFile // files of a past day, synced and closed by the syncer
	// gone holds the files retired and not yet closed with every line
	// written, by site and day (file).
	gone    map[goneKey]*journalFile
	pending []chan error // appends waiting until their lines are on disk
	syncs   []chan error // Syncs waiting for the next round's outcome
	buf     []byte
	// buffered, when set (tests), writes every line through the page
	// cache, as on systems without direct I/O.
	buffered bool
	kick     chan struct{}
	done     chan struct{}
	closed   bool
	err      error // the last round's
	health   Health
	log      *slog.Logger
}

// Health is whether the journal writes: Err is the error of the last
// round of writes, nil when it wrote (or none ran yet); Since is when the
// rounds started to fail (zero while they do not); Failures counts every
// round that failed.
type Health struct {
	Err      error
	Since    time.Time
	Failures int64
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
	// peak is the most bytes a round of the syncer took (at most
	// maxSpare): a buffer that has to grow grows to it at once, instead
	// of doubling (and copying) its way there round after round.
	peak int
	pool *bufPool // for buffers that grow or are done (journalPool)
}

// OpenJournal opens (creating) a journal directory. interval is the least
// time from the start of one fsync to the start of the next (0: the next
// starts as soon as the previous one is done and an append waits).
func OpenJournal(dir string, interval time.Duration) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("ingest: journal: %w", err)
	}
	j := newJournal(dir, interval)
	go j.syncLoop()
	return j, nil
}

// newJournal returns a journal of dir without its syncer.
func newJournal(dir string, interval time.Duration) *Journal {
	return &Journal{dir: dir, interval: interval, files: map[string]*journalFile{}, gone: map[goneKey]*journalFile{},
		kick: make(chan struct{}, 1), done: make(chan struct{}), log: slog.Default()}
}

// SetLog sets the logger the journal reports a failure to write and the
// recovery to (default slog.Default()).
func (j *Journal) SetLog(l *slog.Logger) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.log = l
}

// Health reports whether the journal writes now.
func (j *Journal) Health() Health {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.health
}

// ErrClosed is the error of an append to a closed journal, and of the
// appends whose lines a closed journal could not write.
var ErrClosed = errors.New("ingest: journal closed")

// Append writes one batch of site received at recv and waits until it is on
// disk (while the disk is full, until it has room again).
func (j *Journal) Append(site string, recv int64, b *wire.Batch) error {
	ch, _, err := j.append(site, recv, b, nil)
	if err != nil {
		return err
	}
	return <-ch
}

// AppendAsync writes one batch and returns a channel that yields nil once it
// is on disk, or an error (ErrClosed) when the journal was closed before it
// could be written.
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
		return nil, At{}, ErrClosed
	}
	day := time.UnixMilli(recv).UTC().Format(time.DateOnly)
	jf, err := j.file(site, day)
	if err != nil {
		j.noteLocked(err)
		return nil, At{}, err
	}
	k := len(jf.buf)
	if b != nil {
		j.buf = wire.AppendJournalLine(j.buf[:0], recv, b)
		jf.buf = append(jf.grow(len(j.buf)+1), j.buf...)
	} else {
		// The line in place: {"recv":N,"batch": is at most 40 bytes.
		jf.buf = wire.AppendJournalPayload(jf.grow(len(batchJSON)+64), recv, batchJSON)
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
	f, err := openLocked(name)
	if err != nil {
		return nil, fmt.Errorf("ingest: journal: %w", err)
	}
	nf := &journalFile{site: site, day: day, f: f, pool: &journalPool}
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
		// The new file writes them; the old one, retired, only closes.
		old.buf, old.base = nil, old.size
		delete(j.gone, goneKey{site, day})
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

// openLocked opens a journal file to append to and takes a shared lock on
// it, held while it is open: an erasure (ForgetInJournal, in this process
// or in `passant forget`) rewrites only a file it can lock exclusively. An
// erasure that renamed its copy over the file while the lock was waited
// for leaves the old file behind: the new one is opened.
func openLocked(name string) (*os.File, error) {
	for {
		f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o640)
		if err != nil {
			return nil, err
		}
		if err := lockShared(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", filepath.Base(name), err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		now, err := os.Stat(name)
		if err == nil && os.SameFile(fi, now) {
			return f, nil
		}
		f.Close()
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
}

// goneKey names a retired file: its site and day.
type goneKey struct{ site, day string }

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

// writtenTo returns to, or where the first line of site still to write
// starts when that is before to (a failed round's, kept to be written
// again).
func (j *Journal) writtenTo(site string, to Pos) Pos {
	j.mu.Lock()
	defer j.mu.Unlock()
	clamp := func(jf *journalFile) {
		if jf != nil && jf.site == site && jf.written < jf.size {
			if p := (Pos{jf.day, jf.written}); p.Before(to) {
				to = p
			}
		}
	}
	clamp(j.files[site])
	for _, jf := range j.gone {
		clamp(jf)
	}
	return to
}

// Sync waits for the syncer's next round, which writes every line appended
// so far, and returns its error: nil once they are all on disk. While the
// journal cannot write (a full disk), Sync returns the error of that round
// without waiting for the disk; the lines stay to be written, and a Sync
// after the journal writes again returns nil. Lines are handed on before
// they are synced (the acknowledgement waits, delivery does not); a reader
// of the files sees them once the syncer has written them (ReadRange waits
// for that).
func (j *Journal) Sync() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	ch := make(chan error, 1)
	j.syncs = append(j.syncs, ch)
	j.kickLocked()
	j.mu.Unlock()
	return <-ch
}

// Close syncs and closes the journal. It returns the error of the last
// round: lines it could not write are lost to the journal (their appends
// are answered with ErrClosed; not acknowledged, the broker delivers them
// again).
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

// ReadJournalAt is ReadJournal that also tells fn whether each line lies
// at or after from (a file's day is its name's): the lines of from's day
// before from.Off and of the days before are before it.
func ReadJournalAt(files []string, from Pos, fn func(l *wire.Line, after bool) error, bad func(file string, err error)) error {
	for _, name := range files {
		day := strings.TrimSuffix(filepath.Base(name), ".jsonl")
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("ingest: journal: %w", err)
		}
		skip := func(err error) {
			if bad != nil {
				bad(name, err)
			}
		}
		switch {
		case day < from.Day:
			err = readLines(f, func(l *wire.Line) error { return fn(l, false) }, skip)
		case day > from.Day:
			err = readLines(f, func(l *wire.Line) error { return fn(l, true) }, skip)
		default:
			err = readLines(io.LimitReader(f, from.Off), func(l *wire.Line) error { return fn(l, false) }, skip)
			if err == nil {
				if _, err = f.Seek(from.Off, io.SeekStart); err == nil {
					err = readLines(f, func(l *wire.Line) error { return fn(l, true) }, skip)
				}
			}
		}
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
