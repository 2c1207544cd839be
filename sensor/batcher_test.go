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

// TestBatcherClockStepsBack: the sensor's clock steps back an hour (an NTP
// correction) while a batch is open. The batch must still close within
// its interval of the frames that follow, not wait until the clock has
// come back to its first frame's time (or 10,000 observations): the
// server heard nothing from the sensor meanwhile.
func TestBatcherClockStepsBack(t *testing.T) {
	b := NewBatcher(BatcherConfig{Sensor: "s1", Interval: time.Second})
	const t0 = 1_764_850_000_000
	if x := b.Add(wire.Observation{T: t0, RSSI: -50, Seq: -1}, t0); x != nil {
		t.Fatal("a batch of one frame closed")
	}
	back := int64(t0 - 3_600_000)
	closed := 0
	for i := range int64(5) {
		now := back + i*500
		if x := b.Add(wire.Observation{T: now, RSSI: -50, Seq: -1}, now); x != nil {
			closed++
		}
		if b.Due(now + 400) {
			b.Flush(now + 400)
			closed++
		}
	}
	if closed == 0 {
		t.Fatalf("no batch closed in 2.5 s after the clock stepped back an hour (%d observations pending)", b.Pending())
	}
	if b.Pending() > 2 {
		t.Errorf("%d observations pending after the clock stepped back, want at most the last second's", b.Pending())
	}
}
