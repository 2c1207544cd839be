// Package wire holds the messages and files of the Passant contract
// (shared/CONTRACT.md): observation batches, journal lines, the site file,
// position fixes, reports and calibration walk marks. It validates and
// encodes them and knows nothing of how they are used.
package wire

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// Limits of a batch, from the contract.
const (
	Version     = 1
	MaxObs      = 10000
	MaxBatchLen = 4 << 20 // bytes of one MQTT payload
	MinRSSI     = -120.0
	MaxRSSI     = 0.0
)

// Observation kinds.
const (
	KindProbe = "probe"
	KindData  = "data"
	KindBLE   = "ble"
)

// Dev is a pseudonymous device id: the first 8 bytes of a keyed HMAC of a MAC
// address. On the wire it is 16 lowercase hex characters.
type Dev uint64

// String returns the 16 lowercase hex characters of d.
func (d Dev) String() string {
	var b [16]byte
	return string(d.appendHex(b[:0]))
}

func (d Dev) appendHex(dst []byte) []byte {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[d&0xf]
		d >>= 4
	}
	return append(dst, b[:]...)
}

// MarshalText implements encoding.TextMarshaler.
func (d Dev) MarshalText() ([]byte, error) { return d.appendHex(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler: exactly 16 lowercase hex
// characters.
func (d *Dev) UnmarshalText(b []byte) error {
	v, ok := parseDev(b)
	if !ok {
		return fmt.Errorf("wire: dev %q is not 16 lowercase hex characters", truncate(b, 40))
	}
	*d = v
	return nil
}

// ParseDev parses the wire form of a pseudonym.
func ParseDev(s string) (Dev, error) {
	var d Dev
	err := d.UnmarshalText([]byte(s))
	return d, err
}

// DevFromBytes takes the first 8 bytes of sum as a pseudonym.
func DevFromBytes(sum []byte) Dev {
	var d Dev
	for _, c := range sum[:8] {
		d = d<<8 | Dev(c)
	}
	return d
}

func parseDev(b []byte) (Dev, bool) {
	if len(b) != 16 {
		return 0, false
	}
	var d Dev
	for _, c := range b {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		default:
			return 0, false
		}
		d = d<<4 | Dev(v)
	}
	return d, true
}

// Observation is one frame heard by one sensor.
type Observation struct {
	T    int64   // capture time, Unix ms, sensor clock
	Dev  Dev     // pseudonym
	RSSI float64 // dBm, in [MinRSSI, MaxRSSI]
	Ch   int     // channel; 0 when unknown
	Kind string  // KindProbe (also when empty on the wire), KindData, KindBLE
	Rand bool    // locally administered (randomised) MAC
	Seq  int     // 802.11 sequence number 0..4095; -1 when unknown
	FP   string  // capability fingerprint, 8 hex characters; empty when unknown
}

// Band5GHz reports whether the observation's channel lies above the 2.4 GHz band.
func (o *Observation) Band5GHz() bool { return o.Ch > 14 }

// Batch is what a sensor publishes on passant/<site>/<sensor>/obs.
type Batch struct {
	V      int
	Sensor string
	Boot   int64 // when the sensor process started, Unix ms; 0 when absent
	ID     int64 // the batch's number since Boot (1, 2, ...); 0 when absent
	Sent   int64 // sensor clock at publishing, Unix ms
	Obs    []Observation
}

// Drops counts the observations that a batch carried but that broke the
// contract and were dropped, by reason.
type Drops struct {
	Missing  int // lacked t, dev or rssi, or had them of the wrong type
	BadDev   int
	BadRSSI  int
	BadSeq   int
	BadOther int // not an object, or t out of range
}

// Total is the number of dropped observations.
func (d Drops) Total() int { return d.Missing + d.BadDev + d.BadRSSI + d.BadSeq + d.BadOther }

// Add adds e to d.
func (d *Drops) Add(e Drops) {
	d.Missing += e.Missing
	d.BadDev += e.BadDev
	d.BadRSSI += e.BadRSSI
	d.BadSeq += e.BadSeq
	d.BadOther += e.BadOther
}

// Reasons a whole batch is rejected. Errors returned by ParseBatch wrap one
// of these, so callers count rejections by errors.Is.
var (
	ErrNotJSON        = errors.New("not JSON")
	ErrMissing        = errors.New("lacks a required field")
	ErrVersion        = errors.New("unsupported version")
	ErrTooLarge       = errors.New("too large")
	ErrSensorMismatch = errors.New("sensor differs from the topic")
	ErrUnknownSensor  = errors.New("unknown site or sensor")
	ErrBadID          = errors.New("bad id")
)

// ValidID reports whether s may name a site or sensor: [A-Za-z0-9_-]{1,64}
// (a loop, not a regexp: it is checked for every batch).
func ValidID(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Topic returns the topic on which sensor of site publishes kind ("obs" or
// "status") under prefix.
func Topic(prefix, site, sensor, kind string) string {
	return prefix + "/" + site + "/" + sensor + "/" + kind
}

// FormatFP returns the wire form of a 4-byte fingerprint.
func FormatFP(b [4]byte) string { return hex.EncodeToString(b[:]) }

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

func quoteTrunc(b []byte, n int) string { return strconv.Quote(truncate(b, n)) }
