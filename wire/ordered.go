package wire

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// orderedObservation reads an observation object at the cursor when it is
// written exactly as AppendObservation writes a valid one: the keys in the
// encoder's order (t, dev, rssi, then any of ch, kind, rand, seq, fp in that
// order), compact, integers, plain ASCII strings, and every check passed (t
// > 0, dev 16 lowercase hex characters, rssi in range, seq -1..4095). It
// matches the keys as literal byte prefixes instead of reading them, and
// appends the observation to b.Obs in place. On anything else it changes
// nothing (neither the cursor nor b) and returns false, and the other paths
// read the object: what it appends is what they would append.
func (s *scanner) orderedObservation(b *Batch) bool {
	d := s.data[s.pos:]
	// {"t":
	if len(d) < 5 || string(d[:5]) != `{"t":` {
		return false
	}
	i := 5
	t, n := posInt(d[i:])
	if n == 0 || n > 15 {
		return false
	}
	i += n
	// ,"dev":"<16 hex>","rssi":
	if len(d)-i < 8+16+9 || string(d[i:i+8]) != `,"dev":"` {
		return false
	}
	i += 8
	dev, ok := hexDev(d[i : i+16])
	if !ok {
		return false
	}
	i += 16
	if string(d[i:i+9]) != `","rssi":` {
		return false
	}
	i += 9
	rssi, n := smallNeg(d[i:])
	if n == 0 {
		return false
	}
	i += n
	ch, kind, rand, seq, fp := 0, KindProbe, false, -1, ""
	if i < len(d) && d[i] == ',' && len(d)-i >= 6 && string(d[i:i+6]) == `,"ch":` {
		i += 6
		v, n := shortInt(d[i:])
		if n == 0 {
			return false
		}
		if v >= 0 && v <= 1000 {
			ch = int(v)
		}
		i += n
	}
	if i < len(d) && d[i] == ',' && len(d)-i >= 8 && string(d[i:i+8]) == `,"kind":` {
		i += 8
		v, n := plainString(d[i:])
		if n == 0 || i+n >= len(d) || (d[i+n] != ',' && d[i+n] != '}') {
			return false
		}
		kind = internKind(v)
		i += n
	}
	if i < len(d) && d[i] == ',' && len(d)-i >= 12 && string(d[i:i+12]) == `,"rand":true` {
		rand = true
		i += 12
	}
	if i < len(d) && d[i] == ',' && len(d)-i >= 7 && string(d[i:i+7]) == `,"seq":` {
		i += 7
		v, n := shortInt(d[i:])
		if n == 0 || v < -1 || v > 4095 {
			return false
		}
		seq = int(v)
		i += n
	}
	if i < len(d) && d[i] == ',' && len(d)-i >= 6 && string(d[i:i+6]) == `,"fp":` {
		i += 6
		var v []byte
		var n int
		if len(d)-i >= 11 && d[i] == '"' && d[i+9] == '"' && plain8(binary.LittleEndian.Uint64(d[i+1:])) {
			v, n = d[i+1:i+9], 10 // the usual 8 characters, as plainString reads them
		} else {
			v, n = plainString(d[i:])
		}
		if n == 0 || i+n >= len(d) || d[i+n] != '}' {
			return false
		}
		fp = s.fp(v)
		i += n
	}
	if i >= len(d) || d[i] != '}' {
		return false
	}
	s.pos += i + 1
	k := len(b.Obs)
	if k < cap(b.Obs) {
		b.Obs = b.Obs[:k+1]
	} else {
		b.Obs = append(b.Obs, Observation{})
	}
	o := &b.Obs[k]
	o.T, o.Dev, o.RSSI, o.Ch, o.Kind, o.Rand, o.Seq, o.FP = t, dev, float64(rssi), ch, kind, rand, seq, fp
	return true
}

// posInt reads a positive JSON integer ([1-9][0-9]*) at the start of b that
// is followed by ','; n = 0 otherwise. n is the number of digits; the value
// is exact for up to 18 of them. Where b has room it reads eight bytes at
// a time: the first eight when all are digits, then the digits at the
// start of the next eight (a timestamp's 13 digits in two steps).
func posInt(b []byte) (v int64, n int) {
	if len(b) >= 8 {
		// b[0] is taken from x: a separate load of it keeps the compiler
		// from reading the eight bytes as one
		x := binary.LittleEndian.Uint64(b)
		if c := byte(x); c < '1' || c > '9' {
			return 0, 0
		}
		if isDigits8(x) {
			v = int64(digits8(x))
			n = 8
			if len(b) >= 16 {
				y := binary.LittleEndian.Uint64(b[8:])
				k := leadingDigits(y)
				v = v*pow10[k] + int64(digits8(y<<(64-8*k)|0x3030303030303030>>(8*k)))
				n += k
			}
		}
	} else if len(b) == 0 || b[0] < '1' || b[0] > '9' {
		return 0, 0
	}
	for n < len(b) && n < 19 && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int64(b[n]-'0')
		n++
	}
	if n >= 19 || n >= len(b) || b[n] != ',' {
		return 0, 0
	}
	return v, n
}

// plain8 reports whether the 8 bytes of x are all characters plainString
// takes inside a string: printable ASCII other than '"' and '\\'. (For
// bytes below 0x80, (b - c) has its high bit set with b's clear exactly
// when b < c, and b ^ c is 0 exactly when b = c; a borrow only runs on
// from a byte that already fails.)
func plain8(x uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	q, bs := x^('"'*ones), x^('\\'*ones)
	ctl := (x - 0x20*ones) &^ x // a byte below 0x20
	quote := (q - ones) &^ q    // a '"'
	bslash := (bs - ones) &^ bs // a '\\'
	return (x|ctl|quote|bslash)&high == 0
}

// shortInt is plainInt, with the usual unsigned integer of up to 7 digits
// read from eight bytes at once (no loop whose end the processor has to
// guess: a channel's or a sequence number's length varies).
func shortInt(b []byte) (v int64, n int) {
	if len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		k := leadingDigits(x)
		if k >= 1 && k <= 7 && (k == 1 || byte(x) != '0') {
			if c := byte(x >> (8 * k)); c == ',' || c == '}' {
				return int64(digits8(x<<(64-8*k) | 0x3030303030303030>>(8*k))), k
			}
		}
	}
	return plainInt(b)
}

// pow10 holds 10^k for k = 0..8.
var pow10 = [9]int64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// leadingDigits is the number of ASCII digits at the start of the 8 bytes
// of x (the first in the low byte), 0 to 8. A byte's test is exact up to
// the first byte that is not a digit (the addition carries only out of a
// byte of 0xFA or more, into the bytes after it).
func leadingDigits(x uint64) int {
	y := ((x & 0xF0F0F0F0F0F0F0F0) | (((x + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) >> 4)) ^ 0x3333333333333333
	return bits.TrailingZeros64(y) >> 3
}

// isDigits8 reports whether the 8 bytes of x are all ASCII digits.
func isDigits8(x uint64) bool {
	return (x&0xF0F0F0F0F0F0F0F0)|(((x+0x0606060606060606)&0xF0F0F0F0F0F0F0F0)>>4) == 0x3333333333333333
}

// digits8 is the value of the 8 ASCII digits of x, the first in the low
// byte.
func digits8(x uint64) uint64 {
	x -= 0x3030303030303030
	x = x*10 + x>>8
	x = ((x&0x000000FF000000FF)*(100+(1000000<<32)) + ((x>>16)&0x000000FF000000FF)*(1+(10000<<32))) >> 32
	return x
}

// smallNeg reads an RSSI as encoders write a valid one: an integer in
// [MinRSSI, MaxRSSI] (0, -1 ... -120, not -0) followed by ',' or '}'; n = 0
// otherwise.
func smallNeg(b []byte) (v int64, n int) {
	if len(b) >= 2 && b[0] == '0' && (b[1] == ',' || b[1] == '}') {
		return 0, 1
	}
	if len(b) < 3 || b[0] != '-' || b[1] < '1' || b[1] > '9' {
		return 0, 0
	}
	v = int64(b[1] - '0')
	n = 2
	for n < len(b) && n < 5 && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int64(b[n]-'0')
		n++
	}
	if n >= len(b) || (b[n] != ',' && b[n] != '}') || v > -MinRSSI {
		return 0, 0
	}
	return -v, n
}

// hexDev is parseDev of exactly 16 bytes, eight at a time without
// branches.
func hexDev(b []byte) (Dev, bool) {
	hi, ok1 := hex8(binary.BigEndian.Uint64(b[:8]))
	lo, ok2 := hex8(binary.BigEndian.Uint64(b[8:16]))
	return Dev(hi<<32 | lo), ok1 && ok2
}

// hex8 is the value of 8 lowercase hex digits, the first in the high byte
// of x, and whether they all are ones.
func hex8(x uint64) (uint64, bool) {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	// a byte's high bit in (x|high)-c*ones is set when its byte of x
	// (below 0x80) is >= c: each byte's subtraction cannot borrow from
	// the next
	xh := x | high
	digit := (xh - '0'*ones) &^ (xh - ('9'+1)*ones) & high
	letter := (xh - 'a'*ones) &^ (xh - ('f'+1)*ones) & high
	ok := x&high == 0 && digit|letter == high
	v := x&(0x0F*ones) + (letter>>7)*9
	v = (v | v>>4) & 0x00FF00FF00FF00FF
	v = (v | v>>8) & 0x0000FFFF0000FFFF
	v = (v | v>>16) & 0x00000000FFFFFFFF
	return v, ok
}

// orderedBatch reads a batch object at the cursor when it is written
// exactly as AppendBatch writes a valid one: {"v":1,"sensor":ID, then
// "boot" and "id" or neither, "sent", "obs" as an array of observations
// that orderedObservation takes (at most MaxObs), compact, every integer
// positive. It appends the observations to b.Obs and sets b's fields as
// the general path would; on anything else it leaves the cursor and b's
// fields as they were (b.Obs's length too) and returns false, and the
// general path reads the object.
func (s *scanner) orderedBatch(b *Batch) bool {
	const head = `{"v":1,"sensor":`
	d := s.data[s.pos:]
	if len(d) < len(head) || string(d[:len(head)]) != head {
		return false
	}
	i := len(head)
	id, n := plainString(d[i:])
	if n == 0 || !validID(id) {
		return false
	}
	i += n
	var boot, bid, sent int64
	if len(d)-i >= 8 && string(d[i:i+8]) == `,"boot":` {
		if boot, i = keyPosInt(d, i, `,"boot":`); i == 0 {
			return false
		}
		if bid, i = keyPosInt(d, i, `,"id":`); i == 0 {
			return false
		}
	}
	if sent, i = keyPosInt(d, i, `,"sent":`); i == 0 {
		return false
	}
	if len(d)-i < 8 || string(d[i:i+8]) != `,"obs":[` {
		return false
	}
	i += 8
	k0 := len(b.Obs)
	// Room for every observation, as the general path makes it (counted
	// only when the buffer could be too short: an observation takes at
	// least minObsLen bytes).
	if !s.reuse && cap(b.Obs) < (len(d)-i)/minObsLen+1 {
		if est := min(bytes.Count(d[i:], openBrace), MaxObs); cap(b.Obs) < est {
			b.Obs = append(make([]Observation, 0, est), b.Obs...)
		}
	}
	pos := s.pos
	s.pos += i
	for k := 0; ; k++ {
		if k == 0 && s.pos < len(s.data) && s.data[s.pos] == ']' {
			break
		}
		if k == MaxObs || !s.orderedObservation(b) {
			s.pos, b.Obs = pos, b.Obs[:k0]
			return false
		}
		if s.pos < len(s.data) && s.data[s.pos] == ',' {
			s.pos++
			continue
		}
		break
	}
	if len(s.data)-s.pos < 2 || string(s.data[s.pos:s.pos+2]) != "]}" {
		s.pos, b.Obs = pos, b.Obs[:k0]
		return false
	}
	s.pos += 2
	b.V, b.Sensor, b.Boot, b.ID, b.Sent = Version, s.sensorID(id), boot, bid, sent
	return true
}

// keyPosInt reads key at d[i:] and the positive integer after it (posInt),
// and returns the integer and where it ends; 0 for the end when they are
// not there.
func keyPosInt(d []byte, i int, key string) (v int64, end int) {
	if len(d)-i < len(key) || string(d[i:i+len(key)]) != key {
		return 0, 0
	}
	i += len(key)
	v, n := posInt(d[i:])
	if n == 0 {
		return 0, 0
	}
	return v, i + n
}

// minObsLen is the length of the shortest observation orderedObservation
// takes.
const minObsLen = len(`{"t":1,"dev":"0000000000000000","rssi":0}`)

// validID is ValidID of a byte slice.
func validID(b []byte) bool {
	if len(b) < 1 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// sensorID returns the sensor's id as a string, the one of an earlier line
// when the scanner has a table of them (Lines: a replay's lines name a
// handful of sensors, each line would allocate its name otherwise).
func (s *scanner) sensorID(v []byte) string {
	if s.ids == nil {
		return string(v)
	}
	for _, id := range *s.ids {
		if id == string(v) {
			return id
		}
	}
	id := string(v)
	if len(*s.ids) < 64 {
		*s.ids = append(*s.ids, id)
	}
	return id
}
