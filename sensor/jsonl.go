package sensor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/passant/passant/wire"
)

// Sink takes closed batches: a Publisher (MQTT) or a JSONLWriter.
type Sink interface {
	// Publish takes b, which the sink must not keep: it encodes or copies
	// it before returning. It never waits on the network.
	Publish(b *wire.Batch) error
	// Close sends or writes what is still queued, within ctx.
	Close(ctx context.Context) error
}

// JSONLWriter writes batches one per line, exactly the MQTT payload: the
// obs.jsonl that `passant replay` reads. It is safe for concurrent use.
type JSONLWriter struct {
	mu        sync.Mutex
	w         *bufio.Writer
	c         io.Closer
	flushEach bool
	buf       []byte
	batches   int64
	obs       int64
	err       error
}

// NewJSONLWriter writes to w; with flushEach every batch is flushed at once
// (for a live sensor writing to a pipe). c, when not nil, is closed by Close.
func NewJSONLWriter(w io.Writer, c io.Closer, flushEach bool) *JSONLWriter {
	return &JSONLWriter{w: bufio.NewWriterSize(w, 1<<16), c: c, flushEach: flushEach}
}

// Publish implements Sink.
func (j *JSONLWriter) Publish(b *wire.Batch) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	j.buf = append(wire.AppendBatch(j.buf[:0], b), '\n')
	if _, err := j.w.Write(j.buf); err != nil {
		j.err = fmt.Errorf("sensor: write batches: %w", err)
		return j.err
	}
	if j.flushEach {
		if err := j.w.Flush(); err != nil {
			j.err = fmt.Errorf("sensor: write batches: %w", err)
			return j.err
		}
	}
	j.batches++
	j.obs += int64(len(b.Obs))
	return nil
}

// Written returns the batches and observations written so far.
func (j *JSONLWriter) Written() (batches, obs int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.batches, j.obs
}

// Close implements Sink: it flushes, and closes the underlying file.
func (j *JSONLWriter) Close(context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.w.Flush()
	if j.c != nil {
		if cerr := j.c.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil && j.err == nil {
		j.err = fmt.Errorf("sensor: write batches: %w", err)
	}
	return j.err
}
