// Package checkpoint writes the whole in-memory state of a value graph (a
// site's pipeline, its tracker, its footfall counter, ...) to bytes and
// reads it back into freshly built values of the same types, so that a
// restarted server goes on exactly as the one before it would have: every
// field, exported or not, learned or buffered, is in the checkpoint, so no
// state can be forgotten by a hand-written encoder that misses a field.
//
// What a checkpoint does not hold is kept: values of the kept types (the
// site, its zones, the locator's model and grids, handlers, functions) are
// written as the path of struct fields from a root at which they lie, and
// reading takes them from the same path of the fresh values, which the
// caller built from the same site. Everything else is written by value, with
// pointers and maps that several places share written once and shared again
// when read (slices that share an array are not: each is written and read
// as its own).
//
// A checkpoint is refused, with an error that says why, when it was written
// by another build (Build), for other types (a fingerprint of the types'
// fields, recursively), or is corrupt (its SHA-256 does not match). The
// reader must then build its values afresh: a refused or failed Read may
// have written part of them.
package checkpoint

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
)

// magic starts every checkpoint; format is the version of the layout below.
const (
	magic  = "passant-checkpoint\n"
	format = 2 // 2: float32 in 4 bytes
)

// ErrRefused wraps every reason a checkpoint is refused (another build,
// other types, corrupt).
var ErrRefused = errors.New("checkpoint refused")

// Keep lists the types a checkpoint does not hold (see the package's
// comment): pointer types, interface types and struct types. Functions are
// always kept.
type Keep []reflect.Type

func (k Keep) has(t reflect.Type) bool {
	return t.Kind() == reflect.Func || slices.Contains(k, t)
}

// Write writes a checkpoint of roots (non-nil pointers) to w.
func Write(w io.Writer, keep Keep, roots ...any) error {
	e := newEncoder(keep)
	if err := writeRoots(e, roots); err != nil {
		return err
	}
	body := e.b
	bw := bufio.NewWriter(w)
	head := header(keep, roots)
	bw.Write(head)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(body)))
	bw.Write(n[:])
	bw.Write(body)
	sum := sha256.New()
	sum.Write(head)
	sum.Write(n[:])
	sum.Write(body)
	bw.Write(sum.Sum(nil))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("checkpoint: write: %w", err)
	}
	return nil
}

// Read reads a checkpoint from r into roots: pointers to values freshly
// built as the ones written were (the same types, from the same site). On
// an error wrapping ErrRefused nothing was written to them; on another
// error they are in an unknown state.
func Read(r io.Reader, keep Keep, roots ...any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("checkpoint: read: %w", err)
	}
	head := header(keep, roots)
	if len(data) < len(magic) || string(data[:len(magic)]) != magic {
		return fmt.Errorf("%w: not a checkpoint", ErrRefused)
	}
	if len(data) < len(head)+8+sha256.Size {
		return fmt.Errorf("%w: cut short (%d bytes)", ErrRefused, len(data))
	}
	if !bytes.Equal(data[:len(head)], head) {
		return fmt.Errorf("%w: written by another build or for other types (%s)", ErrRefused, describe(data[len(magic):len(head)]))
	}
	n := binary.LittleEndian.Uint64(data[len(head):])
	if uint64(len(data)-len(head)-8-sha256.Size) != n {
		return fmt.Errorf("%w: cut short or too long (%d bytes, its header says %d of state)", ErrRefused, len(data), n)
	}
	end := len(data) - sha256.Size
	if sum := sha256.Sum256(data[:end]); !bytes.Equal(sum[:], data[end:]) {
		return fmt.Errorf("%w: corrupt (SHA-256 does not match)", ErrRefused)
	}
	d := newDecoder(data[len(head)+8:end], keep)
	vals := rootValues(roots)
	for i, v := range vals {
		d.externals(v.Elem(), fmt.Sprintf("%d", i))
	}
	for i, v := range vals {
		d.ptrs = append(d.ptrs, v)
		if err := d.value(v.Elem(), fmt.Sprintf("%d", i)); err != nil {
			return fmt.Errorf("checkpoint: read: %w", err)
		}
	}
	if err := d.arrays(); err != nil {
		return fmt.Errorf("checkpoint: read: %w", err)
	}
	if len(d.b) != 0 {
		return fmt.Errorf("checkpoint: read: %d bytes left over", len(d.b))
	}
	return nil
}

// header is the checkpoint's start: the magic, the format, the build and
// the types' fingerprint, each a line.
func header(keep Keep, roots []any) []byte {
	types := make([]reflect.Type, len(roots))
	for i, r := range roots {
		types[i] = reflect.TypeOf(r)
	}
	return fmt.Appendf(nil, "%sformat %d\nbuild %s\ntypes %x\n", magic, format, Build(), fingerprint(keep, types))
}

// describe gives the format and build lines of a header.
func describe(h []byte) string {
	lines := bytes.SplitN(h, []byte("\n"), 3)
	if len(lines) < 2 {
		return "unreadable header"
	}
	return string(lines[0]) + ", " + string(lines[1])
}

var build = sync.OnceValue(func() string {
	return buildID() + " " + runtime.Version() + " " + runtime.GOARCH
})

func buildID() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+modified"
				}
			}
		}
		if rev != "" && dirty == "" {
			return rev
		}
	}
	// No revision (a test binary, go run) or local changes: the
	// executable itself names the build.
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			defer f.Close()
			h := sha256.New()
			if _, err := io.Copy(h, f); err == nil {
				return fmt.Sprintf("exe-%x", h.Sum(nil)[:16])
			}
		}
	}
	return "unknown"
}

// Build names the running build: its VCS revision, or, without one or
// with local changes, the SHA-256 of its executable; and the Go version and
// architecture. A checkpoint is read
// only by the build that wrote it: another may mean the same fields
// otherwise.
func Build() string { return build() }

// fingerprint hashes the types' structure: every field's name and type,
// recursively, down to the kept types.
func fingerprint(keep Keep, types []reflect.Type) []byte {
	h := sha256.New()
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		fmt.Fprintf(h, "%s/%s;", t.String(), t.Kind())
		if keep.has(t) || seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			if t.Kind() == reflect.Array {
				fmt.Fprintf(h, "[%d]", t.Len())
			}
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				fmt.Fprintf(h, "%s:", f.Name)
				walk(f.Type)
			}
		}
	}
	for _, t := range types {
		walk(t)
	}
	return h.Sum(nil)[:16]
}
