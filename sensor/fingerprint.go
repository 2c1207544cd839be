package sensor

import (
	"bytes"
	"crypto/sha256"
	"hash/maphash"

	"github.com/passant/passant/wire"
)

// Element ids that the fingerprint treats specially.
const (
	ieSSID   = 0
	ieDSSet  = 3
	ieVendor = 221
)

// Fingerprint computes the contract's capability fingerprint over the
// information elements of a probe request, in frame order: the first 4 bytes
// of SHA-256 over each element written as id, length and body, except that
// SSID (0) and DS Parameter Set (3) are left out and a vendor-specific
// element (221) contributes only its id, its 3-byte OUI and its type byte
// (no length; fewer bytes when the body is shorter). ies is the raw element
// list (id, len, body, ...); a truncated last element is left out. ok is false
// when there are no elements.
func Fingerprint(ies []byte) (fp [4]byte, ok bool) {
	var f fingerprinter
	return f.sum(ies)
}

// fingerprinter reuses its message buffer across frames.
type fingerprinter struct {
	msg []byte
}

func (f *fingerprinter) sum(ies []byte) (fp [4]byte, ok bool) {
	msg := f.msg[:0]
	n := 0
	for len(ies) >= 2 {
		id, l := ies[0], int(ies[1])
		if len(ies) < 2+l {
			break
		}
		body := ies[2 : 2+l]
		ies = ies[2+l:]
		n++
		switch id {
		case ieSSID, ieDSSet:
		case ieVendor:
			msg = append(append(msg, id), body[:min(4, len(body))]...)
		default:
			msg = append(append(msg, id, byte(l)), body...)
		}
	}
	f.msg = msg
	if n == 0 {
		return fp, false
	}
	sum := sha256.Sum256(msg)
	copy(fp[:], sum[:4])
	return fp, true
}

// fpCache remembers the fingerprints of recent element lists. A phone
// repeats the same elements in burst after burst, so most probe requests
// cost a hash of their bytes and a compare instead of a SHA-256, and the
// wire form (8 hex characters) is made once per distinct fingerprint.
type fpCache struct {
	f       fingerprinter
	seed    maphash.Seed
	entries map[uint64]fpEntry
	strs    map[[4]byte]string
}

type fpEntry struct {
	ies []byte
	fp  string
}

// fpCacheSize bounds both maps; they are emptied when full.
const fpCacheSize = 4096

// get returns the wire form of the fingerprint of ies; "" when there are no
// elements.
func (c *fpCache) get(ies []byte) string {
	if c.entries == nil {
		c.seed = maphash.MakeSeed()
		c.entries = make(map[uint64]fpEntry)
		c.strs = make(map[[4]byte]string)
	}
	h := maphash.Bytes(c.seed, ies)
	if e, ok := c.entries[h]; ok && string(e.ies) == string(ies) {
		return e.fp
	}
	fp, ok := c.f.sum(ies)
	s := ""
	if ok {
		if s, ok = c.strs[fp]; !ok {
			if len(c.strs) >= fpCacheSize {
				clear(c.strs)
			}
			s = wire.FormatFP(fp)
			c.strs[fp] = s
		}
	}
	if len(c.entries) >= fpCacheSize {
		clear(c.entries)
	}
	c.entries[h] = fpEntry{ies: bytes.Clone(ies), fp: s}
	return s
}
