package sensor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/passant/passant/wire"
)

// MAC is a raw hardware address. It exists only inside the sensor, between
// the decoder and the Pseudonymizer: every way of printing it (String, any
// fmt verb, slog, JSON or text marshalling) writes "[mac]" instead, so a
// raw address cannot reach a log line or an error message by accident.
type MAC [6]byte

const macRedacted = "[mac]"

// Local reports whether the address is locally administered (randomised).
func (m MAC) Local() bool { return m[0]&0x02 != 0 }

// Group reports whether the address is a group (multicast) address, which
// no station transmits from.
func (m MAC) Group() bool { return m[0]&0x01 != 0 }

// String implements fmt.Stringer without revealing the address.
func (MAC) String() string { return macRedacted }

// Format implements fmt.Formatter: every verb prints "[mac]".
func (MAC) Format(f fmt.State, _ rune) { io.WriteString(f, macRedacted) }

// LogValue implements slog.LogValuer.
func (MAC) LogValue() slog.Value { return slog.StringValue(macRedacted) }

// MarshalText implements encoding.TextMarshaler.
func (MAC) MarshalText() ([]byte, error) { return []byte(macRedacted), nil }

// errBadMAC never quotes its input: the input may be a MAC address.
var errBadMAC = errors.New("not a MAC address (want 6 hex bytes, e.g. aa:bb:cc:dd:ee:ff)")

// ParseMAC reads aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff or
// aabbccddeeff, in either case. Its error never repeats the input.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	s = strings.TrimSpace(s)
	var digits []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':' || c == '-' || c == '.':
			continue
		case hexVal(c) >= 0:
			digits = append(digits, c)
		default:
			return m, errBadMAC
		}
	}
	if len(digits) != 12 {
		return m, errBadMAC
	}
	for i := range m {
		m[i] = byte(hexVal(digits[2*i])<<4 | hexVal(digits[2*i+1]))
	}
	return m, nil
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Frame is what the Decoder takes from one 802.11 frame: everything an
// observation needs, with the transmitter's raw address still in it.
type Frame struct {
	T    int64 // capture time, Unix ms (microseconds / 1000, rounded down)
	Addr MAC   // transmitter address (802.11 address 2)
	RSSI int   // dBm, from radiotap
	Ch   int   // channel; 0 when unknown
	Kind string
	Seq  int    // 802.11 sequence number 0..4095
	FP   string // capability fingerprint (probe requests), 8 hex; empty when unknown
	Freq int    // channel frequency, MHz; 0 when unknown
}

// Observation turns the frame into an observation of pseudonym dev.
func (f *Frame) Observation(dev wire.Dev) wire.Observation {
	return wire.Observation{T: f.T, Dev: dev, RSSI: float64(f.RSSI), Ch: f.Ch, Kind: f.Kind,
		Rand: f.Addr.Local(), Seq: f.Seq, FP: f.FP}
}

// Channel returns the channel number of a frequency in MHz: 1–14 in the
// 2.4 GHz band, 5 GHz and 4.9 GHz channel numbers, and 6 GHz channels
// above 14. A 6 GHz channel numbered 1–14 would read as 2.4 GHz under the
// contract (channels above 14 are 5 or 6 GHz), so it is reported as 0,
// unknown, as is any frequency outside these bands.
func Channel(mhz int) int {
	switch {
	case mhz == 2484:
		return 14
	case mhz >= 2412 && mhz <= 2472:
		return (mhz - 2407) / 5
	case mhz >= 5955 && mhz <= 7115:
		if ch := (mhz - 5950) / 5; ch > 14 {
			return ch
		}
		return 0
	case mhz >= 5000 && mhz <= 5925:
		return (mhz - 5000) / 5
	case mhz >= 4910 && mhz <= 4980:
		return (mhz - 4000) / 5
	}
	return 0
}
