package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a small strict JSON reader for the hot path of batch decoding:
// it reads the batch's fields in place and skips anything else, without
// reflection and without allocating for keys. It accepts exactly RFC 8259
// JSON (checked against encoding/json by FuzzParseBatch).
type scanner struct {
	data    []byte
	pos     int
	depth   int
	lastFP  string // the last fingerprint interned: a batch repeats them
	lastFP8 uint64 // lastFP's bytes when it has 8
	// extra is set once the input holds more than a batch's fields as
	// encoders write them: an unknown key, a line break in white space, an
	// observation off the fast path (see DecodeBatch).
	extra bool
	// reuse: b.Obs is the caller's buffer (DecodeBatchInto), grown by
	// appending rather than sized from the payload.
	reuse bool
	// ids, when set, holds the sensor ids read so far (sensorID).
	ids *[]string
	// fps, when set, remembers fingerprints of 8 characters across lines
	// (fp).
	fps *fpCache
}

// fpCache remembers the interned strings of recent 8-character
// fingerprints, a slot per value of a hash of their bytes: a line's
// scanner finds a fingerprint of an earlier line there without the
// shared table's lock and string hashing.
type fpCache [256]struct {
	key uint64
	fp  string
}

// fp interns a fingerprint, trying the last one first.
func (s *scanner) fp(v []byte) string {
	if len(v) == 8 && len(s.lastFP) == 8 {
		// the usual 8 hex characters: one comparison of their bits
		if binary.LittleEndian.Uint64(v) == s.lastFP8 {
			return s.lastFP
		}
	} else if len(v) > 0 && string(v) == s.lastFP {
		return s.lastFP
	}
	if len(v) == 8 {
		k := binary.LittleEndian.Uint64(v)
		if s.fps != nil {
			e := &s.fps[(k*0x9e3779b97f4a7c15)>>56]
			if e.key != k || e.fp == "" {
				e.key, e.fp = k, internFP(v)
			}
			s.lastFP, s.lastFP8 = e.fp, k
			return s.lastFP
		}
		s.lastFP, s.lastFP8 = internFP(v), k
		return s.lastFP
	}
	s.lastFP = internFP(v)
	return s.lastFP
}

const maxDepth = 512

var errSyntax = errors.New("syntax error")

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrNotJSON, s.pos, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t':
			s.pos++
		case '\n', '\r':
			s.extra = true
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		if s.pos >= len(s.data) {
			return s.errorf("unexpected end, want %q", c)
		}
		return s.errorf("unexpected %q, want %q", s.data[s.pos], c)
	}
	s.pos++
	return nil
}

// object calls field for each key of the object that starts at the cursor;
// field must consume the value.
func (s *scanner) object(field func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	s.depth++
	if s.depth > maxDepth {
		return s.errorf("nested too deeply")
	}
	if s.peek() == '}' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.errorf("want a key")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		s.ws()
		if err := field(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.depth--
			return nil
		default:
			return s.errorf("want ',' or '}' in object")
		}
	}
}

// array calls elem for each element of the array at the cursor.
func (s *scanner) array(elem func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	s.depth++
	if s.depth > maxDepth {
		return s.errorf("nested too deeply")
	}
	if s.peek() == ']' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		s.ws()
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.depth--
			return nil
		default:
			return s.errorf("want ',' or ']' in array")
		}
	}
}

// str reads a string and returns its unescaped bytes. Without escapes the
// result aliases the input.
func (s *scanner) str() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	start := s.pos
	var high byte // the OR of the bytes: ASCII needs no UTF-8 check
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		high |= c
		switch {
		case c == '"':
			b := s.data[start:s.pos]
			s.pos++
			if high >= utf8.RuneSelf && !utf8.Valid(b) {
				return fixUTF8(b), nil
			}
			return b, nil
		case c == '\\':
			return s.strSlow(start)
		case c < 0x20:
			return nil, s.errorf("control character in string")
		}
		s.pos++
	}
	return nil, s.errorf("unterminated string")
}

func (s *scanner) strSlow(start int) ([]byte, error) {
	out := append([]byte(nil), s.data[start:s.pos]...)
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			if !utf8.Valid(out) {
				return fixUTF8(out), nil
			}
			return out, nil
		case c < 0x20:
			return nil, s.errorf("control character in string")
		case c != '\\':
			out = append(out, c)
			s.pos++
			continue
		}
		s.pos++
		if s.pos >= len(s.data) {
			break
		}
		e := s.data[s.pos]
		s.pos++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, s.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if s.pos+1 < len(s.data) && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
					save := s.pos
					s.pos += 2
					var ok2 bool
					r2, ok2 = s.hex4()
					if !ok2 {
						return nil, s.errorf("bad \\u escape")
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
					} else {
						s.pos = save
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, s.errorf("bad escape")
		}
	}
	return nil, s.errorf("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if s.pos+4 > len(s.data) {
		return 0, false
	}
	var r rune
	for _, c := range s.data[s.pos : s.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	s.pos += 4
	return r, true
}

func fixUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		out = utf8.AppendRune(out, r)
		b = b[n:]
	}
	return out
}

// number reads a JSON number and returns its text.
func (s *scanner) number() ([]byte, error) {
	start := s.pos
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return nil, s.errorf("bad number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return nil, s.errorf("bad number")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return nil, s.errorf("bad number")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	s.pos = i
	return d[start:i], nil
}

func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.errorf("bad literal")
	}
	s.pos += len(word)
	return nil
}

// value kinds
const (
	vNone = iota
	vString
	vNumber
	vTrue
	vFalse
	vNull
	vObject
	vArray
)

func kindOf(c byte) int {
	switch c {
	case '"':
		return vString
	case '{':
		return vObject
	case '[':
		return vArray
	case 't':
		return vTrue
	case 'f':
		return vFalse
	case 'n':
		return vNull
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return vNumber
	}
	return vNone
}

// skip consumes any value.
func (s *scanner) skip() error {
	switch kindOf(s.peek()) {
	case vString:
		_, err := s.str()
		return err
	case vNumber:
		_, err := s.number()
		return err
	case vTrue:
		return s.literal("true")
	case vFalse:
		return s.literal("false")
	case vNull:
		return s.literal("null")
	case vObject:
		return s.object(func([]byte) error { return s.skip() })
	case vArray:
		return s.array(s.skip)
	}
	if s.pos >= len(s.data) {
		return s.errorf("unexpected end")
	}
	return s.errorf("unexpected %q", s.data[s.pos])
}

// end checks that only white space follows.
func (s *scanner) end() error {
	s.ws()
	if s.pos != len(s.data) {
		return s.errorf("data after the value")
	}
	return nil
}
