package ingest

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// TestPayloadConn reads a stream of packets through payloadConn as the MQTT
// client reads them: every packet but PUBLISH comes through byte for byte;
// a PUBLISH packet comes with its type, flags, topic and packet identifier
// and a token for a payload, which takes back the payload as sent, once
// (a payload that looks like a token included).
func TestPayloadConn(t *testing.T) {
	big := bytes.Repeat([]byte(`{"t":1,"dev":"0123456789abcdef"}`), 6000) // a remaining length of three bytes
	forged := append([]byte{0}, 0, 0, 0, 0, 0, 0, 0, 1)
	var sent []packets.ControlPacket
	add := func(cp packets.ControlPacket) { sent = append(sent, cp) }
	add(packets.NewControlPacket(packets.Connack))
	for i, pl := range [][]byte{big, []byte(`{"v":1}`), forged, nil, big[:200]} {
		p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
		p.TopicName, p.Qos, p.Dup, p.Retain, p.Payload = "passant/shop/s1/obs", byte(i%2), i == 2, i == 4, pl
		if p.Qos > 0 {
			p.MessageID = uint16(100 + i)
		}
		add(p)
	}
	suback := packets.NewControlPacket(packets.Suback).(*packets.SubackPacket)
	suback.MessageID, suback.ReturnCodes = 7, []byte{1, 1}
	add(suback)
	add(packets.NewControlPacket(packets.Pingresp))
	var stream bytes.Buffer
	for _, cp := range sent {
		if err := cp.Write(&stream); err != nil {
			t.Fatal(err)
		}
	}
	p := &payloads{}
	p.connected()
	c := &payloadConn{r: bufio.NewReaderSize(&stream, connBuffer), payloads: p}
	for i, want := range sent {
		got, err := packets.ReadPacket(c)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		wp, ok := want.(*packets.PublishPacket)
		if !ok {
			var a, b bytes.Buffer
			want.Write(&a)
			got.Write(&b)
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Errorf("packet %d: got %v, want %v", i, got, want)
			}
			continue
		}
		gp, ok := got.(*packets.PublishPacket)
		if !ok {
			t.Fatalf("packet %d: got %v, want a PUBLISH packet", i, got)
		}
		if gp.TopicName != wp.TopicName || gp.Qos != wp.Qos || gp.MessageID != wp.MessageID || gp.Dup != wp.Dup || gp.Retain != wp.Retain {
			t.Errorf("packet %d: got %q qos %d id %d dup %v retain %v, want %q %d %d %v %v", i,
				gp.TopicName, gp.Qos, gp.MessageID, gp.Dup, gp.Retain, wp.TopicName, wp.Qos, wp.MessageID, wp.Dup, wp.Retain)
		}
		if !isToken(gp.Payload) {
			t.Fatalf("packet %d: payload %q is not a token", i, gp.Payload)
		}
		pl, ok := p.take(gp.Payload)
		if !ok || !bytes.Equal(pl, wp.Payload) {
			t.Errorf("packet %d: token gave %d bytes (%v), want %d", i, len(pl), ok, len(wp.Payload))
		}
		if _, ok := p.take(gp.Payload); ok {
			t.Errorf("packet %d: token taken twice", i)
		}
	}
	if _, err := packets.ReadPacket(c); err == nil {
		t.Error("read past the end of the stream")
	}
	if len(p.m) != 0 {
		t.Errorf("%d payloads left", len(p.m))
	}
}

// TestPayloadsConnected: a new connection drops the payloads held from
// connections before the last one, not the last one's.
func TestPayloadsConnected(t *testing.T) {
	p := &payloads{}
	var tokens [][]byte
	for range 3 {
		p.connected()
		tok := append([]byte{0}, make([]byte, 8)...)
		n := p.put([]byte("x"))
		for k := range 8 {
			tok[8-k] = byte(n >> (8 * k))
		}
		tokens = append(tokens, tok)
	}
	for i, want := range []bool{false, true, true} {
		if _, ok := p.take(tokens[i]); ok != want {
			t.Errorf("connection %d of 3: payload held %v, want %v", i+1, ok, want)
		}
	}
}

// TestPayloadConnMalformed: a PUBLISH packet shorter than its topic is an
// error, as the client's own reading makes it.
func TestPayloadConnMalformed(t *testing.T) {
	for _, b := range [][]byte{{0x32, 1, 0}, {0x32, 4, 0, 5, 'a', 'b'}, {0x32, 0x80, 0x80, 0x80, 0x80, 1}} {
		c := &payloadConn{r: bufio.NewReader(bytes.NewReader(b)), payloads: &payloads{}}
		if _, err := packets.ReadPacket(c); err == nil {
			t.Errorf("% x read without an error", b)
		}
	}
}

// BenchmarkReadPublish reads PUBLISH packets of 136 KB (a batch of 1,220
// observations) as the MQTT client does: from the connection itself
// (conn=client: a read per header byte, the packet into one buffer, the
// payload copied into a second) or through payloadConn (conn=own: the
// payload read once into its own buffer, taken back by its token). The
// connection is an in-memory stream read 64 KB at a time, as a socket
// hands over a burst.
func BenchmarkReadPublish(b *testing.B) {
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.TopicName, p.Qos, p.MessageID = "passant/shop/s1/obs", 1, 7
	p.Payload = bytes.Repeat([]byte(`{"t":1764850000001,"dev":"0123456789abcdef","rssi":-67,"ch":6,"kind":"probe","rand":true,"seq":1234},`), 1220)
	var pkt bytes.Buffer
	if err := p.Write(&pkt); err != nil {
		b.Fatal(err)
	}
	stream := bytes.Repeat(pkt.Bytes(), 64)
	for _, own := range []bool{false, true} {
		name := "conn=client"
		if own {
			name = "conn=own"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(p.Payload)))
			b.ReportAllocs()
			r := &chunked{chunk: 64 << 10}
			pl := &payloads{}
			conn := &payloadConn{r: bufio.NewReaderSize(r, connBuffer), payloads: pl}
			for b.Loop() {
				if len(r.data) == 0 && conn.r.Buffered() == 0 {
					r.data = stream
				}
				var c io.Reader = r
				if own {
					c = conn
				}
				cp, err := packets.ReadPacket(c)
				if err != nil {
					b.Fatal(err)
				}
				payload := cp.(*packets.PublishPacket).Payload
				if own {
					var ok bool
					if payload, ok = pl.take(payload); !ok {
						b.Fatal("no payload for the token")
					}
				}
				if len(payload) != len(p.Payload) {
					b.Fatalf("payload of %d bytes, want %d", len(payload), len(p.Payload))
				}
			}
		})
	}
}

// chunked is a stream read at most chunk bytes at a time.
type chunked struct {
	data  []byte
	chunk int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.chunk)], c.data)
	c.data = c.data[n:]
	return n, nil
}
