package checkpoint

// Slices that share an array share it again when read (a solver holding
// the gains its tracker learns in place, say). A slice is written as a
// reference to its array (the array's number, the slice's capacity and
// length), and the arrays after the roots: each as far back from its end
// as the slice with the largest capacity reaches. A slice in a map's key or
// value (not behind a pointer) is written whole where it lies: a map holds
// copies, into which no array can be put later.

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"unsafe"
)

const (
	sliceNil = iota
	sliceEmpty
	sliceRef
	sliceInline
)

// arrKey names an array by its end and its elements' type.
type arrKey struct {
	end  uintptr
	elem reflect.Type
}

type arrays struct {
	ids     map[arrKey]int
	longest []reflect.Value // per array: the slice reaching furthest back, to its end
	written int             // arrays written so far
}

func (e *encoder) slice(v reflect.Value, path string) error {
	if v.IsNil() {
		e.uint(sliceNil)
		return nil
	}
	size := v.Type().Elem().Size()
	if v.Cap() == 0 {
		e.uint(sliceEmpty)
		return nil
	}
	if e.copies > 0 || size == 0 {
		e.uint(sliceInline)
		return e.elements(v, path)
	}
	k := arrKey{uintptr(v.UnsafePointer()) + uintptr(v.Cap())*size, v.Type().Elem()}
	id, ok := e.arr.ids[k]
	full := v.Slice3(0, v.Cap(), v.Cap())
	switch {
	case !ok:
		if e.arr.ids == nil {
			e.arr.ids = map[arrKey]int{}
		}
		id = len(e.arr.longest)
		e.arr.ids[k] = id
		e.arr.longest = append(e.arr.longest, full)
		if e.sizes != nil {
			e.sizes.arr = append(e.sizes.arr, e.sizes.at)
		}
	case full.Len() > e.arr.longest[id].Len():
		if id < e.arr.written {
			return fmt.Errorf("%s: a slice reaches further back in an array written already", path)
		}
		e.arr.longest[id] = full
	}
	e.uint(sliceRef)
	e.uint(uint64(id))
	e.uint(uint64(v.Cap()))
	e.uint(uint64(v.Len()))
	return nil
}

// elements writes a slice's length and elements.
func (e *encoder) elements(v reflect.Value, path string) error {
	n := v.Len()
	e.uint(uint64(n))
	switch t := v.Type().Elem(); {
	case t.Kind() == reflect.Uint8:
		e.b = append(e.b, v.Bytes()...)
		return nil
	case t == reflect.TypeFor[float64]():
		for _, f := range unsafe.Slice((*float64)(v.UnsafePointer()), n) {
			e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(f))
		}
		return nil
	case t == reflect.TypeFor[float32]():
		for _, f := range unsafe.Slice((*float32)(v.UnsafePointer()), n) {
			e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(f))
		}
		return nil
	}
	for i := range n {
		if err := e.value(v.Index(i), path+"[]", true); err != nil {
			return err
		}
	}
	return nil
}

// arrays writes the arrays the slices written refer to, and those their
// elements refer to.
func (e *encoder) arrays() error {
	for ; e.arr.written < len(e.arr.longest); e.arr.written++ {
		if e.sizes != nil {
			e.sizes.flush(len(e.b))
			e.sizes.at = e.sizes.arr[e.arr.written]
		}
		if err := e.elements(e.arr.longest[e.arr.written], "array"); err != nil {
			return err
		}
	}
	return nil
}

// fixup is a slice read before its array.
type fixup struct {
	dst      reflect.Value
	id       int
	cap, len int
}

func (d *decoder) slice(dst reflect.Value, path string) error {
	switch d.uint() {
	case sliceNil:
		dst.SetZero()
	case sliceEmpty:
		dst.Set(reflect.MakeSlice(dst.Type(), 0, 0))
	case sliceInline:
		return d.elements(dst, path)
	case sliceRef:
		id, c, n := d.uint(), d.uint(), d.uint()
		if d.err != nil {
			return d.err
		}
		if n > c || c > uint64(len(d.b))*8+1<<20 || id > uint64(len(d.fix))+1<<20 {
			return fmt.Errorf("%s: bad slice (array %d, capacity %d, length %d)", path, id, c, n)
		}
		d.fix = append(d.fix, fixup{dst, int(id), int(c), int(n)})
		if int(id) >= len(d.arrTypes) {
			d.arrTypes = append(d.arrTypes, make([]reflect.Type, int(id)+1-len(d.arrTypes))...)
		}
		if d.arrTypes[id] == nil {
			d.arrTypes[id] = dst.Type()
		}
	default:
		return fmt.Errorf("%s: bad tag for a slice", path)
	}
	return d.err
}

// elements reads a slice's length and elements into dst, a new slice.
func (d *decoder) elements(dst reflect.Value, path string) error {
	n := d.uint()
	t := dst.Type()
	if d.err != nil {
		return d.err
	}
	if t.Elem().Size() > 0 && n > uint64(len(d.b)) { // an element takes a byte at least
		return fmt.Errorf("%s: %w", path, errShort)
	}
	s := reflect.MakeSlice(t, int(n), int(n))
	switch {
	case t.Elem().Kind() == reflect.Uint8:
		copy(s.Bytes(), d.bytes(n))
	case t.Elem() == reflect.TypeFor[float64]():
		fs := unsafe.Slice((*float64)(s.UnsafePointer()), int(n))
		for i := range fs {
			fs[i] = d.f64()
		}
	case t.Elem() == reflect.TypeFor[float32]():
		fs := unsafe.Slice((*float32)(s.UnsafePointer()), int(n))
		for i := range fs {
			fs[i] = d.f32()
		}
	default:
		for i := range int(n) {
			if err := d.value(s.Index(i), path); err != nil {
				return err
			}
		}
	}
	dst.Set(s)
	return d.err
}

// arrays reads the arrays and puts the slices read in them.
func (d *decoder) arrays() error {
	var arrs []reflect.Value
	for i := 0; i < len(d.arrTypes); i++ {
		if d.arrTypes[i] == nil {
			return fmt.Errorf("array %d: no slice refers to it", i)
		}
		a := reflect.New(d.arrTypes[i]).Elem()
		if err := d.elements(a, "array"); err != nil {
			return err
		}
		arrs = append(arrs, a)
	}
	for _, f := range d.fix {
		a := arrs[f.id]
		if f.cap > a.Len() {
			return fmt.Errorf("array %d: a slice of capacity %d in %d elements", f.id, f.cap, a.Len())
		}
		from := a.Len() - f.cap
		dst := f.dst
		s := a.Slice3(from, from+f.len, a.Len())
		if s.Type() != dst.Type() {
			if !s.Type().ConvertibleTo(dst.Type()) {
				return fmt.Errorf("array %d: a %s read as a %s", f.id, s.Type(), dst.Type())
			}
			s = s.Convert(dst.Type())
		}
		dst.Set(s)
	}
	return nil
}
