package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/passant/passant/wire"
)

// zeros reads as n zero bytes, holding none of them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), z.n))
	clear(p[:k])
	z.n -= int64(k)
	return k, nil
}

// TestPayloadConnHugePublish: a sensor's PUBLISH of 64 MB (a broker
// without a packet size limit passes it on; MQTT allows 256 MB) was read
// into a buffer of its whole claimed length before a byte of it came, to
// be rejected as too large afterwards. Now the subscriber keeps one byte
// over the largest batch, skips the rest, the batch is rejected as too
// large all the same, and the stream stays in step.
func TestPayloadConnHugePublish(t *testing.T) {
	const size = 64 << 20
	topic := "passant/shop/s1/obs"
	var head bytes.Buffer
	head.WriteByte(0x32) // PUBLISH, QoS 1
	n := 2 + len(topic) + 2 + size
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 128
		}
		head.WriteByte(d)
		if n == 0 {
			break
		}
	}
	head.Write([]byte{0, byte(len(topic))})
	head.WriteString(topic)
	head.Write([]byte{0, 9})
	var tail bytes.Buffer
	packets.NewControlPacket(packets.Pingresp).Write(&tail)
	p := &payloads{}
	p.connected()
	c := &payloadConn{r: bufio.NewReaderSize(io.MultiReader(&head, &zeros{size}, &tail), connBuffer), payloads: p}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := packets.ReadPacket(c)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 2*wire.MaxBatchLen {
		t.Errorf("a PUBLISH of %d MB made the subscriber allocate %d MB", size>>20, grew>>20)
	}
	pub, ok := got.(*packets.PublishPacket)
	if !ok || pub.TopicName != topic || pub.MessageID != 9 {
		t.Fatalf("got %v, want the PUBLISH on %s, id 9", got, topic)
	}
	payload, ok := p.take(pub.Payload)
	if !ok {
		t.Fatal("no payload for the token")
	}
	if _, _, _, err := decode("s1", payload); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("the payload kept (%d bytes) decodes with %v, want ErrTooLarge", len(payload), err)
	}
	if next, err := packets.ReadPacket(c); err != nil {
		t.Fatalf("the packet after: %v", err)
	} else if _, ok := next.(*packets.PingrespPacket); !ok {
		t.Fatalf("the packet after: %v, want PINGRESP", next)
	}
}

// claimsOver reports whether a packet of the stream claims a remaining
// length over limit (the fuzz target leaves those out: both readers would
// allocate it).
func claimsOver(data []byte, limit int) bool {
	for len(data) > 1 {
		v, i := 0, 1
		for ; i < 5 && i < len(data); i++ {
			v |= int(data[i]&127) << (7 * (i - 1))
			if data[i]&128 == 0 {
				break
			}
		}
		if v > limit {
			return true
		}
		if i+1+v > len(data) {
			return false
		}
		data = data[i+1+v:]
	}
	return false
}

// FuzzPayloadConn: the subscriber's own reading of the broker's stream
// (payloadConn) hands the MQTT client the packets the client would read
// itself: as many, of the same kinds, each PUBLISH with its topic, flags
// and packet identifier, and a token that gives back its payload.
func FuzzPayloadConn(f *testing.F) {
	var stream bytes.Buffer
	packets.NewControlPacket(packets.Connack).Write(&stream)
	for i, pl := range [][]byte{[]byte(`{"v":1}`), nil, {0, 0, 0, 0, 0, 0, 0, 0, 1}} {
		p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
		p.TopicName, p.Qos, p.Payload, p.MessageID = "passant/shop/s1/obs", byte(i%2), pl, uint16(i+1)
		p.Write(&stream)
	}
	packets.NewControlPacket(packets.Pingresp).Write(&stream)
	f.Add(stream.Bytes())
	f.Add([]byte{0x32, 4, 0, 5, 'a', 'b'})
	f.Add([]byte{0x36, 5, 0, 1, 'a', 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if claimsOver(data, 1<<16) {
			return
		}
		var want []packets.ControlPacket
		r := bytes.NewReader(data)
		for {
			cp, err := packets.ReadPacket(r)
			if err != nil {
				break
			}
			want = append(want, cp)
		}
		p := &payloads{}
		p.connected()
		c := &payloadConn{r: bufio.NewReader(bytes.NewReader(data)), payloads: p}
		for i := 0; ; i++ {
			got, err := packets.ReadPacket(c)
			if err != nil {
				if i < len(want) {
					t.Fatalf("packet %d: %v; the client reads %v", i, err, want[i])
				}
				return
			}
			if i >= len(want) {
				t.Fatalf("packet %d: %v, which the client does not read", i, got)
			}
			wp, ok := want[i].(*packets.PublishPacket)
			if !ok {
				var a, b bytes.Buffer
				want[i].Write(&a)
				got.Write(&b)
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Fatalf("packet %d: %v, want %v", i, got, want[i])
				}
				continue
			}
			gp, ok := got.(*packets.PublishPacket)
			if !ok || gp.TopicName != wp.TopicName || gp.Qos != wp.Qos || gp.MessageID != wp.MessageID || gp.Dup != wp.Dup || gp.Retain != wp.Retain {
				t.Fatalf("packet %d: %v, want %v", i, got, wp)
			}
			pl, ok := p.take(gp.Payload)
			if !ok || !bytes.Equal(pl, wp.Payload) {
				t.Fatalf("packet %d: the token gives %q (%v), want %q", i, pl, ok, wp.Payload)
			}
		}
	})
}
