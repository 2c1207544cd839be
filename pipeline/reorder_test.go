package pipeline

import (
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/wire"
)

// TestReorderMatchesHeap checks the reorder buffer against one heap of all
// frames: per sensor, times that mostly rise (with steps back, ties across
// sensors and repeats), released up to random times, then flushed.
func TestReorderMatchesHeap(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		sensors := 1 + rng.IntN(8)
		r := newReorder(sensors)
		var ref frameHeap
		last := make([]int64, sensors)
		var order uint64
		var cursor int64
		var popped int
		check := func(upTo int64) {
			for {
				gp := r.pop(upTo)
				ok := gp != nil
				wok := len(ref) > 0 && ref[0].t <= upTo
				if ok != wok {
					t.Fatalf("seed %d: pop(%d) = %v, heap %v", seed, upTo, ok, wok)
				}
				if !ok {
					break
				}
				want := ref.pop()
				if got := *gp; got != want {
					t.Fatalf("seed %d, pop %d: %+v, heap %+v", seed, popped, got, want)
				}
				popped++
				if r.len() != len(ref) {
					t.Fatalf("seed %d: len %d, heap %d", seed, r.len(), len(ref))
				}
			}
		}
		for op := 0; op < 50_000; op++ {
			s := rng.IntN(sensors)
			tt := last[s] + rng.Int64N(20) - 2 // sometimes back, sometimes equal
			if rng.IntN(50) == 0 {
				tt -= rng.Int64N(200)
			}
			last[s] = max(last[s], tt)
			if tt <= cursor {
				continue // late: the pipeline does not push it
			}
			order++
			f := frame{t: tt, order: order, sensor: int32(s), obs: wire.Observation{T: tt, Dev: wire.Dev(order), Seq: int(order % 4096)}}
			r.push(f.t, f.order, f.sensor, &f.obs)
			ref.push(f)
			if rng.IntN(10) == 0 {
				upTo := last[rng.IntN(sensors)] - rng.Int64N(100)
				if upTo > cursor {
					check(upTo)
					cursor = upTo
				}
			}
		}
		check(1 << 62)
		if r.len() != 0 || popped != int(order) {
			t.Fatalf("seed %d: %d left, %d of %d popped", seed, r.len(), popped, order)
		}
	}
}

// TestDeadlineQueueOrder checks that the fuser's deadlines are pushed in
// order of time, which its first-in, first-out queue relies on.
func TestDeadlineQueueOrder(t *testing.T) {
	w := &world{site: testSite(t), offsets: []int64{0, 120, -80, 30}, rng: rand.New(rand.NewPCG(5, 5))}
	var devs []*device
	for i := 0; i < 50; i++ {
		devs = append(devs, &device{dev: wire.Dev(i + 1), x: w.rng.Float64() * 20, y: w.rng.Float64()*23 - 8})
	}
	p, _ := New(Config{Site: testSite(t)}, &collect{})
	var pushed int
	for _, bb := range w.batches(devs, 1_764_850_000_000, 2*60_000) {
		p.Accept(0, bb, wire.Drops{})
		q := p.fuse.closing.q
		for i := p.fuse.closing.head + 1; i < len(q); i++ {
			if q[i].at < q[i-1].at {
				t.Fatalf("deadline %d at %d after %d", i, q[i].at, q[i-1].at)
			}
		}
		pushed += len(q) - p.fuse.closing.head
	}
	if pushed == 0 {
		t.Fatal("no deadlines waited")
	}
}
