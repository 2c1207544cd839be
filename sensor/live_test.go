package sensor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/passant/passant/wire"
)

// chanSource hands out the frames sent on its channel and blocks in
// between, as a live capture on a quiet channel does.
type chanSource struct {
	frames chan benchFrame
	now    atomic.Int64
}

func (s *chanSource) Next(ctx context.Context) ([]byte, gopacket.CaptureInfo, error) {
	select {
	case f := <-s.frames:
		return f.data, f.ci, nil
	case <-ctx.Done():
		return nil, gopacket.CaptureInfo{}, ctx.Err()
	}
}
func (s *chanSource) Now() int64   { return s.now.Load() }
func (s *chanSource) Close() error { return nil }

// batchSink keeps copies of the batches it is given.
type batchSink struct {
	mu      sync.Mutex
	batches []wire.Batch
	got     chan struct{}
}

func (s *batchSink) Publish(b *wire.Batch) error {
	s.mu.Lock()
	c := *b
	c.Obs = append([]wire.Observation(nil), b.Obs...)
	s.batches = append(s.batches, c)
	s.mu.Unlock()
	s.got <- struct{}{}
	return nil
}
func (s *batchSink) Close(context.Context) error { return nil }

// TestNodeTickFlushesQuietChannel: with Tick, a batch is sent once its
// interval has passed on the source's clock even though no further frame
// comes; and Run returns when asked to stop while the source blocks.
func TestNodeTickFlushesQuietChannel(t *testing.T) {
	probes := benchFrames(t, true)[:3]
	src := &chanSource{frames: make(chan benchFrame)}
	sink := &batchSink{got: make(chan struct{}, 10)}
	n, err := NewNode(NodeConfig{Sensor: "s1", Boot: 1, Interval: time.Second, Pseudo: testPseudo(), Tick: true}, src, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- n.Run(ctx) }()
	t0 := probes[0].ci.Timestamp.UnixMilli()
	for _, f := range probes {
		f.ci.Timestamp = time.UnixMilli(t0)
		src.now.Store(t0)
		src.frames <- f
	}
	src.now.Store(t0 + 999)
	select {
	case <-sink.got:
		t.Fatal("a batch was sent before its interval passed")
	case <-time.After(100 * time.Millisecond):
	}
	src.now.Store(t0 + 1000) // the clock moves on, no frame comes
	select {
	case <-sink.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the open batch was never flushed")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(sink.batches) != 1 || len(sink.batches[0].Obs) != 3 || sink.batches[0].Sent != t0+1000 {
		t.Fatalf("batches %+v", sink.batches)
	}
}

func TestHopperCycles(t *testing.T) {
	var mu sync.Mutex
	var set []int
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hopper{Iface: "mon0", Channels: []int{1, 6, 11}, Dwell: time.Millisecond,
		Set: func(_ context.Context, iface string, ch int) error {
			mu.Lock()
			defer mu.Unlock()
			if set = append(set, ch); len(set) == 7 {
				cancel()
			}
			return nil
		}}
	if err := h.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want := []int{1, 6, 11, 1, 6, 11, 1}
	for i := range want {
		if set[i] != want[i] {
			t.Fatalf("hopped %v, want %v", set, want)
		}
	}
	if h.Current() == 0 {
		t.Fatal("Current not set")
	}
	fail := &Hopper{Iface: "mon0", Channels: []int{1}, Set: func(context.Context, string, int) error {
		return errors.New("iw: not found")
	}}
	if err := fail.Run(context.Background()); err == nil {
		t.Fatal("a hopper that cannot set its first channel did not fail")
	}
	if chs, err := ParseChannels("1, 6,11"); err != nil || len(chs) != 3 {
		t.Fatalf("ParseChannels: %v %v", chs, err)
	}
	if _, err := ParseChannels("1,x"); err == nil {
		t.Fatal("ParseChannels took 1,x")
	}
}

func TestChannel(t *testing.T) {
	for mhz, ch := range map[int]int{2412: 1, 2437: 6, 2462: 11, 2484: 14, 5180: 36, 5745: 149, 5955: 0, 6115: 33, 4920: 184, 900: 0} {
		if got := Channel(mhz); got != ch {
			t.Errorf("Channel(%d) = %d, want %d", mhz, got, ch)
		}
	}
}
