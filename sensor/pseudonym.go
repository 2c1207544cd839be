// Package sensor turns 802.11 frames heard by a sniffer node into the
// contract's observation batches: capture, decoding, pseudonymisation,
// batching and publishing over MQTT. Raw MAC addresses never leave it.
package sensor

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"math"
	"time"

	"github.com/passant/passant/wire"
)

// DefaultRotation is the default key rotation period.
const DefaultRotation = 720 * time.Hour

// EpochKey derivation labels, from the contract.
const (
	labelEpoch0 = "passant-epoch-0"
	labelNext   = "passant-next"
)

// SiteKey turns the bytes of a key file into the site key: trailing white
// space removed. An empty key is an error.
func SiteKey(file []byte) ([]byte, error) {
	k := bytes.TrimRight(file, " \t\r\n\v\f")
	if len(k) == 0 {
		return nil, errors.New("sensor: the site key is empty")
	}
	return k, nil
}

// Epoch returns the key epoch of time t (Unix ms): floor(t / period), or 0
// when period is 0 (never rotate).
func Epoch(t int64, period time.Duration) int64 {
	p := period.Milliseconds()
	if p <= 0 {
		return 0
	}
	e := t / p
	if t < 0 && t%p != 0 {
		e--
	}
	return e
}

// EpochKey derives the key of epoch e from the site key:
// K0 = HMAC-SHA256(site key, "passant-epoch-0"), K(e+1) = HMAC-SHA256(K(e), "passant-next").
func EpochKey(siteKey []byte, e int64) []byte {
	k := hmacSum(siteKey, []byte(labelEpoch0))
	return NextKeys(k, e)
}

// NextKeys steps an epoch key n epochs forward.
func NextKeys(k []byte, n int64) []byte {
	for ; n > 0; n-- {
		k = hmacSum(k, []byte(labelNext))
	}
	return k
}

func hmacSum(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

// Pseudonymizer maps MAC addresses to the contract's pseudonyms:
// dev = first 8 bytes of HMAC-SHA256(K(e), mac). It holds either the site key
// (and can derive any epoch's key) or one epoch's key (and can only move
// forward, forgetting each key once its epoch is over, so a stolen node
// reveals no past pseudonym). It is not safe for concurrent use.
type Pseudonymizer struct {
	siteKey []byte // nil when given only an epoch key
	period  time.Duration

	epoch    int64
	key      []byte
	onRotate func(epoch int64, key []byte)
	h        hash.Hash
	sum      [sha256.Size]byte
	cache    map[[6]byte]wire.Dev
	// With the site key: the states of the last epochs used, so that input
	// that goes back and forth between epochs (several capture files)
	// does not derive the keys again each time.
	recent []epochState
}

type epochState struct {
	epoch int64
	key   []byte
	h     hash.Hash
	cache map[[6]byte]wire.Dev
}

// cacheSize bounds the per-epoch cache of pseudonyms; maxRecent the
// epochs kept besides the current one (site key only).
const (
	cacheSize = 1 << 14
	maxRecent = 8
)

// NewPseudonymizer uses the site key with the given rotation period (0:
// never rotate).
func NewPseudonymizer(siteKey []byte, period time.Duration) *Pseudonymizer {
	return &Pseudonymizer{siteKey: bytes.Clone(siteKey), period: period, epoch: -1 << 62}
}

// NewEpochPseudonymizer uses only the key of epoch e.
func NewEpochPseudonymizer(epochKey []byte, e int64, period time.Duration) *Pseudonymizer {
	p := &Pseudonymizer{period: period}
	p.setKey(e, bytes.Clone(epochKey))
	return p
}

func (p *Pseudonymizer) setKey(e int64, k []byte) {
	for i := range p.key {
		p.key[i] = 0
	}
	moved := p.key != nil
	p.epoch, p.key = e, k
	p.h = hmac.New(sha256.New, k)
	p.cache = make(map[[6]byte]wire.Dev)
	if moved && p.onRotate != nil {
		p.onRotate(e, bytes.Clone(k))
	}
}

// OnRotate calls fn with each new epoch and its key when the
// Pseudonymizer moves to it (not for the first key). A node that holds
// only an epoch key uses it to overwrite its key file, so that the file
// never holds a past epoch's key.
func (p *Pseudonymizer) OnRotate(fn func(epoch int64, key []byte)) { p.onRotate = fn }

// KeyEnd returns when the epoch whose key the Pseudonymizer holds ends
// (Unix ms) when it holds only an epoch key: a frame from then on moves the
// key forward for good. With the site key, or no rotation, it returns
// math.MaxInt64.
func (p *Pseudonymizer) KeyEnd() int64 {
	ms := p.period.Milliseconds()
	if p.siteKey != nil || ms <= 0 || p.epoch >= math.MaxInt64/ms-1 {
		return math.MaxInt64
	}
	return (p.epoch + 1) * ms
}

// Period returns the rotation period (0: never).
func (p *Pseudonymizer) Period() time.Duration { return p.period }

// ErrPastEpoch is returned for a time before the epoch of a node that holds
// only an epoch key.
var ErrPastEpoch = errors.New("sensor: time before the epoch whose key this node holds")

// Dev returns the pseudonym of mac at time t (Unix ms).
func (p *Pseudonymizer) Dev(mac [6]byte, t int64) (wire.Dev, error) {
	e := Epoch(t, p.period)
	if e != p.epoch {
		switch {
		case p.siteKey != nil:
			p.switchEpoch(e)
		case e < p.epoch:
			return 0, fmt.Errorf("%w (epoch %d < %d)", ErrPastEpoch, e, p.epoch)
		default:
			p.setKey(e, NextKeys(p.key, e-p.epoch))
		}
	}
	if d, ok := p.cache[mac]; ok {
		return d, nil
	}
	p.h.Reset()
	p.h.Write(mac[:])
	d := wire.DevFromBytes(p.h.Sum(p.sum[:0]))
	if len(p.cache) >= cacheSize {
		clear(p.cache)
	}
	p.cache[mac] = d
	return d, nil
}

// switchEpoch moves a site-key Pseudonymizer to epoch e, keeping the
// state of the epoch it leaves among the recent ones.
func (p *Pseudonymizer) switchEpoch(e int64) {
	if p.key != nil {
		if len(p.recent) == maxRecent {
			clear(p.recent[0].key)
			copy(p.recent, p.recent[1:])
			p.recent = p.recent[:maxRecent-1]
		}
		p.recent = append(p.recent, epochState{p.epoch, p.key, p.h, p.cache})
	}
	for i, st := range p.recent {
		if st.epoch == e {
			p.epoch, p.key, p.h, p.cache = st.epoch, st.key, st.h, st.cache
			p.recent = append(p.recent[:i], p.recent[i+1:]...)
			return
		}
	}
	// Derive K(e): forward from the nearest earlier epoch known, else
	// from the site key.
	var from []byte
	var fromEpoch int64
	for _, st := range p.recent {
		if st.epoch < e && e-st.epoch < 1<<20 && (from == nil || st.epoch > fromEpoch) {
			from, fromEpoch = st.key, st.epoch
		}
	}
	var k []byte
	if from != nil {
		k = NextKeys(from, e-fromEpoch)
	} else {
		k = EpochKey(p.siteKey, e)
	}
	p.epoch, p.key = e, k
	p.h = hmac.New(sha256.New, k)
	p.cache = make(map[[6]byte]wire.Dev)
}

// Key returns the epoch of time t and its key (for `passant key`).
func (p *Pseudonymizer) Key(t int64) (int64, []byte, error) {
	if _, err := p.Dev([6]byte{}, t); err != nil {
		return 0, nil, err
	}
	return p.epoch, bytes.Clone(p.key), nil
}

// DevOf is a convenience for tests and tools: the pseudonym of mac at t under
// siteKey and period.
func DevOf(siteKey []byte, period time.Duration, mac [6]byte, t int64) wire.Dev {
	k := EpochKey(siteKey, Epoch(t, period))
	return wire.DevFromBytes(hmacSum(k, mac[:]))
}

// Clone returns a Pseudonymizer with the same key material (the site key,
// or the epoch key it holds now) and period, and no OnRotate. It is for
// another goroutine; call it before p is used concurrently.
func (p *Pseudonymizer) Clone() *Pseudonymizer {
	if p.siteKey != nil {
		return NewPseudonymizer(p.siteKey, p.period)
	}
	return NewEpochPseudonymizer(p.key, p.epoch, p.period)
}

// maxEpochs bounds Pseudonyms' work: a rotation of a millisecond over a
// year would be 3*10^10 epochs.
const maxEpochs = 1 << 20

// Pseudonyms returns the pseudonyms of each of macs in every key epoch that
// overlaps [from, to] (Unix ms), by epoch then in the order of macs: every
// pseudonym a site's store may hold of them when it holds data from `from`
// on (the erasure of a person, `passant forget`). It needs the site key: an
// epoch key cannot give the pseudonyms of the epochs before its own.
func Pseudonyms(siteKey []byte, period time.Duration, macs [][6]byte, from, to int64) ([]wire.Dev, error) {
	e0, e1 := Epoch(from, period), Epoch(to, period)
	if e1 < e0 {
		e0, e1 = e1, e0
	}
	if e1-e0 >= maxEpochs {
		return nil, fmt.Errorf("sensor: %d key epochs between %d and %d: too many", e1-e0+1, from, to)
	}
	out := make([]wire.Dev, 0, int(e1-e0+1)*len(macs))
	k := EpochKey(siteKey, e0)
	for e := e0; ; e++ {
		h := hmac.New(sha256.New, k)
		for _, m := range macs {
			h.Reset()
			h.Write(m[:])
			out = append(out, wire.DevFromBytes(h.Sum(nil)))
		}
		if e == e1 {
			break
		}
		k = NextKeys(k, 1)
	}
	return out, nil
}
