package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/passant/passant/wire"
)

// Pos is a place in a site's journal: a byte offset in the file of a UTC
// day. Lines are appended in receive order, so positions are ordered by
// day, then offset.
type Pos struct {
	Day string // YYYY-MM-DD
	Off int64
}

// Before reports whether p comes before q.
func (p Pos) Before(q Pos) bool {
	return p.Day < q.Day || (p.Day == q.Day && p.Off < q.Off)
}

// At is where one journal line lies: its day's file and its bytes
// [Off, End), the newline included.
type At struct {
	Day      string
	Off, End int64
}

// Start is the position of the line's first byte.
func (a At) Start() Pos { return Pos{a.Day, a.Off} }

// Next is the position just after the line.
func (a At) Next() Pos { return Pos{a.Day, a.End} }

// ReadRange calls fn for at most max journal lines of site from from up to
// (not past) to, in journal order, crossing into the next day's file at the
// end of one, and returns the position after the last line read. Lines up
// to to must have been appended (the syncer writes them to the file: it
// waits for that when some are not yet; the fsync does not matter to a
// reader of the same machine). While the journal cannot write (a full
// disk) it reads only up to the lines still to write, and returns there:
// the file may end in part of one (a write cut short). A
// line that does not decode is reported to bad and skipped, as a replay
// skips it; so is a torn last line of an earlier day's file.
func (j *Journal) ReadRange(site string, from, to Pos, max int,
	fn func(recv int64, b *wire.Batch, d wire.Drops), bad func(error)) (Pos, int, error) {
	pos, n := from, 0
	if pos.Before(to) {
		j.written(site)
		to = j.writtenTo(site, to)
	}
	for n < max && pos.Before(to) {
		name := filepath.Join(j.dir, site, pos.Day+".jsonl")
		last := pos.Day == to.Day
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) && !last {
			next, err := j.nextDay(site, pos.Day, to.Day)
			if err != nil {
				return pos, n, err
			}
			pos = next
			continue
		}
		if err != nil {
			return pos, n, fmt.Errorf("ingest: journal: %w", err)
		}
		pos, n, err = readFile(f, pos, to, last, max, n, fn, bad)
		f.Close()
		if err != nil {
			return pos, n, fmt.Errorf("ingest: journal %s: %w", filepath.Base(name), err)
		}
		if n < max && !last && pos.Before(to) {
			// The end of an earlier day's file: on to the next day.
			next, err := j.nextDay(site, pos.Day, to.Day)
			if err != nil {
				return pos, n, err
			}
			pos = next
		}
	}
	return pos, n, nil
}

// readFile reads lines from pos in f: up to to's offset when last, else to
// the end of the file.
func readFile(f *os.File, pos, to Pos, last bool, max, n int,
	fn func(recv int64, b *wire.Batch, d wire.Drops), bad func(error)) (Pos, int, error) {
	var r io.Reader = f
	if _, err := f.Seek(pos.Off, io.SeekStart); err != nil {
		return pos, n, err
	}
	if last {
		r = io.LimitReader(f, to.Off-pos.Off)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	for n < max {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		if err == io.EOF {
			if len(line) > 0 && last {
				return pos, n, fmt.Errorf("at %d: %d bytes without a newline before the position read to", pos.Off, len(line))
			}
			if len(line) > 0 {
				bad(fmt.Errorf("ingest: journal %s: torn last line (%d bytes) skipped", pos.Day, len(line)))
				pos.Off += int64(len(line))
			}
			return pos, n, nil
		}
		if err != nil {
			return pos, n, err
		}
		pos.Off += int64(len(line))
		data := bytes.TrimSpace(line)
		if len(data) == 0 {
			continue
		}
		recv, b, d, err := wire.ParseLine(data)
		if err != nil {
			bad(fmt.Errorf("ingest: journal %s at %d: %w", pos.Day, pos.Off-int64(len(line)), err))
			continue
		}
		fn(recv, &b, d)
		n++
	}
	return pos, n, nil
}

// nextDay returns the start of the first journal file of site after day
// and up to to (the file of to when there is none between).
func (j *Journal) nextDay(site, day, to string) (Pos, error) {
	files, err := j.Files(site, day, to)
	if err != nil {
		return Pos{}, err
	}
	for _, name := range files {
		if d := strings.TrimSuffix(filepath.Base(name), ".jsonl"); d > day {
			return Pos{Day: d}, nil
		}
	}
	return Pos{Day: to}, nil
}

// End returns the position just after the last line of site appended so
// far (the end of its newest file; zero without one): every line appended
// before the call lies before it.
func (j *Journal) End(site string) (Pos, error) {
	j.mu.Lock()
	if jf := j.files[site]; jf != nil {
		defer j.mu.Unlock()
		return Pos{jf.day, jf.size}, nil
	}
	j.mu.Unlock()
	files, err := j.Files(site, "", "")
	if err != nil || len(files) == 0 {
		return Pos{}, err
	}
	name := files[len(files)-1]
	st, err := os.Stat(name)
	if err != nil {
		return Pos{}, fmt.Errorf("ingest: journal: %w", err)
	}
	return Pos{strings.TrimSuffix(filepath.Base(name), ".jsonl"), st.Size()}, nil
}
