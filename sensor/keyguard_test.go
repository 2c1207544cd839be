package sensor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
)

// testClock is a Clock a test sets frame by frame (clockSource).
type testClock struct {
	now     time.Time
	trusted bool
}

func (c *testClock) Now() time.Time { return c.now }
func (c *testClock) Trusted() bool  { return c.trusted }

// clockFrame is a frame with what the node's clock says when it is read.
type clockFrame struct {
	at      time.Time // the frame's stamp, and the clock's reading (a live capture's frames are stamped by it)
	clock   time.Time // when not zero: the clock reads this instead (it was put right meanwhile)
	trusted bool
}

// clockSource gives a probe request per clockFrame, setting the clock
// before each, in the capture goroutine (which alone reads the clock).
type clockSource struct {
	probes []benchFrame
	steps  []clockFrame
	clock  *testClock
	i      int
}

func (s *clockSource) Next(context.Context) ([]byte, gopacket.CaptureInfo, error) {
	if s.i == len(s.steps) {
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
	st, f := s.steps[s.i], s.probes[s.i%len(s.probes)]
	s.i++
	s.clock.now, s.clock.trusted = st.at, st.trusted
	if !st.clock.IsZero() {
		s.clock.now = st.clock
	}
	ci := f.ci
	ci.Timestamp = st.at
	return f.data, ci, nil
}
func (s *clockSource) Now() int64   { return s.clock.now.UnixMilli() }
func (s *clockSource) Close() error { return nil }

// TestNodeEpochKeyOnUntrustedClock: a node holding only an epoch key
// (from a key file, which a move rewrites) moves the key past its epoch
// only on a trusted clock that has reached the new epoch (several epochs
// at once when that clock says so). Before, a clock read ahead at
// boot moved the key to the epoch it read, for good: every frame after
// NTP put the clock right was "before the epoch" and dropped, and so
// after a restart.
func TestNodeEpochKeyOnUntrustedClock(t *testing.T) {
	probes := benchFrames(t, true)[:16]
	site := []byte("correct horse battery staple")
	const period = time.Hour
	// The present: a minute into an epoch (the real clock's, so that the
	// guard against frames a day ahead of it passes as before).
	now := time.Now().Truncate(period).Add(time.Minute)
	e := Epoch(now.UnixMilli(), period)
	ahead := func(d time.Duration, n int, trusted bool) []clockFrame {
		var fs []clockFrame
		for i := range n {
			fs = append(fs, clockFrame{at: now.Add(d + time.Duration(i)*time.Second), trusted: trusted})
		}
		return fs
	}
	cat := func(parts ...[]clockFrame) []clockFrame {
		var fs []clockFrame
		for _, p := range parts {
			fs = append(fs, p...)
		}
		return fs
	}
	for _, tc := range []struct {
		name                string
		steps               []clockFrame
		epoch               int64 // of the key file afterwards
		obs, beyond, before uint64
	}{
		// A clock an hour ahead at boot (the next epoch), not yet
		// synchronised; then NTP puts it right.
		{"untrusted next epoch", cat(ahead(time.Hour, 5, false), ahead(0, 10, true)), e, 10, 5, 0},
		// Two hours ahead: two epochs.
		{"untrusted two epochs", cat(ahead(2*time.Hour, 5, false), ahead(0, 10, true)), e, 10, 5, 0},
		// A bad RTC: years ahead at boot.
		{"untrusted years ahead", cat(ahead(3*365*24*time.Hour, 5, false), ahead(0, 10, true)), e, 10, 5, 0},
		// Synchronised, and a frame stamped into the next epoch before the
		// clock reaches it.
		{"trusted frame ahead of the clock", cat(ahead(0, 2, true), []clockFrame{
			{at: now.Add(time.Hour - time.Minute + 30*time.Second), clock: now.Add(time.Hour - time.Minute - 30*time.Second), trusted: true}},
			ahead(time.Minute, 3, true)), e, 5, 1, 0},
		// Synchronised, the clock in the next epoch, and a frame stamped
		// two epochs further (within MaxAhead of the clock): it may not
		// move the key to its epoch, which the clock has not reached.
		// Before, it did, and every frame of the clock's epoch after it
		// was "before the epoch" and dropped.
		{"trusted frame epochs ahead of the clock", cat([]clockFrame{
			{at: now.Add(3 * time.Hour), clock: now.Add(time.Hour), trusted: true}},
			ahead(time.Hour+time.Second, 5, true)), e + 1, 5, 1, 0},
		// Synchronised and two epochs past the key (the node was off for
		// longer than an epoch): the key moves to the present's epoch at
		// once; before, every frame was dropped until the node was given
		// the current key.
		{"trusted after a whole epoch off", ahead(2*time.Hour, 5, true), e + 2, 5, 0, 0},
		// Synchronised and in the next epoch: the key moves.
		{"trusted next epoch", cat(ahead(0, 2, true), ahead(time.Hour, 6, true), ahead(0, 3, true)), e + 1, 8, 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := t.TempDir() + "/epoch.key"
			if err := WriteEpochKeyFile(name, EpochKeyAt(site, period, now.UnixMilli())); err != nil {
				t.Fatal(err)
			}
			p, err := LoadPseudonymizer(KeyConfig{File: name, Rotation: period})
			if err != nil {
				t.Fatal(err)
			}
			clock := &testClock{}
			src := &clockSource{probes: probes, steps: tc.steps, clock: clock}
			var out discardCount
			n, err := NewNode(NodeConfig{Sensor: "s1", Boot: 1, Pseudo: p, Clock: clock}, src, NewJSONLWriter(&out, nil, false))
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(name)
			k, _, _ := ParseEpochKeyFile(data)
			st := n.Stats()
			if k.Epoch != tc.epoch || st.Observations != tc.obs || st.BeyondKey != tc.beyond || st.PastEpoch != tc.before || st.Future != 0 {
				t.Errorf("key file at epoch %+d; %d observations, %d beyond the key, %d before its epoch, %d future; want %+d, %d, %d, %d, 0",
					k.Epoch-e, st.Observations, st.BeyondKey, st.PastEpoch, st.Future, tc.epoch-e, tc.obs, tc.beyond, tc.before)
			}
			// The status tells (the clock's last reading was trusted).
			var s Status
			n.FillStatus(&s)
			b, _ := json.Marshal(s)
			if want := fmt.Sprintf(`"beyond_key":%d,"clock_trusted":true`, tc.beyond); !strings.Contains(string(b), want) {
				t.Errorf("status %s lacks %s", b, want)
			}
		})
	}
}

// TestTransmitterStatusUntrustedClock: the transmit address's pseudonym in
// the status comes from a copy of the node's epoch key, which moved to
// whatever epoch the clock read. A clock read years ahead at boot moved it
// there, and once NTP put the clock right the status named the address no
// more (a past epoch) until a restart. On an untrusted clock past the
// key's epoch the status now names nothing, and the copy stays.
func TestTransmitterStatusUntrustedClock(t *testing.T) {
	key := []byte("another site key")
	const period = 24 * time.Hour
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	e := Epoch(now.UnixMilli(), period)
	mac := TxMAC("front-door")
	clock := &testClock{now: now}
	tr, err := NewTransmitter(TransmitConfig{MAC: mac, Pseudo: NewEpochPseudonymizer(EpochKey(key, e), e, period), Clock: clock}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := tr.Status(now.AddDate(3, 0, 0).UnixMilli()); st != nil {
		t.Errorf("an untrusted clock three years ahead: status names %s", st.Dev)
	}
	st := tr.Status(now.UnixMilli())
	if st == nil || st.Dev != DevOf(key, period, mac, now.UnixMilli()) {
		t.Fatalf("the clock put right: status %+v, want the address's pseudonym of today", st)
	}
	clock.trusted = true
	if st := tr.Status(now.Add(period).UnixMilli()); st == nil || st.Dev != DevOf(key, period, mac, now.Add(period).UnixMilli()) {
		t.Fatalf("a trusted clock in the next epoch: status %+v", st)
	}
}
