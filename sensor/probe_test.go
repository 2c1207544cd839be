package sensor

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/passant/passant/wire"
)

// rxRadiotap returns frame as a receiving radio would capture it: the
// transmit radiotap header replaced by a receive one with the channel
// frequency (MHz) and the signal heard (dBm), as the receiver's driver
// writes it.
func rxRadiotap(frame []byte, freq uint16, dbm int8) []byte {
	hl := int(binary.LittleEndian.Uint16(frame[2:4]))
	out := []byte{
		0x00, 0x00, 0x0f, 0x00, // version, pad, length 15
		0x2a, 0x00, 0x00, 0x00, // present: flags (1), channel (3), dBm signal (5)
		0x00, 0x00, // flags, pad to 2
		0, 0, 0xa0, 0x00, // channel: frequency, flags (CCK, 2 GHz)
		byte(dbm),
	}
	binary.LittleEndian.PutUint16(out[10:], freq)
	return append(out, frame[hl:]...)
}

func TestTxMAC(t *testing.T) {
	a, b := TxMAC("s1"), TxMAC("s2")
	if a != TxMAC("s1") {
		t.Fatal("TxMAC is not deterministic")
	}
	if a == b {
		t.Fatal("two sensors got the same transmit address")
	}
	for _, m := range []MAC{a, b} {
		if !m.Local() || m.Group() {
			t.Fatalf("transmit address %x: want locally administered unicast", [6]byte(m))
		}
	}
}

// TestProberFramesDecode decodes the frames a Prober builds, as a receiving
// sensor captures them, with the sensor's own Decoder and Pseudonymizer:
// kind probe, the transmit address's pseudonym, the fixed fingerprint, and
// the sequence number going up by one per frame and wrapping at 4096.
func TestProberFramesDecode(t *testing.T) {
	key := []byte("test site key")
	mac := TxMAC("s1")
	pseudo := NewPseudonymizer(key, time.Hour)
	tr, err := NewTransmitter(TransmitConfig{MAC: mac, Pseudo: pseudo}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := NewProber(mac, 4094)
	dec := NewDecoder(DecoderOptions{})
	t0 := time.Date(2026, 12, 4, 9, 59, 59, 0, time.UTC)
	wantFP := ProbeFP()
	if len(wantFP) != 8 {
		t.Fatalf("ProbeFP %q", wantFP)
	}
	var f Frame
	// As transmitted (no signal field): the header parses, no RSSI.
	if r := dec.Decode(p.Next(), gopacket.CaptureInfo{Timestamp: t0, CaptureLength: 200, Length: 200}, &f); r != NoRSSI {
		t.Fatalf("the transmitted frame decodes as %v, want NoRSSI", r)
	}
	for i := range 4 {
		ts := t0.Add(time.Duration(i) * 500 * time.Millisecond) // crosses an epoch boundary
		data := rxRadiotap(p.Next(), 2437, int8(-50-i))
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}
		if r := dec.Decode(data, ci, &f); r != OK {
			t.Fatalf("frame %d: %v", i, r)
		}
		if f.Kind != wire.KindProbe || f.Addr != mac || f.RSSI != -50-i || f.Ch != 6 || f.FP != wantFP {
			t.Fatalf("frame %d: %+v (fp want %s)", i, f, wantFP)
		}
		if want := (4095 + i) % 4096; f.Seq != want {
			t.Fatalf("frame %d: seq %d, want %d", i, f.Seq, want)
		}
		dev, err := pseudo.Dev(f.Addr, f.T)
		if err != nil {
			t.Fatal(err)
		}
		if want := DevOf(key, time.Hour, [6]byte(mac), f.T); dev != want {
			t.Fatalf("frame %d: dev %s, want %s", i, dev, want)
		}
		if st := tr.Status(f.T); st == nil || st.Dev != dev {
			t.Fatalf("frame %d: status announces %+v, the frame's dev is %s", i, st, dev)
		}
	}
}

// TestTransmitterStatus checks the status's "tx" with only an epoch key:
// the current and next epochs' pseudonyms, and never the address itself.
func TestTransmitterStatus(t *testing.T) {
	key := []byte("another site key")
	const period = 24 * time.Hour
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixMilli()
	e := Epoch(now, period)
	mac := TxMAC("front-door")
	tr, err := NewTransmitter(TransmitConfig{MAC: mac, Every: 10 * time.Second,
		Pseudo: NewEpochPseudonymizer(EpochKey(key, e), e, period), Clock: TrustedClock{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int64{now, now + period.Milliseconds()} {
		st := tr.Status(at)
		if st == nil || st.Next == nil {
			t.Fatalf("status at %d: %+v", at, st)
		}
		next := at + period.Milliseconds()
		if st.Dev != DevOf(key, period, mac, at) || *st.Next != DevOf(key, period, mac, next) || st.EveryMS != 10_000 {
			t.Fatalf("status at %d: %+v", at, st)
		}
		b, _ := json.Marshal(Status{V: 1, State: "online", Tx: st})
		if strings.Contains(string(b), hex.EncodeToString(mac[:])) || !strings.Contains(string(b), `"tx":{"dev":"`+st.Dev.String()) {
			t.Fatalf("status %s", b)
		}
	}
	if _, err := NewTransmitter(TransmitConfig{MAC: MAC{1, 2, 3, 4, 5, 6}, Pseudo: NewPseudonymizer(key, 0)}, nil); err == nil {
		t.Fatal("a group address was taken as the transmit address")
	}
}
