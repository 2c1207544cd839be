package checkpoint

// Sizes says where a checkpoint's bytes go: the bytes of the state
// written under each path of struct fields from a root, to a depth. It is
// a diagnostic (what grows from day to day), written by the same encoder
// as Write.

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Size is the bytes of the state under one path ("1.tracker.devs": root 1,
// its fields tracker and devs), the arrays its slices refer to included.
type Size struct {
	Path  string
	Bytes int
}

// Sizes returns the bytes each path of struct fields from roots, down to
// depth fields below a root, takes in their checkpoint, largest first; a
// path's bytes do not include those listed under a longer path below it.
// A pointer or map that several paths share is counted under the first
// that writes it.
func Sizes(keep Keep, depth int, roots ...any) ([]Size, error) {
	e := newEncoder(keep)
	e.sizes = &sizer{depth: depth, bytes: map[string]int{}}
	if err := writeRoots(e, roots); err != nil {
		return nil, err
	}
	e.sizes.flush(len(e.b))
	var out []Size
	for p, n := range e.sizes.bytes {
		out = append(out, Size{p, n})
	}
	slices.SortFunc(out, func(a, b Size) int {
		if a.Bytes != b.Bytes {
			return b.Bytes - a.Bytes
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out, nil
}

// sizer counts the bytes the encoder writes under the current path.
type sizer struct {
	depth int
	bytes map[string]int
	at    string // the path the bytes since mark go to
	mark  int
	arr   []string // per array: the path of the slice that first referred to it
}

func (s *sizer) flush(n int) {
	s.bytes[s.at] += n - s.mark
	s.mark = n
}

// enter makes path (when it is a path of fields within the depth) the one
// the bytes go to, and returns the function that goes back.
func (s *sizer) enter(n int, path string) func(n int) {
	if strings.Count(path, ".") > s.depth || path == s.at {
		return nil
	}
	old := s.at
	s.flush(n)
	s.at = path
	return func(n int) {
		s.flush(n)
		s.at = old
	}
}

// writeRoots writes the roots' state into e.b (Write's body).
func writeRoots(e *encoder, roots []any) error {
	vals := rootValues(roots)
	for i, v := range vals {
		e.externals(v.Elem(), fmt.Sprintf("%d", i))
	}
	for i, v := range vals {
		e.ptrs[ptrKey{v.UnsafePointer(), v.Type()}] = len(e.ptrs) + 1
		if err := e.value(v.Elem(), fmt.Sprintf("%d", i), false); err != nil {
			return fmt.Errorf("checkpoint: write: %w", err)
		}
	}
	if err := e.arrays(); err != nil {
		return fmt.Errorf("checkpoint: write: %w", err)
	}
	return nil
}

// rootValues returns the roots as values; each must be a non-nil pointer.
func rootValues(roots []any) []reflect.Value {
	vals := make([]reflect.Value, len(roots))
	for i, r := range roots {
		v := reflect.ValueOf(r)
		if v.Kind() != reflect.Pointer || v.IsNil() {
			panic(fmt.Sprintf("checkpoint: root %d is %T, not a non-nil pointer", i, r))
		}
		vals[i] = v
	}
	return vals
}
