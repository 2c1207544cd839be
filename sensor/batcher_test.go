package sensor

import (
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

func TestBatcherCutsByIntervalAndSize(t *testing.T) {
	b := NewBatcher(BatcherConfig{Sensor: "s1", Boot: 1000, Interval: time.Second, MaxObs: 3})
	var got []wire.Batch
	keep := func(x *wire.Batch) {
		if x != nil {
			c := *x
			c.Obs = append([]wire.Observation(nil), x.Obs...)
			got = append(got, c)
		}
	}
	for _, t := range []int64{0, 100, 999, 1000, 1500, 1600, 1700, 5000} {
		keep(b.Add(wire.Observation{T: 10_000 + t, RSSI: -50, Seq: -1}, 10_000+t))
	}
	if b.Due(15_999) || !b.Due(16_000) {
		t.Error("Due wrong around the interval")
	}
	keep(b.Flush(16_000))
	if b.Flush(17_000) != nil {
		t.Error("Flush of an empty batcher returned a batch")
	}
	want := [][]int64{{0, 100, 999}, {1000, 1500, 1600}, {1700}, {5000}}
	if len(got) != len(want) {
		t.Fatalf("got %d batches, want %d", len(got), len(want))
	}
	for i, g := range got {
		if g.ID != int64(i+1) || g.Boot != 1000 || g.Sensor != "s1" || g.V != 1 || len(g.Obs) != len(want[i]) {
			t.Fatalf("batch %d: %+v", i, g)
		}
		for j, o := range g.Obs {
			if o.T != 10_000+want[i][j] {
				t.Errorf("batch %d obs %d: t=%d", i, j, o.T)
			}
		}
		if g.Sent < g.Obs[len(g.Obs)-1].T {
			t.Errorf("batch %d sent %d before its last observation", i, g.Sent)
		}
	}
}

func BenchmarkBatcherAdd(b *testing.B) {
	bt := NewBatcher(BatcherConfig{Sensor: "s1", Interval: time.Second})
	o := wire.Observation{RSSI: -60, Seq: 1, Kind: wire.KindProbe}
	var t int64
	for b.Loop() {
		t++
		o.T = t
		bt.Add(o, t)
	}
}
