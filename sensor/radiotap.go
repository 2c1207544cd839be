package sensor

import (
	"encoding/binary"
	"errors"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// radiotap decodes a radiotap header (https://www.radiotap.org) as a
// gopacket.DecodingLayer, the first layer of the Decoder's
// DecodingLayerParser. It stands in for layers.RadioTap, which the tests
// check it against frame by frame, because the hot path needs what that
// layer lacks: bounds checks on every field (a corrupt header is an error,
// not a panic), the extended presence bitmaps that carry one signal per
// antenna, the fields after VHT, and no allocation when the frame has no
// FCS (layers.RadioTap copies the frame to append a computed one).
type radiotap struct {
	Flags     layers.RadioTapFlags // from the first (default) namespace
	Freq      uint16               // channel frequency, MHz; 0 when absent
	Signal    int8                 // dBm: the combined value, else the strongest antenna
	HasSignal bool
	Antennas  int // per-antenna dBm values seen besides the combined one

	contents, payload []byte
	buf               []byte // payload plus 4 bytes standing for the FCS
	want              *frameFilter
}

// Radiotap presence bits the decoder reads or must step over.
const (
	rtFlags       = 1
	rtChannel     = 3
	rtDBMSignal   = 5
	rtXChannel    = 18
	rtRadiotapNS  = 29
	rtVendorNS    = 30
	rtExt         = 31
	rtKnownFields = 28 // bits 0..27 have a known alignment and size
)

// rtField gives alignment and size of each radiotap-namespace field.
var rtField = [rtKnownFields]struct{ align, size uint8 }{
	0: {8, 8}, 1: {1, 1}, 2: {1, 1}, 3: {2, 4}, 4: {1, 2}, 5: {1, 1}, 6: {1, 1},
	7: {2, 2}, 8: {2, 2}, 9: {2, 2}, 10: {1, 1}, 11: {1, 1}, 12: {1, 1}, 13: {1, 1},
	14: {2, 2}, 15: {2, 2}, 16: {1, 1}, 17: {1, 1}, 18: {4, 8}, 19: {1, 3},
	20: {4, 8}, 21: {2, 12}, 22: {8, 12}, 23: {2, 12}, 24: {2, 12}, 25: {2, 6},
	26: {1, 1}, 27: {2, 4},
}

var (
	errRadiotapShort   = errors.New("radiotap: header truncated")
	errRadiotapVersion = errors.New("radiotap: unknown version")
)

func (r *radiotap) LayerType() gopacket.LayerType  { return layers.LayerTypeRadioTap }
func (r *radiotap) CanDecode() gopacket.LayerClass { return layers.LayerTypeRadioTap }
func (r *radiotap) LayerPayload() []byte           { return r.payload }

// NextLayerType is Dot11 only for the frames the filter wants, so the
// parser spends nothing on beacons, acks and data frames nobody asked for.
func (r *radiotap) NextLayerType() gopacket.LayerType {
	if len(r.payload) < 2 || (r.want != nil && !r.want.wants(r.payload[0])) {
		return gopacket.LayerTypeZero
	}
	return layers.LayerTypeDot11
}

// DecodeFromBytes implements gopacket.DecodingLayer.
func (r *radiotap) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	r.Flags, r.Freq, r.Signal, r.HasSignal, r.Antennas = 0, 0, 0, false, 0
	r.contents, r.payload = nil, nil
	if len(data) < 8 {
		df.SetTruncated()
		return errRadiotapShort
	}
	if data[0] != 0 {
		return errRadiotapVersion
	}
	hlen := int(binary.LittleEndian.Uint16(data[2:4]))
	if hlen < 8 || hlen > len(data) {
		df.SetTruncated()
		return errRadiotapShort
	}
	hdr := data[:hlen]
	// The presence words come first, then the fields of each in turn.
	nwords := 1
	for binary.LittleEndian.Uint32(hdr[4*nwords:])&(1<<rtExt) != 0 {
		nwords++
		if 4+4*nwords > hlen {
			df.SetTruncated()
			return errRadiotapShort
		}
	}
	if err := r.fields(hdr, nwords); err != nil {
		return err
	}
	r.contents = hdr
	r.payload = data[hlen:]
	if !r.Flags.FCS() && len(r.payload) > 0 {
		// layers.Dot11 always takes the last 4 bytes for the FCS: give it
		// 4 spare ones instead of cutting the frame short.
		r.buf = append(append(r.buf[:0], r.payload...), 0, 0, 0, 0)
		r.payload = r.buf
	}
	return nil
}

// fields walks the fields of all namespaces, taking flags, channel and the
// dBm signals. A field of unknown size ends the walk: what was read stays.
func (r *radiotap) fields(hdr []byte, nwords int) error {
	off := 4 + 4*nwords
	radiotapNS, first := true, true
	var best int8
	var haveAntenna bool
	var skip int // bytes of vendor namespace data to step over
	for w := range nwords {
		present := binary.LittleEndian.Uint32(hdr[4+4*w:])
		if !radiotapNS {
			off += skip
			if off > len(hdr) {
				return errRadiotapShort
			}
		} else {
			for bit := 0; bit < rtKnownFields; bit++ {
				if present&(1<<bit) == 0 {
					continue
				}
				f := rtField[bit]
				off = alignUp(off, int(f.align))
				if off+int(f.size) > len(hdr) {
					return errRadiotapShort
				}
				v := hdr[off : off+int(f.size)]
				off += int(f.size)
				switch {
				case bit == rtDBMSignal && first:
					r.Signal, r.HasSignal = int8(v[0]), true
				case bit == rtDBMSignal:
					if !haveAntenna || int8(v[0]) > best {
						best = int8(v[0])
					}
					haveAntenna = true
					r.Antennas++
				case bit == rtFlags && first:
					r.Flags = layers.RadioTapFlags(v[0])
				case bit == rtChannel && first:
					r.Freq = binary.LittleEndian.Uint16(v)
				case bit == rtXChannel && first && r.Freq == 0:
					r.Freq = binary.LittleEndian.Uint16(v[4:])
				}
			}
			if present&(1<<rtKnownFields) != 0 { // TLVs or a field we cannot size
				break
			}
		}
		switch {
		case present&(1<<rtVendorNS) != 0:
			off = alignUp(off, 2)
			if off+6 > len(hdr) {
				return errRadiotapShort
			}
			skip = int(binary.LittleEndian.Uint16(hdr[off+4:]))
			off += 6
			radiotapNS = false
		case present&(1<<rtRadiotapNS) != 0:
			radiotapNS = true
		default:
			// Without a namespace bit, the next word continues the
			// current namespace (bits 32..63): none of them is known.
			if radiotapNS && w+1 < nwords {
				if !r.HasSignal && haveAntenna {
					r.Signal, r.HasSignal = best, true
				}
				return nil
			}
		}
		first = false
	}
	if !r.HasSignal && haveAntenna {
		r.Signal, r.HasSignal = best, true
	}
	return nil
}

func alignUp(off, a int) int { return (off + a - 1) &^ (a - 1) }
