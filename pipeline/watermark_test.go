package pipeline

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRaiseHWKeepsOrder: after any raises, hwOrder is hw's positive values
// sorted (what watermark sorted for itself before).
func TestRaiseHWKeepsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		n := 1 + rng.IntN(8)
		p := &Pipeline{hw: make([]int64, n), hwOrder: make([]int64, 0, n)}
		for range 200 {
			si := rng.IntN(n)
			hw := p.hw[si] + 1 + rng.Int64N(3) // ties between sensors are common
			if rng.IntN(4) == 0 {
				hw = p.hw[(si+1)%n] + rng.Int64N(2) // the same value as another's
			}
			if hw <= p.hw[si] {
				continue
			}
			p.raiseHW(si, hw)
			var want []int64
			for _, h := range p.hw {
				if h > 0 {
					want = append(want, h)
				}
			}
			slices.Sort(want)
			if !slices.Equal(p.hwOrder, want) {
				t.Fatalf("hw %v: order %v, want %v", p.hw, p.hwOrder, want)
			}
		}
	}
}

// aheadSorting is quarantine.ahead as it was, sorting the others' times.
func aheadSorting(q *quarantine, s int, sent int64) bool {
	if q.n < 3 {
		return false
	}
	var v []int64
	newest := int64(-1 << 63)
	for p, t := range q.sent {
		if p != s && t > 0 {
			newest = max(newest, t)
		}
	}
	for p, t := range q.sent {
		if p != s && t > 0 && t >= newest-maxAhead {
			v = append(v, t)
		}
	}
	if len(v) < 2 {
		return false
	}
	slices.Sort(v)
	return sent-v[(len(v)-1)/2] > maxAhead
}

// TestAheadMatchesSorting: ahead on the kept order says what sorting the
// others' latest times said, with clocks that jump ahead and lag.
func TestAheadMatchesSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	checked := [2]int{}
	for range 300 {
		n := 1 + rng.IntN(8)
		q := newQuarantine(n)
		now := int64(1_000_000)
		for range 300 {
			s := rng.IntN(n)
			now += rng.Int64N(5000)
			sent := now + (rng.Int64N(5)-2)*rng.Int64N(2*maxAhead)
			if rng.IntN(10) == 0 {
				sent = q.sent[(s+1)%n] // ties
			}
			got, want := q.ahead(s, sent), aheadSorting(q, s, sent)
			if got != want {
				t.Fatalf("sent %v, sensor %d at %d: ahead %v, sorting %v", q.sent, s, sent, got, want)
			}
			if got {
				checked[1]++
			} else {
				checked[0]++
			}
			if sent > q.sent[s] {
				q.order = raiseSorted(q.order, q.sent[s], sent)
				q.sent[s] = sent
			}
		}
	}
	if checked[0] == 0 || checked[1] == 0 {
		t.Fatalf("ahead was %d times false, %d true: not both", checked[0], checked[1])
	}
}
