package wire

import (
	"encoding/json"
	"strconv"
)

// Position is one line of positions.jsonl: a fix of one fused measurement of
// a device.
type Position struct {
	T     int64   `json:"t"`
	Track string  `json:"track"`
	Dev   Dev     `json:"dev"`
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	Err   float64 `json:"err"` // 1-sigma error per axis, metres
	Zone  string  `json:"zone"`
	N     int     `json:"n"` // sensors used
	// PStore is the locator's probability that the device is on the
	// store's side of the shop's front, given its track's past and this
	// burst (in (0, 1]; 0 when not known). It is carried in process only
	// (footfall's entry rule, zones.Presence): not written to
	// positions.jsonl, the store or the WebSocket.
	PStore float64 `json:"-"`
	// FP and Rand are the capability fingerprint and the randomised-MAC
	// flag of the burst's address (in process only, like PStore): footfall
	// estimates from them how many passers-by are one phone under several
	// addresses (footfall.Estimate).
	FP   string `json:"-"`
	Rand bool   `json:"-"`
}

// AppendPosition appends p as one JSON object (no newline), with metres
// rounded to millimetres so that output is byte-stable.
func AppendPosition(dst []byte, p *Position) []byte {
	dst = append(dst, `{"t":`...)
	dst = strconv.AppendInt(dst, p.T, 10)
	dst = append(dst, `,"track":`...)
	dst = appendQuote(dst, p.Track)
	dst = append(dst, `,"dev":"`...)
	dst = p.Dev.appendHex(dst)
	dst = append(dst, `","x":`...)
	dst = AppendRounded(dst, p.X, 3)
	dst = append(dst, `,"y":`...)
	dst = AppendRounded(dst, p.Y, 3)
	dst = append(dst, `,"err":`...)
	dst = AppendRounded(dst, p.Err, 3)
	dst = append(dst, `,"zone":`...)
	dst = appendQuote(dst, p.Zone)
	dst = append(dst, `,"n":`...)
	dst = strconv.AppendInt(dst, int64(p.N), 10)
	return append(dst, '}')
}

// appendQuote appends s as a JSON string: '"' and '\\' escaped, control
// characters as \u00XX, everything else as it is (decoded strings are
// valid UTF-8). Not strconv.AppendQuote: its Go escapes (\x01, \U0001f600
// for what Go does not print) are not JSON.
func appendQuote(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// ParsePosition decodes one line of positions.jsonl.
func ParsePosition(line []byte) (Position, error) {
	var p Position
	err := json.Unmarshal(line, &p)
	return p, err
}

// WalkMark is one line of a calibration walk: where a reference device was.
// Exactly one of Dev and Track is set.
type WalkMark struct {
	T     int64   `json:"t"`
	Dev   *Dev    `json:"dev,omitempty"`
	Track string  `json:"track,omitempty"`
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
}
