package wire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sync/atomic"
)

// Line is one decoded line of replay input.
type Line struct {
	Recv  int64 // receive time of a journal line; 0 for a plain batch
	Batch Batch
	Drops Drops
	Err   error // the line was rejected as a whole
	No    int   // 1-based line number
}

// Lines reads replay input (obs.jsonl): one batch or journal line per line.
// Blank lines are skipped; a line that is rejected is returned with Err set,
// and reading goes on.
type Lines struct {
	rd      *bufio.Reader
	long    []byte       // a line longer than rd's buffer, gathered
	err     error        // the read error that ended the input
	mem     []byte       // lines read in place before rd's (NewLinesAfter)
	memRead atomic.Int64 // bytes of mem read so far
	no      int
	scratch []Observation
	ids     []string // the sensor ids read so far, each line's shared
	fps     fpCache  // recent fingerprints, each line's shared
}

// NewLines reads lines of up to MaxBatchLen plus room for the journal
// envelope; a longer line is rejected (ErrTooLarge) and reading goes on
// after it. Its buffer is 64 KB (a hundred lines of a replay; a longer
// line is gathered apart): one that fits the processor's cache, where each
// read's bytes are still when the line is parsed, with fewer pages to
// fault in than the limit's.
func NewLines(r io.Reader) *Lines {
	return &Lines{rd: bufio.NewReaderSize(r, 64<<10)}
}

// NewLinesAfter reads the lines of mem in place, and then those of r: what
// NewLines reads from mem followed by r, without copying mem (a mapped
// file's pages). mem holds whole lines: it is empty or ends with '\n'.
func NewLinesAfter(mem []byte, r io.Reader) *Lines {
	l := NewLines(r)
	l.mem = mem
	return l
}

// MemRead returns how many bytes of NewLinesAfter's mem have been read (safe
// to call from another goroutine).
func (r *Lines) MemRead() int64 { return r.memRead.Load() }

// maxLine is the length of the shortest line (without its '\n') that
// Lines rejects as too long.
const maxLine = MaxBatchLen + 4096

var nl = []byte{'\n'}

// scan returns the next line without its end (a '\n' and a '\r' before it),
// as bufio.ScanLines does: from mem while it lasts, then from the reader.
// long is true for a line of maxLine bytes or more, which is skipped: line
// is then empty.
func (r *Lines) scan() (line []byte, long, ok bool) {
	if len(r.mem) > 0 {
		n := bytes.IndexByte(r.mem, '\n') + 1
		if n == 0 {
			n = len(r.mem) // not whole lines: the rest as one
		}
		line = r.mem[:n]
		r.mem = r.mem[n:]
		r.memRead.Add(int64(n))
		if c := len(bytes.TrimSuffix(line, nl)); c >= maxLine {
			return nil, true, true
		}
		return trimEOL(line), false, true
	}
	if r.err != nil {
		return nil, false, false
	}
	line, err := r.rd.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// Longer than the buffer: gather it, up to the limit.
		r.long = append(r.long[:0], line...)
		n := len(line)
		for err == bufio.ErrBufferFull {
			line, err = r.rd.ReadSlice('\n')
			n += len(line)
			if n <= maxLine {
				r.long = append(r.long, line...)
			}
		}
		if err == nil {
			n-- // the '\n'
		}
		long = n >= maxLine
		line = r.long
	}
	switch {
	case err == io.EOF:
		r.err = io.EOF
		if len(line) == 0 && !long {
			return nil, false, false
		}
	case err != nil:
		r.err = err
		return nil, false, false
	}
	if long {
		return nil, true, true
	}
	return trimEOL(line), false, true
}

func trimEOL(line []byte) []byte {
	if k := len(line); k > 0 && line[k-1] == '\n' {
		line = line[:k-1]
	}
	if k := len(line); k > 0 && line[k-1] == '\r' {
		line = line[:k-1]
	}
	return line
}

// Next decodes the next line into l, reusing l's observation slice. It
// returns false at the end of input or on a read error (see Err).
func (r *Lines) Next(l *Line) bool {
	for {
		data, long, ok := r.scan()
		if !ok {
			return false
		}
		r.no++
		if long {
			*l = Line{No: r.no, Batch: Batch{Obs: l.Batch.Obs[:0]}}
			l.Err = fmt.Errorf("line %d: wire: batch: %w (a line of %d bytes or more)", r.no, ErrTooLarge, maxLine)
			return true
		}
		if len(trimSpace(data)) == 0 {
			continue
		}
		a, b := l.Batch.Obs[:0], r.scratch[:0]
		*l = Line{No: r.no}
		var nested bool
		l.Recv, l.Batch, l.Drops, nested, l.Err = parseLineInto(data, a, b, &r.ids, &r.fps)
		// Keep whichever buffer the result did not take for the next line.
		if nested {
			r.scratch = a
		} else {
			r.scratch = b
		}
		if l.Err != nil {
			l.Err = fmt.Errorf("line %d: %w", r.no, l.Err)
		}
		return true
	}
}

// Err returns the read error that stopped Next, if any (nil at the end of
// the input).
func (r *Lines) Err() error {
	if r.err != nil && r.err != io.EOF {
		return fmt.Errorf("wire: after line %d: %w", r.no, r.err)
	}
	return nil
}

// parseLineInto decodes a line, appending a plain batch's observations to
// plain and a journal line's to nested. ids, when not nil, keeps the sensor
// ids read so far (a batch's Sensor is one of them); fps, when not nil,
// recent fingerprints.
func parseLineInto(data []byte, plain, nested []Observation, ids *[]string, fps *fpCache) (recv int64, _ Batch, _ Drops, isNested bool, _ error) {
	s := scanner{data: data, ids: ids, fps: fps}
	if s.peek() != '{' {
		return 0, Batch{}, Drops{}, false, notObject(data)
	}
	b := Batch{Obs: plain}
	var d Drops
	j := journal{b: Batch{Obs: nested}}
	err := s.batch(&b, &d, &j)
	if err == nil || j.hasBatch {
		if err2 := s.end(); err2 != nil {
			return 0, Batch{}, Drops{}, false, err2
		}
	}
	switch {
	case j.hasBatch && isSyntax(err):
		return 0, Batch{}, Drops{}, false, err
	case j.hasBatch && j.err != nil:
		return 0, Batch{}, Drops{}, false, j.err
	case j.hasBatch:
		return j.recv, j.b, j.d, true, nil
	case err != nil:
		return 0, Batch{}, Drops{}, false, err
	}
	return 0, b, d, false, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
