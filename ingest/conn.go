package ingest

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"sync"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/wire"
)

// The MQTT client (paho.mqtt.golang) reads a packet's fixed header a byte
// at a time (a read system call each), the rest of the packet into a
// buffer, and copies a PUBLISH packet's payload out of it into a second
// one: per burst message of 136 KB two allocations, both zeroed, and a
// copy, the largest part of its reading (docs/reliability.md, "Ingest
// cost"). The subscriber reads the connection itself (payloadConn): it
// reads through a small buffer, and takes every PUBLISH packet's payload
// out of the stream into a buffer of its own, read straight from the
// connection, handing the client the packet with a token of 9 bytes
// (tokenLen) in its place; onMessage takes the payload back by the
// token. Everything else (the packet's type and flags, topic, packet
// identifier, every other packet) reaches the client unchanged, so its
// session, QoS 1 handling and ordering are the client's as before.
//
// This is done for the client's tcp:// and ssl:// brokers without a proxy
// from the environment; WebSocket and Unix socket brokers keep the
// client's own dialling and reading.

// connBuffer is the read buffer of a connection: a packet's header and
// topic, and little of a large payload to copy twice (bufio reads
// straight into a buffer at least as large as its own).
const connBuffer = 4096

// tokenLen is the length of a payload token: 0x00 (no JSON starts with
// it), then the token's number, big-endian.
const tokenLen = 9

// payloads holds the payloads taken out of the stream until onMessage
// takes them back.
type payloads struct {
	mu   sync.Mutex
	next uint64
	m    map[uint64][]byte
	// conn and prev are the first tokens of the latest connection and of
	// the one before.
	conn, prev uint64

	// buf holds payload buffers given back (Subscriber.Release) for the
	// next payloads; nil: made at the first use.
	buf *Buffers
}

// Buffers holds payload buffers given back, at most maxFree bytes of them,
// for the next payloads: a burst then reads into memory in use already,
// instead of fresh memory that the runtime zeroes and the kernel faults in
// page by page. The subscribers of one server share one
// (Config.Buffers), so that a cluster instance's site sessions together
// keep maxFree, not maxFree each.
type Buffers struct {
	mu    sync.Mutex
	free  [][]byte
	bytes int
}

// buffers returns p's free list.
func (p *payloads) buffers() *Buffers {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.buf == nil {
		p.buf = &Buffers{}
	}
	return p.buf
}

// maxFree is how many bytes of payload buffers the free list holds at
// most (some 470 payloads of 1,220 observations).
const maxFree = 64 << 20

// alloc returns a buffer of n bytes for a payload: one given back, or a
// new one of whole runtime pages (so that a payload a little longer fits
// it later). Its bytes are not zeroed: the payload is read into all of it.
func (p *payloads) alloc(n int) []byte {
	f := p.buffers()
	f.mu.Lock()
	for i, k := len(f.free)-1, 0; i >= 0 && k < 8; i, k = i-1, k+1 {
		if b := f.free[i]; cap(b) >= n {
			last := len(f.free) - 1
			f.free[i], f.free[last] = f.free[last], nil
			f.free = f.free[:last]
			f.bytes -= cap(b)
			f.mu.Unlock()
			return b[:n]
		}
	}
	f.mu.Unlock()
	return make([]byte, n, (n+8191)&^8191)
}

// release gives a payload's buffer back for a later payload; b must not be
// used after.
func (p *payloads) release(b []byte) {
	if cap(b) < connBuffer {
		return
	}
	f := p.buffers()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bytes+cap(b) > maxFree {
		return
	}
	f.free = append(f.free, b[:0])
	f.bytes += cap(b)
}

// put keeps payload and returns its token's number.
func (p *payloads) put(payload []byte) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	if p.m == nil {
		p.m = map[uint64][]byte{}
	}
	p.m[p.next] = payload
	return p.next
}

// isToken reports whether a payload as the client hands it over is a
// token (on a connection the subscriber reads, every payload is one).
func isToken(p []byte) bool { return len(p) == tokenLen && p[0] == 0 }

// take returns the payload that token stands for, once.
func (p *payloads) take(token []byte) (payload []byte, ok bool) {
	n := binary.BigEndian.Uint64(token[1:])
	p.mu.Lock()
	defer p.mu.Unlock()
	payload, ok = p.m[n]
	delete(p.m, n)
	return payload, ok
}

// connected starts the tokens of a new connection and drops the payloads
// still held from connections before the last: the client no longer
// delivers their messages (it delivers none read on a connection it lost
// long after; the broker sends them again).
func (p *payloads) connected() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prev, p.conn = p.conn, p.next+1
	for n := range p.m {
		if n < p.prev {
			delete(p.m, n)
		}
	}
}

// ownReading reports whether the subscriber reads the connection to broker
// itself: a tcp:// or ssl:// URL (and their aliases), dialled as the client
// would, with no proxy configured in the environment.
func ownReading(broker string) bool {
	u, err := url.Parse(broker)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
	default:
		return false
	}
	for _, v := range []string{"all_proxy", "ALL_PROXY"} {
		if os.Getenv(v) != "" {
			return false
		}
	}
	return true
}

// open is the client's connection function (ownReading): it dials as the
// client does and reads the connection through payloadConn.
func (p *payloads) open(uri *url.URL, opts mqtt.ClientOptions) (net.Conn, error) {
	d := opts.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: opts.ConnectTimeout}
	}
	var c net.Conn
	var err error
	switch uri.Scheme {
	case "tcp", "mqtt":
		c, err = d.Dial("tcp", uri.Host)
	default:
		c, err = tls.DialWithDialer(d, "tcp", uri.Host, opts.TLSConfig)
	}
	if err != nil {
		return nil, err
	}
	p.connected()
	return &payloadConn{Conn: c, r: bufio.NewReaderSize(c, connBuffer), payloads: p}, nil
}

// payloadConn is a broker connection as the client reads it: every PUBLISH
// packet with its payload replaced by a token.
type payloadConn struct {
	net.Conn
	r        *bufio.Reader
	out      []byte // the packet the client reads, from off on
	off      int
	payloads *payloads
}

// Read hands the client the packets, rewritten.
func (c *payloadConn) Read(p []byte) (int, error) {
	if c.off == len(c.out) {
		if err := c.packet(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out[c.off:])
	c.off += n
	return n, nil
}

// mqttPublish is the PUBLISH packet's type (the high four bits of its first
// byte).
const mqttPublish = 3

// maxPayload is the most of a PUBLISH packet's payload kept: one byte over
// the largest batch, so that a larger one is rejected as too large without
// being held. A sensor's message through a broker without a packet size
// limit may claim 256 MB, and the payload was allocated whole before a
// byte of it was read.
const maxPayload = wire.MaxBatchLen + 1

// errMalformed is a PUBLISH packet shorter than its variable header.
var errMalformed = errors.New("ingest: malformed PUBLISH packet")

// packet reads the next packet into out: as it came, or a PUBLISH packet
// with its payload's token.
func (c *payloadConn) packet() error {
	c.out, c.off = c.out[:0], 0
	first, err := c.r.ReadByte()
	if err != nil {
		return err
	}
	length, err := c.remainingLength()
	if err != nil {
		return err
	}
	if first>>4 != mqttPublish {
		c.out = appendLength(append(c.out, first), length)
		return c.readOut(length)
	}
	// topic length, topic, packet identifier when QoS > 0 (as the client
	// reads it), payload
	var tl [2]byte
	if length < 2 {
		return errMalformed
	}
	if _, err := io.ReadFull(c.r, tl[:]); err != nil {
		return err
	}
	header := 2 + int(binary.BigEndian.Uint16(tl[:]))
	if (first>>1)&3 > 0 {
		header += 2
	}
	if length < header {
		return errMalformed
	}
	c.out = appendLength(append(c.out, first), header+tokenLen)
	c.out = append(c.out, tl[:]...)
	if err := c.readOut(header - 2); err != nil {
		return err
	}
	n := length - header
	payload := c.payloads.alloc(min(n, maxPayload))
	if _, err := io.ReadFull(c.r, payload); err != nil {
		return err
	}
	if n > len(payload) {
		// Too large to be a batch: its first maxPayload bytes stand for
		// it (wire rejects them as too large), the rest is skipped.
		if _, err := io.CopyN(io.Discard, c.r, int64(n-len(payload))); err != nil {
			return err
		}
	}
	c.out = binary.BigEndian.AppendUint64(append(c.out, 0), c.payloads.put(payload))
	return nil
}

// readOut appends n bytes of the connection to out.
func (c *payloadConn) readOut(n int) error {
	k := len(c.out)
	c.out = append(c.out, make([]byte, n)...)
	_, err := io.ReadFull(c.r, c.out[k:])
	return err
}

// remainingLength reads the fixed header's remaining length (a variable
// byte integer of at most four bytes).
func (c *payloadConn) remainingLength() (int, error) {
	v := 0
	for i := range 4 {
		b, err := c.r.ReadByte()
		if err != nil {
			return 0, err
		}
		v |= int(b&127) << (7 * i)
		if b&128 == 0 {
			return v, nil
		}
	}
	return 0, errors.New("ingest: malformed remaining length")
}

// appendLength appends n as a remaining length.
func appendLength(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 128
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}
