package sensor

import (
	"crypto/sha256"
	"hash"
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

// fingerprinter reuses its hash state across frames.
type fingerprinter struct {
	h   hash.Hash
	buf [sha256.Size]byte
}

func (f *fingerprinter) sum(ies []byte) (fp [4]byte, ok bool) {
	if f.h == nil {
		f.h = sha256.New()
	}
	f.h.Reset()
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
			continue
		case ieVendor:
			f.h.Write([]byte{id})
			f.h.Write(body[:min(4, len(body))])
		default:
			f.h.Write([]byte{id, byte(l)})
			f.h.Write(body)
		}
	}
	if n == 0 {
		return fp, false
	}
	copy(fp[:], f.h.Sum(f.buf[:0]))
	return fp, true
}
