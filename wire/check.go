package wire

import (
	"encoding/binary"
	"math/bits"
)

// CheckPlain is the check of a batch payload that is written exactly as
// AppendBatch writes a valid one (the form the ordered path of DecodeBatch
// reads: the encoder's key order, compact, nothing else before or after),
// without decoding it. ok means that DecodeBatch takes data without an
// error, as plain, with n observations and none dropped, from the sensor
// named sensor (a part of data); then data is the checked batch as
// DecodeBatch would build it (it is a pure function of the bytes). When ok
// is false nothing is said: the payload may still be valid, plain or not,
// and DecodeBatch (or DecodeBatchInto) reads it with every check and
// error.
//
// It reads an observation as a few 8-byte words: `{"t":`, the time's
// digits, `,"dev":"`, the pseudonym's 16 hex characters and `","rssi":`
// each checked in one or two comparisons, the RSSI and the optional keys
// after it as the ordered path reads them, without building the
// observation (no values but the ranges the contract checks).
func CheckPlain(data []byte) (sensor []byte, n int, ok bool) {
	if len(data) > MaxBatchLen {
		return nil, 0, false
	}
	const head = `{"v":1,"sensor":`
	d := data
	if len(d) < len(head) || string(d[:len(head)]) != head {
		return nil, 0, false
	}
	i := len(head)
	id, k := plainString(d[i:])
	if k == 0 || !validID(id) {
		return nil, 0, false
	}
	i += k
	if len(d)-i >= 8 && string(d[i:i+8]) == `,"boot":` {
		if _, i = keyPosInt(d, i, `,"boot":`); i == 0 {
			return nil, 0, false
		}
		if _, i = keyPosInt(d, i, `,"id":`); i == 0 {
			return nil, 0, false
		}
	}
	if _, i = keyPosInt(d, i, `,"sent":`); i == 0 {
		return nil, 0, false
	}
	if len(d)-i < 8 || string(d[i:i+8]) != `,"obs":[` {
		return nil, 0, false
	}
	i += 8
	if i < len(d) && d[i] == ']' {
		return id, 0, len(d)-i == 2 && d[i+1] == '}'
	}
	for {
		if n == MaxObs {
			return nil, 0, false
		}
		var m int
		if len(d)-i >= padded {
			m = checkObservation(d[i:])
		} else {
			// near the end: the same check on a copy padded with NUL
			// bytes, which nothing it reads matches (an observation
			// longer than the copy is left to DecodeBatch)
			var pad [2 * padded]byte
			copy(pad[:], d[i:])
			if m = checkObservation(pad[:]); m > len(d)-i {
				m = 0
			}
		}
		if m == 0 {
			return nil, 0, false
		}
		n++
		i += m
		if i < len(d) && d[i] == ',' {
			i++
			continue
		}
		break
	}
	if len(d)-i != 2 || d[i] != ']' || d[i+1] != '}' {
		return nil, 0, false
	}
	return id, n, true
}

// obsWindow is how many bytes checkObservation reads at least: its fixed
// part with the longest time it takes (15 digits) and an 8-byte read of
// the RSSI. Its reads after that are bounded by d's length, and CheckPlain
// pads the last observations to padded bytes so that the usual tail (up
// to an 8-byte read after a sequence number) fits.
const (
	obsWindow = 64
	padded    = 192
)

// The observation's literal parts as little-endian words.
var (
	wordT    = le64(`{"t":...`) & 0xFF_FFFF_FFFF // 5 bytes
	wordDev  = le64(`,"dev":"`)
	wordRSSI = le64(`","rssi"`) // then ':'
	wordRand = le64(`,"rand":`) // then "true"
)

func le64(s string) uint64 { return binary.LittleEndian.Uint64([]byte(s)) }

// checkObservation is orderedObservation without the observation: the
// length of the observation object at the start of d when orderedObservation
// takes it whole and with at most the usual forms of the numbers after the
// time (a channel of up to 7 digits, a sequence number 0..4095), 0
// otherwise. d has at least obsWindow bytes.
//
// The usual lengths (a 13-digit time, a 2-digit RSSI, a 1-digit channel,
// a 4-digit sequence number) are tried first by a test of the byte after
// them, a branch the processor predicts: on that path every offset is a
// constant, so its reads do not wait for the lengths of the numbers before
// them (nor the next observation's for this one's), as they do on the
// path for other lengths.
func checkObservation(d []byte) int {
	_ = d[obsWindow-1]
	w := binary.LittleEndian.Uint64(d)
	x1 := binary.LittleEndian.Uint64(d[5:])
	var i int
	if d[18] == ',' {
		// t: 13 digits
		if !isDigits8(x1) || !isDigits8(binary.LittleEndian.Uint64(d[10:])) {
			return 0
		}
		i = 18
	} else {
		// t: 1 to 15 digits, then ','
		var n int
		if isDigits8(x1) {
			n = 8 + leadingDigits(binary.LittleEndian.Uint64(d[13:]))
		} else {
			n = leadingDigits(x1)
		}
		if n == 0 || n == 16 {
			return 0
		}
		i = 5 + n // at most 20: the fixed part below ends before 20+33+8
	}
	if w&0xFF_FFFF_FFFF != wordT || byte(x1) == '0' {
		return 0
	}
	h1 := binary.LittleEndian.Uint64(d[i+8:])
	h2 := binary.LittleEndian.Uint64(d[i+16:])
	if binary.LittleEndian.Uint64(d[i:]) != wordDev || binary.LittleEndian.Uint64(d[i+24:]) != wordRSSI ||
		d[i+32] != ':' || !isHex8(h1) || !isHex8(h2) {
		return 0
	}
	i += 33
	// rssi: 0 or -1 .. -120, then ',' or '}'
	if c := d[i+3]; (c == ',' || c == '}') && d[i] == '-' {
		// -10 .. -99
		if d[i+1] < '1' || d[i+1] > '9' || d[i+2] < '0' || d[i+2] > '9' {
			return 0
		}
		i += 3
	} else {
		r := binary.LittleEndian.Uint64(d[i:])
		var m int
		switch byte(r) {
		case '0':
			m = 1
		case '-':
			k := leadingDigits(r >> 8)
			if k == 0 || k > 3 || byte(r>>8) == '0' ||
				k == 3 && bits.ReverseBytes32(uint32(r>>8))&0xFFFFFF00 > 0x31323000 { // > "120"
				return 0
			}
			m = 1 + k
		default:
			return 0
		}
		if c := byte(r >> (8 * m)); c != ',' && c != '}' {
			return 0
		}
		i += m
	}
	// the optional keys, in the encoder's order; d has room for an
	// 8-byte read after each key's name
	if has(d, i, `,"ch":`, 8) {
		i += 6
		if c := d[i+1]; (c == ',' || c == '}') && d[i] >= '0' && d[i] <= '9' {
			i++ // one digit
		} else {
			k := shortUint(d[i:])
			if k == 0 {
				return 0
			}
			i += k
		}
	}
	if has(d, i, `,"kind":`, 0) {
		i += 8
		_, k := plainString(d[i:])
		if k == 0 || i+k >= len(d) || (d[i+k] != ',' && d[i+k] != '}') {
			return 0
		}
		i += k
	}
	if len(d)-i >= 12 && binary.LittleEndian.Uint64(d[i:]) == wordRand && string(d[i+8:i+12]) == "true" {
		i += 12
	}
	if has(d, i, `,"seq":`, 8) {
		i += 7
		x := binary.LittleEndian.Uint32(d[i:])
		if c := d[i+4]; (c == ',' || c == '}') && isDigits4(x) && byte(x) != '0' {
			// four digits
			if bits.ReverseBytes32(x) > 0x34303935 { // > "4095"
				return 0
			}
			i += 4
		} else {
			k := shortUint(d[i:])
			if k == 0 || k > 3 {
				return 0
			}
			i += k
		}
	}
	if has(d, i, `,"fp":`, 0) {
		i += 6
		var k int
		if len(d)-i >= 11 && d[i] == '"' && d[i+9] == '"' && plain8(binary.LittleEndian.Uint64(d[i+1:])) {
			k = 10 // the usual 8 characters
		} else {
			_, k = plainString(d[i:])
		}
		if k == 0 || i+k >= len(d) || d[i+k] != '}' {
			return 0
		}
		i += k
	}
	if i >= len(d) || d[i] != '}' {
		return 0
	}
	return i + 1
}

// isDigits4 reports whether the 4 bytes of x are all ASCII digits.
func isDigits4(x uint32) bool {
	return (x&0xF0F0F0F0)|(((x+0x06060606)&0xF0F0F0F0)>>4) == 0x33333333
}

// has reports whether d holds key at i and room for after more bytes
// after it.
func has(d []byte, i int, key string, after int) bool {
	return len(d)-i >= len(key)+after && d[i] == ',' && string(d[i:i+len(key)]) == key
}

// shortUint is the length of the unsigned integer of 1 to 7 digits
// (without a leading 0 unless it is 0) at the start of b, followed by ','
// or '}', as shortInt reads it without plainInt; 0 otherwise. b has at
// least 8 bytes.
func shortUint(b []byte) int {
	x := binary.LittleEndian.Uint64(b)
	k := leadingDigits(x)
	if k == 0 || k == 8 || (k > 1 && byte(x) == '0') {
		return 0
	}
	if c := byte(x >> (8 * k)); c != ',' && c != '}' {
		return 0
	}
	return k
}

// isHex8 reports whether the 8 bytes of x are all lowercase hex digits
// (hex8's check without the value).
func isHex8(x uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	xh := x | high
	digit := (xh - '0'*ones) &^ (xh - ('9'+1)*ones)
	letter := (xh - 'a'*ones) &^ (xh - ('f'+1)*ones)
	return x&high == 0 && (digit|letter)&high == high
}
