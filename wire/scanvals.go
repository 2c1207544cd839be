package wire

import (
	"errors"
	"math"
	"strconv"
)

// The scanner's typed readers consume the value at the cursor whatever its type
// and report ok=false when it is not of the wanted one.

// int64Val reads an integer (a number without fraction that fits int64; an
// exponent form such as 1e3 is accepted when it is integral).
func (s *scanner) int64Val() (int64, bool, error) {
	t, ok, err := s.numberVal()
	if !ok {
		return 0, false, err
	}
	if v, ok := smallInt(t); ok {
		return v, true, nil
	}
	if v, err := strconv.ParseInt(string(t), 10, 64); err == nil {
		return v, true, nil
	}
	f, err := strconv.ParseFloat(string(t), 64)
	if err != nil || f != math.Trunc(f) || f < -9.2e18 || f > 9.2e18 {
		return 0, false, nil
	}
	return int64(f), true, nil
}

// floatVal reads a number; a number too large for float64 is ±Inf.
func (s *scanner) floatVal() (float64, bool, error) {
	t, ok, err := s.numberVal()
	if !ok {
		return 0, false, err
	}
	if v, ok := smallInt(t); ok {
		return float64(v), true, nil
	}
	f, err := strconv.ParseFloat(string(t), 64)
	if err != nil {
		// Out of range: ParseFloat returns ±Inf with the error.
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, true, nil
		}
		return 0, false, nil
	}
	return f, true, nil
}

// numberVal reads a number's text, as strVal reads a string's.
func (s *scanner) numberVal() ([]byte, bool, error) {
	if kindOf(s.peek()) != vNumber {
		return nil, false, s.skip()
	}
	t, err := s.number()
	return t, err == nil, err
}

// smallInt parses short integers such as -67 without strconv.
func smallInt(t []byte) (int64, bool) {
	if len(t) == 0 || len(t) > 16 {
		return 0, false
	}
	neg := t[0] == '-'
	if neg {
		t = t[1:]
	}
	if len(t) == 0 {
		return 0, false
	}
	var v int64
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

func (s *scanner) strVal() ([]byte, bool, error) {
	if kindOf(s.peek()) != vString {
		return nil, false, s.skip()
	}
	b, err := s.str()
	return b, err == nil, err
}

func (s *scanner) boolVal() (bool, bool, error) {
	switch kindOf(s.peek()) {
	case vTrue:
		return true, true, s.literal("true")
	case vFalse:
		return false, true, s.literal("false")
	}
	return false, false, s.skip()
}
