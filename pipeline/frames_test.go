package pipeline

import (
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/wire"
)

// TestFrameTableMatchesMap checks frameTable against the map and ring of
// keys it replaces, over random frames with many repeats and evictions.
func TestFrameTableMatchesMap(t *testing.T) {
	for _, n := range []int{1, 3, 64, 1000} {
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		tab := newFrameTable(n)
		ref := map[frameKey]frameSeen{}
		var order []frameKey
		head := 0
		devs := 1 + n/2
		for op := 0; op < 200_000; op++ {
			k := frameKey{wire.Dev(rng.Uint64N(uint64(devs)) * 0x9e3779b97f4a7c15), rng.Int64N(8)}
			want, wok := ref[k]
			got, ok := tab.get(k)
			if ok != wok || got != want {
				t.Fatalf("n %d, op %d: get %v = %v %v, map %v %v", n, op, k, got, ok, want, wok)
			}
			if ok {
				continue
			}
			v := frameSeen{int32(rng.IntN(8)), int64(op)}
			if len(order) < n {
				order = append(order, k)
			} else {
				delete(ref, order[head])
				order[head] = k
				head = (head + 1) % n
			}
			ref[k] = v
			tab.add(k, v)
		}
	}
}

// BenchmarkFrameTable: a lookup per frame and an insert (with an eviction
// once full) per new one, as the quarantine's table of 16,384 frames sees
// them: each frame heard by about three sensors.
func BenchmarkFrameTable(b *testing.B) {
	tab := newFrameTable(quarKeep)
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]frameKey, 1<<16)
	for i := range keys {
		keys[i] = frameKey{wire.Dev(rng.Uint64()), int64(i % 4096)}
	}
	i := 0
	for b.Loop() {
		k := keys[(i/3)%len(keys)]
		if _, ok := tab.get(k); !ok {
			tab.add(k, frameSeen{int32(i % 3), int64(i)})
		}
		i++
	}
}
