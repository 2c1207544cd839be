// Package ingest is the server's front door for sensor data: the MQTT
// subscription, the contract's checks on every batch, and the journal of
// accepted batches that replays reproduce the live server from.
package ingest

import (
	"bufio"
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
// UTC day: DIR/<site>/<YYYY-MM-DD>.jsonl. Appends are grouped: Append
// returns once the line is written to the file and synced (group commit
// every Interval), so a batch that is acknowledged to the broker after
// Append returns is never lost by a crash of the server.
type Journal struct {
	dir      string
	interval time.Duration

	mu      sync.Mutex
	files   map[string]*journalFile
	pending []chan error
	buf     []byte
	kick    chan struct{}
	done    chan struct{}
	closed  bool
	err     error
}

type journalFile struct {
	day string
	f   *os.File
	w   *bufio.Writer
}

// OpenJournal opens (creating) a journal directory. interval is the group
// commit interval (0: sync after every append).
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
	ch, err := j.append(site, recv, b)
	if err != nil {
		return err
	}
	return <-ch
}

// AppendAsync writes one batch and returns a channel that yields nil once it
// is on disk (or the error that kept it from being synced).
func (j *Journal) AppendAsync(site string, recv int64, b *wire.Batch) (<-chan error, error) {
	return j.append(site, recv, b)
}

func (j *Journal) append(site string, recv int64, b *wire.Batch) (chan error, error) {
	if !wire.ValidID(site) {
		return nil, fmt.Errorf("ingest: journal: bad site id")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, errors.New("ingest: journal closed")
	}
	day := time.UnixMilli(recv).UTC().Format(time.DateOnly)
	jf, err := j.file(site, day)
	if err != nil {
		return nil, err
	}
	j.buf = wire.AppendJournalLine(j.buf[:0], recv, b)
	j.buf = append(j.buf, '\n')
	if _, err := jf.w.Write(j.buf); err != nil {
		return nil, fmt.Errorf("ingest: journal %s: %w", site, err)
	}
	ch := make(chan error, 1)
	j.pending = append(j.pending, ch)
	if j.interval <= 0 {
		j.syncLocked()
	} else {
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
	return ch, nil
}

func (j *Journal) file(site, day string) (*journalFile, error) {
	jf := j.files[site]
	if jf != nil && jf.day == day {
		return jf, nil
	}
	if jf != nil {
		jf.w.Flush()
		jf.f.Sync()
		jf.f.Close()
	}
	d := filepath.Join(j.dir, site)
	if err := os.MkdirAll(d, 0o750); err != nil {
		return nil, fmt.Errorf("ingest: journal: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(d, day+".jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("ingest: journal: %w", err)
	}
	jf = &journalFile{day: day, f: f, w: bufio.NewWriterSize(f, 256<<10)}
	j.files[site] = jf
	return jf, nil
}

func (j *Journal) syncLoop() {
	defer close(j.done)
	for range j.kick {
		if j.interval > 0 {
			time.Sleep(j.interval)
		}
		j.mu.Lock()
		j.syncLocked()
		closed := j.closed
		j.mu.Unlock()
		if closed {
			return
		}
	}
}

func (j *Journal) syncLocked() {
	var err error
	for _, jf := range j.files {
		if e := jf.w.Flush(); e != nil && err == nil {
			err = e
		}
		if e := jf.f.Sync(); e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		err = fmt.Errorf("ingest: journal sync: %w", err)
		j.err = err
	}
	for _, ch := range j.pending {
		ch <- err
	}
	j.pending = j.pending[:0]
}

// Sync writes out and syncs every line appended so far. Lines are handed
// on before they are synced (the acknowledgement waits, delivery does
// not), so a reader of the files calls Sync first to see them all.
func (j *Journal) Sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.syncLocked()
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
	j.syncLocked()
	var err error
	for _, jf := range j.files {
		if e := jf.f.Close(); e != nil && err == nil {
			err = e
		}
	}
	close(j.kick)
	j.mu.Unlock()
	<-j.done
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
