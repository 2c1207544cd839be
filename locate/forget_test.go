package locate

import (
	"testing"

	"github.com/passant/passant/wire"
)

// Forget drops the pseudonyms asked for from the tracker's memory, and
// their live tracks, and keeps the others.
func TestTrackerForget(t *testing.T) {
	tr := &Tracker{devs: map[wire.Dev]int32{}, byNum: map[int32]*track{}}
	for _, d := range []wire.Dev{1, 2, 3, 4, 5} {
		tr.addDev(d, devEntry{track: int32(d), last: 10})
		k := &track{num: int32(d), dev: d}
		tr.live = append(tr.live, k)
		tr.byNum[k.num] = k
	}
	tr.Forget(func(d wire.Dev) bool { return d == 2 || d == 5 || d == 9 })
	if len(tr.devList) != 3 || len(tr.devs) != 3 {
		t.Fatalf("%d slots, %d in the map, want 3", len(tr.devList), len(tr.devs))
	}
	for _, d := range []wire.Dev{1, 3, 4} {
		i, ok := tr.devs[d]
		if !ok || tr.devList[i].dev != d || tr.devList[i].track != int32(d) {
			t.Fatalf("pseudonym %d lost or misplaced", d)
		}
	}
	for _, d := range []wire.Dev{2, 5} {
		if _, ok := tr.devs[d]; ok {
			t.Fatalf("pseudonym %d kept", d)
		}
		if tr.byNum[int32(d)] != nil {
			t.Fatalf("track of pseudonym %d kept", d)
		}
	}
	if len(tr.live) != 3 || tr.live[0].dev != 1 || tr.live[1].dev != 3 || tr.live[2].dev != 4 {
		t.Fatalf("live tracks %v", tr.live)
	}
}
