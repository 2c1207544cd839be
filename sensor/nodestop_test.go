package sensor

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/gopacket"
)

// stuckSource stands for a live capture whose blocking read does not see
// the context (a monitor-mode interface read): once ctx is done, its next
// read returns only after a while, and frames keep coming after it. A
// real interface cannot run here.
type stuckSource struct {
	frames []benchFrame
	i      atomic.Int64
	after  atomic.Int32 // frames given after the stall
}

func (s *stuckSource) Next(ctx context.Context) ([]byte, gopacket.CaptureInfo, error) {
	if ctx.Err() != nil {
		if s.after.Load() == 0 {
			time.Sleep(1500 * time.Millisecond) // past Run's wait for it
		}
		s.after.Add(1)
	}
	i := s.i.Add(1)
	f := &s.frames[int(i)%len(s.frames)]
	ci := f.ci
	ci.Timestamp = time.UnixMilli(1764850000000 + i)
	return f.data, ci, nil
}
func (s *stuckSource) Now() int64   { return 1764850000000 + s.i.Load() }
func (s *stuckSource) Close() error { return nil }

// TestNodeStopsWithReadStuck: when Run stops with the capture's read still
// blocked, it leaves the capture's counts to the capture goroutine: it read
// them (the decoder's counts, the node's own) while that goroutine, once
// its read returned, went on writing them (a data race, seen by -race).
func TestNodeStopsWithReadStuck(t *testing.T) {
	src := &stuckSource{frames: benchFrames(t, false)}
	sink := NewJSONLWriter(discard{}, nil, false)
	n, err := NewNode(NodeConfig{Sensor: "s1", Boot: 1, Pseudo: testPseudo()}, src, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for n.Stats().Frames == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// The read returns; the capture goes on to its next probe request,
	// which ends it (Run has stopped the node).
	for src.after.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	_ = n.Stats()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
