package checkpoint

// The state is written depth first: numbers as varints (floats as their
// bits, 4 bytes or 8), strings and slices with their length, structs field by field
// (unexported ones too). A pointer or map is a tag: nil, new (its id is the
// next number, its value follows), seen (the id of one written before) or
// kept (the path of a kept value). Kept values that are not pointers
// (functions, handlers, configurations) are written as their path, so they
// must lie on a path of struct fields from a root.

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"unsafe"
)

const (
	tagNil = iota
	tagNew
	tagSeen
	tagKept
)

type ptrKey struct {
	p unsafe.Pointer
	t reflect.Type
}

// field returns v's i-th field, settable even when unexported (v must be
// addressable).
func field(v reflect.Value, i int) reflect.Value {
	f := v.Field(i)
	if f.CanSet() {
		return f
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// addressable returns v, or an addressable copy of it.
func addressable(v reflect.Value) reflect.Value {
	if v.CanAddr() {
		return v
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	return c
}

// keptWalk calls fn for each kept value on a path of struct fields (and
// pointers, and arrays) from v, at path, once per pointer.
func keptWalk(keep Keep, v reflect.Value, path string, seen map[ptrKey]bool, fn func(v reflect.Value, path string)) {
	t := v.Type()
	if keep.has(t) {
		fn(v, path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		k := ptrKey{v.UnsafePointer(), t}
		if seen[k] {
			return
		}
		seen[k] = true
		keptWalk(keep, v.Elem(), path, seen, fn)
	case reflect.Struct:
		v = addressable(v)
		for i := range t.NumField() {
			keptWalk(keep, field(v, i), path+"."+t.Field(i).Name, seen, fn)
		}
	case reflect.Array:
		for i := range t.Len() {
			keptWalk(keep, v.Index(i), fmt.Sprintf("%s[%d]", path, i), seen, fn)
		}
	}
}

type encoder struct {
	b    []byte
	keep Keep
	ptrs map[ptrKey]int    // pointers and maps written, by id
	ext  map[ptrKey]string // kept pointers, by path
	seen map[ptrKey]bool   // keptWalk's
	arr  arrays
	// copies counts the maps' keys and values being written, not behind
	// a pointer (slices in them are written whole).
	copies int
	sizes  *sizer // Sizes's; nil when writing
}

func newEncoder(keep Keep) *encoder {
	return &encoder{keep: keep, ptrs: map[ptrKey]int{}, ext: map[ptrKey]string{}, seen: map[ptrKey]bool{}}
}

func (e *encoder) externals(v reflect.Value, path string) {
	keptWalk(e.keep, v, path, e.seen, func(v reflect.Value, path string) {
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			k := ptrKey{v.UnsafePointer(), v.Type()}
			if _, ok := e.ext[k]; !ok {
				e.ext[k] = path
			}
		}
	})
}

func (e *encoder) uint(x uint64) { e.b = binary.AppendUvarint(e.b, x) }
func (e *encoder) int(x int64)   { e.b = binary.AppendVarint(e.b, x) }
func (e *encoder) str(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// value writes v. path is where it lies; in says it lies in a slice or a
// map (or under one), where kept values cannot be found by path.
func (e *encoder) value(v reflect.Value, path string, in bool) error {
	if e.sizes != nil && !in {
		if back := e.sizes.enter(len(e.b), path); back != nil {
			defer func() { back(len(e.b)) }()
		}
	}
	t := v.Type()
	if e.keep.has(t) {
		return e.kept(v, path, in)
	}
	switch t.Kind() {
	case reflect.Bool:
		if v.Bool() {
			e.b = append(e.b, 1)
		} else {
			e.b = append(e.b, 0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.uint(v.Uint())
	case reflect.Float32:
		e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(float32(v.Float())))
	case reflect.Float64:
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v.Float()))
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(real(c)))
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(imag(c)))
	case reflect.String:
		e.str(v.String())
	case reflect.Array:
		for i := range t.Len() {
			p := path
			if !in {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			if err := e.value(v.Index(i), p, in); err != nil {
				return err
			}
		}
	case reflect.Slice:
		return e.slice(v, path)
	case reflect.Map:
		if !e.ref(v) {
			return nil
		}
		e.uint(uint64(v.Len()))
		keys := v.MapKeys()
		if sortable(t.Key()) {
			slices.SortFunc(keys, cmpKeys)
		}
		e.copies++
		defer func() { e.copies-- }()
		for _, k := range keys {
			if err := e.value(k, path+"[key]", true); err != nil {
				return err
			}
			if err := e.value(v.MapIndex(k), path+"[]", true); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if !e.ref(v) {
			return nil
		}
		copies := e.copies
		e.copies = 0
		defer func() { e.copies = copies }()
		return e.value(v.Elem(), path, in)
	case reflect.Struct:
		v = addressable(v)
		for i := range t.NumField() {
			p := path
			if !in {
				p = path + "." + t.Field(i).Name
			}
			if err := e.value(field(v, i), p, in); err != nil {
				return err
			}
		}
	default: // interfaces, channels, unsafe pointers
		if v.IsNil() {
			e.uint(tagNil)
			return nil
		}
		return fmt.Errorf("%s: a %s (%s) cannot be written; keep its type", path, t, t.Kind())
	}
	return nil
}

// ref writes the tag of a pointer or map: nil, seen (with its id) or new;
// it reports whether it is new (its value is to follow).
func (e *encoder) ref(v reflect.Value) bool {
	if v.IsNil() {
		e.uint(tagNil)
		return false
	}
	k := ptrKey{v.UnsafePointer(), v.Type()}
	if id, ok := e.ptrs[k]; ok {
		e.uint(tagSeen)
		e.uint(uint64(id))
		return false
	}
	e.ptrs[k] = len(e.ptrs) + 1
	e.uint(tagNew)
	return true
}

// kept writes a kept value: a pointer's path, or the path of a value on a
// path of fields.
func (e *encoder) kept(v reflect.Value, path string, in bool) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Interface:
		if v.IsNil() {
			e.uint(tagNil)
			return nil
		}
	}
	if v.Kind() == reflect.Pointer {
		p, ok := e.ext[ptrKey{v.UnsafePointer(), v.Type()}]
		if !ok {
			return fmt.Errorf("%s: a kept %s that no path of fields from a root reaches", path, v.Type())
		}
		e.uint(tagKept)
		e.str(p)
		return nil
	}
	if in {
		return fmt.Errorf("%s: a kept %s in a slice or map", path, v.Type())
	}
	e.uint(tagKept)
	e.str(path)
	return nil
}

type decoder struct {
	b    []byte
	keep Keep
	ptrs []reflect.Value          // pointers and maps read, by id - 1
	ext  map[string]reflect.Value // kept values of the fresh roots, by path
	seen map[ptrKey]bool
	err  error
	// the slices read before their arrays, and the arrays' types
	fix      []fixup
	arrTypes []reflect.Type
}

func newDecoder(b []byte, keep Keep) *decoder {
	return &decoder{b: b, keep: keep, ext: map[string]reflect.Value{}, seen: map[ptrKey]bool{}}
}

func (d *decoder) externals(v reflect.Value, path string) {
	keptWalk(d.keep, v, path, d.seen, func(v reflect.Value, path string) {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		d.ext[path] = c
	})
}

var errShort = fmt.Errorf("%w: the state ends early", ErrRefused)

func (d *decoder) uint() uint64 {
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return x
}

// int reads a varint: binary.AppendVarint's zig-zag of a uvarint.
func (d *decoder) int() int64 {
	x := d.uint()
	return int64(x>>1) ^ -int64(x&1)
}

func (d *decoder) bytes(n uint64) []byte {
	if uint64(len(d.b)) < n {
		d.fail(errShort)
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) f64() float64 {
	b := d.bytes(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (d *decoder) f32() float32 {
	b := d.bytes(4)
	if b == nil {
		return 0
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(b))
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// value reads into dst (settable) what value wrote.
func (d *decoder) value(dst reflect.Value, path string) error {
	if d.err != nil {
		return d.err
	}
	t := dst.Type()
	if d.keep.has(t) {
		switch d.uint() {
		case tagNil:
			dst.SetZero()
		case tagKept:
			p := string(d.bytes(d.uint()))
			x, ok := d.ext[p]
			if !ok || x.Type() != t {
				return fmt.Errorf("%s: the kept %s at %s is not in the fresh values", path, t, p)
			}
			dst.Set(x)
		default:
			return fmt.Errorf("%s: bad tag for a kept %s", path, t)
		}
		return d.err
	}
	switch t.Kind() {
	case reflect.Bool:
		b := d.bytes(1)
		dst.SetBool(len(b) == 1 && b[0] == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		dst.SetInt(d.int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		dst.SetUint(d.uint())
	case reflect.Float32:
		dst.SetFloat(float64(d.f32()))
	case reflect.Float64:
		dst.SetFloat(d.f64())
	case reflect.Complex64, reflect.Complex128:
		re := d.f64()
		dst.SetComplex(complex(re, d.f64()))
	case reflect.String:
		dst.SetString(string(d.bytes(d.uint())))
	case reflect.Array:
		for i := range t.Len() {
			if err := d.value(dst.Index(i), path); err != nil {
				return err
			}
		}
	case reflect.Slice:
		return d.slice(dst, path)
	case reflect.Map:
		if isNew, err := d.ref(dst, path); !isNew {
			return err
		}
		n := d.uint()
		if n > uint64(len(d.b)) {
			return fmt.Errorf("%s: %w", path, errShort)
		}
		m := reflect.MakeMapWithSize(t, int(n))
		d.ptrs = append(d.ptrs, m)
		for range n {
			k := reflect.New(t.Key()).Elem()
			if err := d.value(k, path); err != nil {
				return err
			}
			x := reflect.New(t.Elem()).Elem()
			if err := d.value(x, path); err != nil {
				return err
			}
			m.SetMapIndex(k, x)
		}
		dst.Set(m)
	case reflect.Pointer:
		if isNew, err := d.ref(dst, path); !isNew {
			return err
		}
		p := reflect.New(t.Elem())
		d.ptrs = append(d.ptrs, p)
		if err := d.value(p.Elem(), path); err != nil {
			return err
		}
		dst.Set(p)
	case reflect.Struct:
		for i := range t.NumField() {
			if err := d.value(field(dst, i), path+"."+t.Field(i).Name); err != nil {
				return err
			}
		}
	default:
		if d.uint() != tagNil {
			return fmt.Errorf("%s: a %s that was not nil", path, t)
		}
		dst.SetZero()
	}
	return d.err
}

// ref reads the tag of a pointer or map into dst: nil or seen (set), or
// new (reported: its value follows).
func (d *decoder) ref(dst reflect.Value, path string) (isNew bool, err error) {
	switch d.uint() {
	case tagNil:
		dst.SetZero()
		return false, d.err
	case tagSeen:
		return false, d.seenRef(dst, path)
	case tagNew:
		return true, d.err
	}
	return false, fmt.Errorf("%s: bad tag for a %s", path, dst.Type())
}

func (d *decoder) seenRef(dst reflect.Value, path string) error {
	id := d.uint()
	if id == 0 || id > uint64(len(d.ptrs)) || d.ptrs[id-1].Type() != dst.Type() {
		return fmt.Errorf("%s: bad reference %d", path, id)
	}
	dst.Set(d.ptrs[id-1])
	return d.err
}
