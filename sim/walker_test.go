package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestWalker adds an installer's walk to a shop: the rest of the world is
// unchanged, the marks follow the walker (each within a metre or two of
// where the phone really was) less than 10 s apart, and the walker's frames
// come from one pseudonym.
func TestWalker(t *testing.T) {
	route := []wire.Point{{1, 1}, {3, 1}, {5, 1}, {7, 1}, {9, 1}, {9, 3}, {9, 5}, {7, 5}, {5, 5}, {3, 5}, {1, 5}}
	run := func(walk bool) (*Truth, *WalkerTruth, map[wire.Dev]int) {
		s, err := NewShop("small", Config{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		var wt *WalkerTruth
		if walk {
			if wt, err = s.AddWalker(Walker{Route: route, Start: testFrom.Add(time.Minute), Duration: 5 * time.Minute}); err != nil {
				t.Fatal(err)
			}
		}
		truth := &Truth{}
		frames := map[wire.Dev]int{}
		err = s.Run(context.Background(), testFrom, testFrom.Add(10*time.Minute), func(_ string, b *wire.Batch) error {
			for _, o := range b.Obs {
				frames[o.Dev]++
			}
			return nil
		}, truth)
		if err != nil {
			t.Fatal(err)
		}
		return truth, wt, frames
	}
	plain, _, _ := run(false)
	walked, wt, frames := run(true)
	var crowd []BurstTruth
	var mine []BurstTruth
	for _, b := range walked.Bursts {
		if b.Class == Installer {
			mine = append(mine, b)
		} else {
			crowd = append(crowd, b)
		}
	}
	if len(crowd) != len(plain.Bursts) {
		t.Fatalf("the crowd's bursts changed with a walker: %d, were %d", len(crowd), len(plain.Bursts))
	}
	for i := range crowd {
		if crowd[i] != plain.Bursts[i] {
			t.Fatalf("burst %d changed with a walker: %+v, was %+v", i, crowd[i], plain.Bursts[i])
		}
	}
	// A burst every 3-6 s for 5 minutes, all under one pseudonym.
	if len(mine) < 50 || len(mine) > 100 || frames[wt.Dev] < 50*10 {
		t.Errorf("%d walker bursts, %d frames of its pseudonym", len(mine), frames[wt.Dev])
	}
	for _, b := range mine {
		if b.Dev != wt.Dev || b.Rand {
			t.Fatalf("walker burst %+v, want dev %v", b, wt.Dev)
		}
	}
	ms := wt.Marks
	if len(ms) < 20 || ms[0].T != testFrom.Add(time.Minute).UnixMilli() {
		t.Fatalf("%d marks, first at %d", len(ms), ms[0].T)
	}
	for i := 1; i < len(ms); i++ {
		if gap := ms[i].T - ms[i-1].T; gap <= 0 || gap >= 10_000 || *ms[i].Dev != wt.Dev {
			t.Fatalf("mark %d: %d ms after the last, dev %v", i, gap, *ms[i].Dev)
		}
	}
	// Where the marks say the phone was (straight lines between them) is
	// within a metre or two of the truth.
	for _, b := range mine {
		k := 1
		for k < len(ms)-1 && ms[k].T < b.T {
			k++
		}
		a, c := ms[k-1], ms[k]
		f := math.Max(0, math.Min(1, float64(b.T-a.T)/float64(c.T-a.T)))
		x, y := a.X+f*(c.X-a.X), a.Y+f*(c.Y-a.Y)
		if e := math.Hypot(x-b.X, y-b.Y); e > 1.5 {
			t.Errorf("walker at (%.2f, %.2f) at %d, the marks say (%.2f, %.2f)", b.X, b.Y, b.T, x, y)
		}
	}
}

// TestTrueRadio: Config.Sensors fixes the sensors' true values, and a world
// with no exponent spread draws what it drew before.
func TestTrueRadio(t *testing.T) {
	s, _ := NewShop("small", Config{Seed: 2, Sensors: []SensorRadio{{RSSI1m: -50, Exponent: 3.3}, {Exponent: 2.2}}})
	r := s.Radio()
	if r[0].RSSI1m != -50 || r[0].Exponent != 3.3 || r[1].Exponent != 2.2 || r[2].Exponent != 2.9 || r[2].Offset5GHz != -7 {
		t.Errorf("radio %+v", r)
	}
	plain, _ := NewShop("small", Config{Seed: 2})
	if pr := plain.Radio(); pr[1].RSSI1m != r[1].RSSI1m || pr[3] != r[3] {
		t.Errorf("fixing sensors 1 and 2 changed others: %+v vs %+v", pr, r)
	}
	spread, _ := NewShop("small", Config{Seed: 2, ExponentSD: 0.3})
	sr := spread.Radio()
	if sr[0].RSSI1m != plain.Radio()[0].RSSI1m || sr[0].Exponent == 2.9 {
		t.Errorf("exponent spread: %+v", sr)
	}
}
