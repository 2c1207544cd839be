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

	"github.com/passant/passant/wire"
)

// Journal appends every accepted batch, with its receive time, as the
// contract's journal lines {"recv":...,"batch":{...}}, one file per site and
// UTC day: DIR/<site>/<YYYY-MM-DD>.jsonl. Append writes the line to the
// file at once and returns once a background syncer has fsynced it, so a
// batch that is acknowledged to the broker after Append returns is never
// lost by a crash of the server. The syncs are grouped (group commit): the
// syncer fsyncs without the append lock, so appends go on during an fsync,
// and it starts the next fsync as soon as the previous one is done: the
// more batches come during an fsync, the more one fsync covers.
type Journal struct {
	dir      string
	interval time.Duration

	mu      sync.Mutex
	files   map[string]*journalFile
	retired []*journalFile // files of a past day, synced and closed by the syncer
	pending []chan error   // appends (and Syncs) waiting for the next fsync
	buf     []byte
	kick    chan struct{}
	done    chan struct{}
	closed  bool
	err     error
}

type journalFile struct {
	day   string
	f     *os.File
	size  int64 // bytes in the file: where the next line starts
	dirty bool  // written since the syncer last took it
}

// OpenJournal opens (creating) a journal directory. interval is the least
// time from the start of one fsync to the start of the next (0: the next
// starts as soon as the previous one is done and an append waits).
func OpenJournal(dir string, interval time.Duration) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("ingest: journal: %w", err)
	}
	j := &Journal{dir: dir, interval: interval, files: map[string]*journalFile{},
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
	if b != nil {
		j.buf = wire.AppendJournalLine(j.buf[:0], recv, b)
	} else {
		j.buf = wire.AppendJournalPayload(j.buf[:0], recv, batchJSON)
	}
	j.buf = append(j.buf, '\n')
	jf.dirty = true
	n, err := jf.f.Write(j.buf)
	at := At{Day: day, Off: jf.size, End: jf.size + int64(n)}
	jf.size += int64(n)
	if err != nil {
		return nil, At{}, fmt.Errorf("ingest: journal %s: %w", site, err)
	}
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
	f, err := os.OpenFile(filepath.Join(d, day+".jsonl"), os.O_CREATE|os.O_APPEND|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("ingest: journal: %w", err)
	}
	size, err := dropTornTail(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("ingest: journal: %w", err)
	}
	if jf != nil {
		j.retired = append(j.retired, jf)
	}
	jf = &journalFile{day: day, f: f, size: size}
	j.files[site] = jf
	return jf, nil
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

// syncLoop is the syncer: each round takes the files written to and the
// waiters under the lock, fsyncs outside it and answers the waiters. It
// returns once the journal is closed and all is synced.
func (j *Journal) syncLoop() {
	defer close(j.done)
	var files, retired []*journalFile
	var waiters []chan error
	for {
		j.mu.Lock()
		for len(j.pending) == 0 && len(j.retired) == 0 && !j.closed {
			j.mu.Unlock()
			<-j.kick
			j.mu.Lock()
		}
		files, retired, waiters = files[:0], append(retired[:0], j.retired...), append(waiters[:0], j.pending...)
		clear(j.retired)
		clear(j.pending)
		j.retired, j.pending = j.retired[:0], j.pending[:0]
		for _, jf := range j.files {
			if jf.dirty {
				jf.dirty = false
				files = append(files, jf)
			}
		}
		closed := j.closed
		j.mu.Unlock()

		start := time.Now()
		err := commit(files, retired)
		for _, ch := range waiters {
			ch <- err
		}
		clear(waiters)
		clear(files)
		clear(retired)

		j.mu.Lock()
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

// commit fsyncs the files; retired files are closed after.
func commit(files, retired []*journalFile) error {
	var err error
	keep := func(e error) {
		if e != nil && err == nil {
			err = fmt.Errorf("ingest: journal sync: %w", e)
		}
	}
	for _, jf := range files {
		keep(jf.f.Sync())
	}
	for _, jf := range retired {
		keep(jf.f.Sync())
		keep(jf.f.Close())
	}
	return err
}

// Sync waits until every line appended so far is on disk. Lines are in the
// files (the operating system's cache) once Append or AppendAsync returns,
// and are handed on before they are synced (the acknowledgement waits,
// delivery does not).
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
