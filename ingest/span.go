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
	r, err := j.read(site, Cursor{Pos: from}, false, to, max, fn, bad)
	return r.Pos, r.N, err
}

// A Cursor is where a reader of a site's journal goes on from: the
// position, the file it lies in as the reader had it open (nil: not
// known), and the receive time up to which the reader has taken lines.
// An erasure (forget.go) writes a closed day's file again, renamed over
// it and shorter, so the position's offset then means nothing: the read
// goes back to the new file's start, past the lines received up to After
// (receive times increase along the journal).
type Cursor struct {
	Pos   Pos
	File  os.FileInfo
	After int64
}

// A Read says where a read of the journal stopped.
type Read struct {
	Pos Pos // just after the last line read
	// File is the file Pos lies in as the read had it open (from the open
	// handle, not a second look by name; nil when it opened none): the
	// next Cursor's.
	File os.FileInfo
	N    int // lines read (those skipped as taken before included)
	// Reread: the cursor's file had been replaced, and the read began
	// again at the new file's start.
	Reread bool
}

// ReadFrom is ReadRange from a cursor: when c.Pos.Off > 0 and the file
// opened for c.Pos.Day is not c.File (or c.File is nil), it reads that
// file from its start and does not pass fn the lines received up to
// c.After. The identity is taken from the opened handle, so a rewrite
// between the caller's look and the read cannot be read at the old
// offset.
func (j *Journal) ReadFrom(site string, c Cursor, to Pos, max int,
	fn func(recv int64, b *wire.Batch, d wire.Drops), bad func(error)) (Read, error) {
	return j.read(site, c, c.Pos.Off > 0, to, max, fn, bad)
}

// read is ReadFrom, checking c.File only when check.
func (j *Journal) read(site string, c Cursor, check bool, to Pos, max int,
	fn func(recv int64, b *wire.Batch, d wire.Drops), bad func(error)) (Read, error) {
	from := c.Pos
	r := Read{Pos: from}
	take := fn
	if r.Pos.Before(to) {
		j.written(site)
		to = j.writtenTo(site, to)
	}
	for r.N < max && r.Pos.Before(to) {
		name := filepath.Join(j.dir, site, r.Pos.Day+".jsonl")
		last := r.Pos.Day == to.Day
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) && !last {
			next, err := j.nextDay(site, r.Pos.Day, to.Day)
			if err != nil {
				return r, err
			}
			r.Pos, r.File, check = next, nil, false
			continue
		}
		if err != nil {
			return r, fmt.Errorf("ingest: journal: %w", err)
		}
		if r.File, err = f.Stat(); err != nil {
			f.Close()
			return r, fmt.Errorf("ingest: journal: %w", err)
		}
		if check && (c.File == nil || !os.SameFile(r.File, c.File)) {
			r.Pos.Off, r.Reread = 0, true
			take = func(recv int64, b *wire.Batch, d wire.Drops) {
				if recv > c.After {
					fn(recv, b, d)
				}
			}
		}
		check = false
		r.Pos, r.N, err = readFile(f, r.Pos, to, last, max, r.N, take, bad)
		f.Close()
		if err != nil {
			return r, fmt.Errorf("ingest: journal %s: %w", filepath.Base(name), err)
		}
		if r.N < max && last && r.Pos.Before(to) {
			// The file ends before to: only a rewrite shrinks a file (an
			// erasure of a day no longer appended to), and every line of
			// it up to its end is read. Reading again would find nothing
			// more, for ever.
			r.Pos = to
			break
		}
		if r.N < max && !last && r.Pos.Before(to) {
			// The end of an earlier day's file: on to the next day.
			next, err := j.nextDay(site, r.Pos.Day, to.Day)
			if err != nil {
				return r, err
			}
			r.Pos, r.File = next, nil
		}
	}
	return r, nil
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
