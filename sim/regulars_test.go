package sim

import (
	"context"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestRegularsComeBack runs two days of a shop, each with a seed of its
// own: with a pool of regulars some shoppers' phones, which keep their
// address, are heard on both days (the same pseudonym); without one no
// shopper's address is heard twice (the days lie in one key epoch of the
// pseudonyms: 2026-11-03 to 2026-12-02). A profile of 0 in the first hour
// brings nobody but the staff then.
func TestRegularsComeBack(t *testing.T) {
	day1 := time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC)
	quietFirstHour := func(ms int64) float64 {
		if ms < day1.Add(time.Hour).UnixMilli() || ms >= day1.Add(24*time.Hour).UnixMilli() && ms < day1.Add(25*time.Hour).UnixMilli() {
			return 0
		}
		return 1
	}
	devs := func(regs *Regulars, day int) (map[wire.Dev]bool, *Truth) {
		from := day1.AddDate(0, 0, day)
		shop, err := NewShop("small", Config{Seed: uint64(100 + day), Regulars: regs, Profile: quietFirstHour})
		if err != nil {
			t.Fatal(err)
		}
		tr := &Truth{}
		if err := shop.Run(context.Background(), from, from.Add(2*time.Hour), func(string, *wire.Batch) error { return nil }, tr); err != nil {
			t.Fatal(err)
		}
		out := map[wire.Dev]bool{}
		for _, b := range tr.Bursts {
			if b.Class == Shopper {
				if b.T < from.Add(time.Hour).UnixMilli() {
					t.Fatalf("a shopper at %s, in the profile's quiet hour", time.UnixMilli(b.T).UTC())
				}
				if !b.Rand {
					out[b.Dev] = true
				}
			}
		}
		return out, tr
	}
	common := func(regs *Regulars) int {
		a, _ := devs(regs, 0)
		b, _ := devs(regs, 1)
		n := 0
		for d := range a {
			if b[d] {
				n++
			}
		}
		return n
	}
	if n := common(nil); n != 0 {
		t.Errorf("without regulars %d shoppers' addresses were heard on both days", n)
	}
	regs := &Regulars{Seed: 7, N: 20, Share: 0.5}
	n := common(regs)
	if n < 3 {
		t.Errorf("with 20 regulars making half the shoppers, %d came on both days", n)
	}
	t.Logf("%d regulars came on both days", n)
}
