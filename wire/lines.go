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
	sc      *bufio.Scanner
	mem     []byte       // lines read in place before sc's (NewLinesAfter)
	memRead atomic.Int64 // bytes of mem read so far
	memErr  error        // a line of mem too long for sc
	no      int
	scratch []Observation
	ids     []string // the sensor ids read so far, each line's shared
	fps     fpCache  // recent fingerprints, each line's shared
}

// NewLines reads lines of up to MaxBatchLen plus room for the journal
// envelope. Its buffer starts at 64 KB (a hundred lines of a replay; it
// grows for longer ones): one that fits the processor's cache, where each
// read's bytes are still when the line is parsed, with fewer pages to
// fault in than the limit's.
func NewLines(r io.Reader) *Lines {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &Lines{sc: sc}
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

// maxLine is the longest line and its '\n' that NewLines' scanner holds.
const maxLine = MaxBatchLen + 4096

// scan returns the next line without its end (a '\n' and a '\r' before it),
// as bufio.ScanLines does: from mem while it lasts, then from the scanner.
func (r *Lines) scan() ([]byte, bool) {
	if len(r.mem) > 0 {
		n := bytes.IndexByte(r.mem, '\n') + 1
		if n == 0 {
			n = len(r.mem) // not whole lines: the rest as one
		}
		if n > maxLine {
			// the scanner stops with ErrTooLong on a line it cannot hold
			r.mem, r.memErr = nil, bufio.ErrTooLong
			return nil, false
		}
		line := r.mem[:n]
		r.mem = r.mem[n:]
		r.memRead.Add(int64(n))
		if k := len(line); k > 0 && line[k-1] == '\n' {
			line = line[:k-1]
		}
		if k := len(line); k > 0 && line[k-1] == '\r' {
			line = line[:k-1]
		}
		return line, true
	}
	if r.memErr != nil || !r.sc.Scan() {
		return nil, false
	}
	return r.sc.Bytes(), true
}

// Next decodes the next line into l, reusing l's observation slice. It
// returns false at the end of input or on a read error (see Err).
func (r *Lines) Next(l *Line) bool {
	for {
		data, ok := r.scan()
		if !ok {
			return false
		}
		r.no++
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

// Err returns the read error that stopped Next, if any; a line longer than
// the limit is such an error.
func (r *Lines) Err() error {
	if r.memErr != nil {
		return fmt.Errorf("wire: after line %d: %w", r.no, r.memErr)
	}
	if err := r.sc.Err(); err != nil {
		return fmt.Errorf("wire: after line %d: %w", r.no, err)
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
