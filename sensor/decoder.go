package sensor

import (
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/passant/passant/wire"
)

// Result says what the Decoder made of a frame.
type Result uint8

// Results of Decode. Only OK yields a Frame.
const (
	OK        Result = iota
	Skipped          // a frame of a kind not asked for, or not from a client station
	NoRSSI           // wanted, but the radiotap header holds no dBm signal
	BadFCS           // the radio flagged the frame's checksum as wrong
	Malformed        // the frame or its radiotap header is corrupt
)

// DecoderOptions choose which frames become observations.
type DecoderOptions struct {
	// Data also takes data frames sent by client stations to an access
	// point, and management frames other than probe requests that client
	// stations send (association, authentication, action, ...), as kind
	// "data". Probe requests are always taken.
	Data bool
	// Channel is the channel the radio is tuned to, used when a frame's
	// radiotap header has no channel field; 0 when unknown.
	Channel int
}

// DecodeStats counts frames by what the Decoder made of them.
type DecodeStats struct {
	Frames    uint64 // all frames given to Decode
	Probes    uint64 // probe requests taken
	Data      uint64 // other frames taken (with DecoderOptions.Data)
	Skipped   uint64
	NoRSSI    uint64
	BadFCS    uint64
	Malformed uint64
}

// Decoder turns radiotap 802.11 frames into Frames with gopacket's
// DecodingLayerParser (radiotap, layers.Dot11, layers.Dot11MgmtProbeReq).
// It keeps its layers and buffers from frame to frame: decoding a probe
// request allocates nothing. It is not safe for concurrent use; use one
// Decoder per goroutine.
type Decoder struct {
	opt     DecoderOptions
	filter  frameFilter
	parser  *gopacket.DecodingLayerParser
	rt      radiotap
	dot11   layers.Dot11
	probe   layers.Dot11MgmtProbeReq
	decoded []gopacket.LayerType
	fp      fpCache
	stats   DecodeStats
}

// NewDecoder returns a Decoder with the given options.
func NewDecoder(opt DecoderOptions) *Decoder {
	d := &Decoder{opt: opt, decoded: make([]gopacket.LayerType, 0, 8)}
	d.filter.add(layers.Dot11TypeMgmtProbeReq)
	if opt.Data {
		d.filter.addMain(layers.Dot11TypeData)
		d.filter.addMain(layers.Dot11TypeMgmt)
		for _, t := range []layers.Dot11Type{layers.Dot11TypeMgmtBeacon, layers.Dot11TypeMgmtProbeResp,
			layers.Dot11TypeMgmtATIM, layers.Dot11TypeMgmtMeasurementPilot} {
			d.filter.remove(t)
		}
	}
	d.rt.want = &d.filter
	d.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeRadioTap, &d.rt, &d.dot11, &d.probe)
	d.parser.IgnoreUnsupported = true // stop quietly after the layers we need
	return d
}

// Stats returns the counts so far.
func (d *Decoder) Stats() DecodeStats { return d.stats }

// Decode decodes one frame captured at ci.Timestamp. On OK, f holds the
// frame; f is left in an unspecified state otherwise.
func (d *Decoder) Decode(data []byte, ci gopacket.CaptureInfo, f *Frame) Result {
	r := d.decode(data, ci, f)
	d.stats.Frames++
	switch r {
	case OK:
		if f.Kind == wire.KindProbe {
			d.stats.Probes++
		} else {
			d.stats.Data++
		}
	case Skipped:
		d.stats.Skipped++
	case NoRSSI:
		d.stats.NoRSSI++
	case BadFCS:
		d.stats.BadFCS++
	case Malformed:
		d.stats.Malformed++
	}
	return r
}

func (d *Decoder) decode(data []byte, ci gopacket.CaptureInfo, f *Frame) Result {
	err := d.parser.DecodeLayers(data, &d.decoded)
	n := len(d.decoded)
	if n == 0 {
		return Malformed
	}
	if d.rt.Flags.BadFCS() && len(d.rt.payload) >= 2 && d.filter.wants(d.rt.payload[0]) {
		return BadFCS
	}
	if n == 1 {
		if err != nil || len(d.rt.payload) >= 2 && d.filter.wants(d.rt.payload[0]) {
			return Malformed // wanted, but layers.Dot11 refused it
		}
		return Skipped
	}
	if err != nil && !(n >= 2 && d.dot11.Type.MainType() == layers.Dot11TypeData) {
		return Malformed
	}
	// layers.Dot11 returns an error for data subtypes it does not decode
	// after filling in the header, which is all that is needed here.
	t := d.dot11.Type
	if len(d.dot11.Address2) != 6 {
		return Malformed
	}
	copy(f.Addr[:], d.dot11.Address2)
	switch {
	case t == layers.Dot11TypeMgmtProbeReq:
		f.Kind, f.FP = wire.KindProbe, ""
		// No fingerprint for a probe request without elements, or one cut
		// short by the capture's snap length (its elements are incomplete).
		if n >= 3 && ci.CaptureLength >= ci.Length {
			f.FP = d.fp.get(d.probe.Contents)
		}
	case t.MainType() == layers.Dot11TypeData:
		if !d.dot11.Flags.ToDS() || d.dot11.Flags.FromDS() {
			return Skipped // not from a station to its access point
		}
		f.Kind, f.FP = wire.KindData, ""
	default: // other management frames: only those a station sends
		if string(d.dot11.Address2) == string(d.dot11.Address3) {
			return Skipped // sent by the access point (address 2 is the BSSID)
		}
		f.Kind, f.FP = wire.KindData, ""
	}
	f.T = ci.Timestamp.UnixMicro() / 1000
	if f.T < 0 && ci.Timestamp.UnixMicro()%1000 != 0 {
		f.T--
	}
	f.Freq = int(d.rt.Freq)
	f.Ch = Channel(f.Freq)
	if f.Freq == 0 {
		f.Ch = d.opt.Channel
	}
	f.Seq = int(d.dot11.SequenceNumber)
	f.RSSI = int(d.rt.Signal)
	if !d.rt.HasSignal {
		f.RSSI = 0
		return NoRSSI
	}
	return OK
}

// frameFilter is a set of 802.11 type/subtype pairs, indexed by bits 2..7
// of the first frame-control byte.
type frameFilter uint64

func fcIndex(t layers.Dot11Type) uint { return uint(t) & 0x3f }

// layers.Dot11Type is (fc0 >> 2): type in bits 0..1, subtype in bits 2..5.
func (m *frameFilter) add(t layers.Dot11Type)    { *m |= 1 << fcIndex(t) }
func (m *frameFilter) remove(t layers.Dot11Type) { *m &^= 1 << fcIndex(t) }
func (m *frameFilter) addMain(main layers.Dot11Type) {
	for sub := range 16 {
		*m |= 1 << (uint(main)&3 | uint(sub)<<2)
	}
}

// wants reports whether a frame whose first frame-control byte is fc0 is
// in the set (protocol version 0 only).
func (m *frameFilter) wants(fc0 byte) bool {
	return fc0&3 == 0 && *m&(1<<(fc0>>2)) != 0
}
