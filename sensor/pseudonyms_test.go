package sensor

import (
	"testing"
	"time"
)

// Pseudonyms gives, for every epoch from from's to to's, the pseudonym a
// sensor computes at a time inside it.
func TestPseudonymsEveryEpoch(t *testing.T) {
	key := []byte("site key")
	macs := [][6]byte{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}, {0xa4, 0x5e, 0x60, 0x01, 0x02, 0x03}}
	const day = int64(24 * 3600_000)
	for _, c := range []struct {
		period   time.Duration
		from, to int64
		epochs   int
	}{
		{DefaultRotation, 1796342400000 - 95*day, 1796342400000, 5}, // 95 days: epochs 689 to 693
		{DefaultRotation, 1796342400000, 1796342400000, 1},
		{0, 0, 1796342400000, 1}, // never rotated: one epoch
		{time.Hour, 10*3600_000 + 5, 12 * 3600_000, 3},
	} {
		got, err := Pseudonyms(key, c.period, macs, c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.epochs*len(macs) {
			t.Fatalf("period %v: %d pseudonyms, want %d", c.period, len(got), c.epochs*len(macs))
		}
		p := NewPseudonymizer(key, c.period)
		i := 0
		for e := Epoch(c.from, c.period); e <= Epoch(c.to, c.period); e++ {
			at := max(c.from, e*c.period.Milliseconds()+1)
			for _, m := range macs {
				want, _ := p.Dev(m, at)
				if got[i] != want || want != DevOf(key, c.period, m, at) {
					t.Fatalf("period %v epoch %d: %s, the sensor's %s", c.period, e, got[i], want)
				}
				i++
			}
		}
	}
	if _, err := Pseudonyms(key, time.Millisecond, macs, 0, 1796342400000); err == nil {
		t.Fatal("10^12 epochs: no error")
	}
}
