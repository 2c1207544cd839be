package pipeline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/checkpoint"
	"github.com/passant/passant/wire"
)

// Forget, halfway through a minute of three phones, takes one of them out
// of everything the pipeline holds: no fix of it comes out after (its
// frames waiting and its burst under way included), and a checkpoint of
// the pipeline holds its pseudonym nowhere; before, one did.
func TestPipelineForget(t *testing.T) {
	site := testSite(t)
	w := &world{site: site, offsets: []int64{0, 0, 0, 0}, rng: rand.New(rand.NewPCG(3, 1))}
	const gone = wire.Dev(0x1e3779b97f4a7c05)
	devs := []*device{{dev: 0x1e3779b97f4a7c01, x: 5, y: 5}, {dev: gone, x: 12, y: 8}, {dev: 0x1e3779b97f4a7c0b, x: 15, y: 3}}
	bs := w.batches(devs, 1796342400000, 120_000)
	c := &collect{}
	p, err := New(Config{Site: site}, c)
	if err != nil {
		t.Fatal(err)
	}
	holds := func() bool {
		var b bytes.Buffer
		if err := checkpoint.Write(&b, CheckpointKeep, p); err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(b.Bytes(), binary.AppendUvarint(nil, uint64(gone))) ||
			bytes.Contains(b.Bytes(), binary.LittleEndian.AppendUint64(nil, uint64(gone)))
	}
	half := len(bs) / 2
	for i, b := range bs {
		if i == half {
			if !holds() {
				t.Fatal("the pipeline's checkpoint does not hold the pseudonym before: the search finds nothing")
			}
			seen := 0
			for _, q := range c.pos {
				if q.Dev == gone {
					seen++
				}
			}
			if seen == 0 {
				t.Fatal("no fix of the phone before the erasure")
			}
			p.Forget(func(d wire.Dev) bool { return d == gone }, func(string) bool { return false })
			c.pos = c.pos[:0]
		}
		cp := *b
		cp.Obs = nil
		for _, o := range b.Obs {
			if i < half || o.Dev != gone { // the server drops its frames after the erasure
				cp.Obs = append(cp.Obs, o)
			}
		}
		if err := p.Accept(0, &cp, wire.Drops{}); err != nil && !errors.Is(err, ErrDuplicate) {
			t.Fatal(err)
		}
	}
	if holds() {
		t.Error("the pipeline's checkpoint holds the pseudonym after the erasure")
	}
	p.Flush()
	others := 0
	for _, q := range c.pos {
		if q.Dev == gone {
			t.Fatalf("a fix of the erased phone after the erasure: %+v", q)
		}
		others++
	}
	if others == 0 {
		t.Fatal("no fixes of the other phones after the erasure")
	}
}
