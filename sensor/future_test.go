package sensor

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/google/gopacket"
)

// sliceSource gives frames, then io.EOF.
type sliceSource struct {
	frames []benchFrame
	i      int
	now    int64
}

func (s *sliceSource) Next(context.Context) ([]byte, gopacket.CaptureInfo, error) {
	if s.i == len(s.frames) {
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
	f := &s.frames[s.i]
	s.i++
	return f.data, f.ci, nil
}
func (s *sliceSource) Now() int64   { return s.now }
func (s *sliceSource) Close() error { return nil }

// TestNodeIgnoresFutureFrame: a node holding only an epoch key moves the
// key forward as frames of later epochs come, and forgets the old one
// (rewriting its key file). One frame stamped a century ahead (a corrupt
// capture timestamp, a clock read wrong at boot) moved it there: every
// later frame of the present was "before the epoch" and dropped, and the
// key file held only the future key, so a restart did not help. (With the
// site key, deriving such an epoch's key costs one HMAC per epoch between:
// a frame stamped near the end of int64 time took hours.) A frame more
// than MaxAhead past the wall clock is counted and dropped instead.
func TestNodeIgnoresFutureFrame(t *testing.T) {
	probes := benchFrames(t, true)[:20]
	now := time.Now()
	frames := make([]benchFrame, len(probes))
	for i, f := range probes {
		frames[i] = f
		frames[i].ci.Timestamp = now.Add(time.Duration(i) * time.Millisecond)
	}
	frames[3].ci.Timestamp = now.AddDate(100, 0, 0)
	site := []byte("correct horse battery staple")
	e := Epoch(now.UnixMilli(), DefaultRotation)
	p := NewEpochPseudonymizer(EpochKey(site, e), e, DefaultRotation)
	moved := false
	p.OnRotate(func(int64, []byte) { moved = true })
	var out discardCount
	sink := NewJSONLWriter(&out, nil, false)
	n, err := NewNode(NodeConfig{Sensor: "s1", Boot: 1, Pseudo: p}, &sliceSource{frames: frames, now: now.UnixMilli()}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := n.Stats()
	if moved || st.Observations != 19 || st.Future != 1 || st.PastEpoch != 0 {
		t.Errorf("key moved %v; %d observations, %d future, %d before the epoch; want 19, 1, 0",
			moved, st.Observations, st.Future, st.PastEpoch)
	}
}

type discardCount struct{ n int }

func (d *discardCount) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
