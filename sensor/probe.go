package sensor

import (
	"crypto/sha256"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/passant/passant/wire"
)

// TxMAC is the address a sensor transmits its probe requests from, unless
// told otherwise: the first 6 bytes of SHA-256("passant-tx:" + sensor id),
// made a locally administered unicast address. The same sensor id gives
// the same address on every start, so the server sees one anchor.
func TxMAC(sensorID string) MAC {
	sum := sha256.Sum256([]byte("passant-tx:" + sensorID))
	var m MAC
	copy(m[:], sum[:6])
	m[0] = m[0]&^0x01 | 0x02 // unicast, locally administered
	return m
}

// probeIEs are the information elements of the probe requests a sensor
// sends: a wildcard SSID and the 2.4 GHz rates. They never change, so the
// frames have one stable fingerprint (ProbeFP).
var probeIEs = []layers.Dot11InformationElement{
	{ID: layers.Dot11InformationElementIDSSID},
	{ID: layers.Dot11InformationElementIDRates, Info: []byte{0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24}},
	{ID: layers.Dot11InformationElementIDESRates, Info: []byte{0x30, 0x48, 0x60, 0x6c}},
}

// ProbeFP returns the fingerprint (contract §1) of the probe requests that
// a Prober builds.
func ProbeFP() string {
	var ies []byte
	for _, e := range probeIEs {
		ies = append(append(ies, byte(e.ID), byte(len(e.Info))), e.Info...)
	}
	fp, _ := Fingerprint(ies)
	return wire.FormatFP(fp)
}

// txRadiotap is the radiotap header of an injected frame: flags (none: the
// hardware appends the FCS), rate 1 Mb/s (the most robust; every 2.4 GHz
// receiver hears it) and TX flags "no ACK" (a probe request to the
// broadcast address is never acknowledged). A driver ignores what it does
// not support; the receivers' own radios write the radiotap header that
// they capture, with the signal they heard.
var txRadiotap = []byte{
	0x00, 0x00, // version, pad
	0x0c, 0x00, // length 12
	0x06, 0x80, 0x00, 0x00, // present: flags (1), rate (2), TX flags (15)
	0x00,       // flags
	0x02,       // rate, 500 kb/s units
	0x08, 0x00, // TX flags: IEEE80211_RADIOTAP_F_TX_NOACK
}

// Prober builds the probe requests a sensor transmits: radiotap + 802.11
// management header + probeIEs, from one address, the sequence number
// going up by one per frame (mod 4096) as a phone's does. It is not safe
// for concurrent use.
type Prober struct {
	mac MAC
	seq uint16
	buf gopacket.SerializeBuffer
}

// NewProber returns a Prober sending from mac; its first frame has
// sequence number seq (mod 4096).
func NewProber(mac MAC, seq int) *Prober {
	return &Prober{mac: mac, seq: uint16(seq) & 0xfff, buf: gopacket.NewSerializeBuffer()}
}

// Seq returns the sequence number of the next frame.
func (p *Prober) Seq() int { return int(p.seq) }

// Next builds the next frame. It stays valid until the next call.
func (p *Prober) Next() []byte {
	bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ls := make([]gopacket.SerializableLayer, 0, 2+len(probeIEs))
	ls = append(ls, gopacket.Payload(txRadiotap), &layers.Dot11{
		Type:     layers.Dot11TypeMgmtProbeReq,
		Address1: bcast, Address2: p.mac[:], Address3: bcast,
		SequenceNumber: p.seq,
	})
	for i := range probeIEs {
		ls = append(ls, &probeIEs[i])
	}
	// Serialising these layers cannot fail: none of them checks anything.
	if err := gopacket.SerializeLayers(p.buf, gopacket.SerializeOptions{}, ls...); err != nil {
		panic("sensor: probe request: " + err.Error())
	}
	p.seq = (p.seq + 1) & 0xfff
	return p.buf.Bytes()
}
