package replay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/wire"
)

// The renamer gives each fix the track it belongs to at the end: through
// the merges made after it was written (not those made before: a later
// track may take the merged name again), then through the report's joins
// within the joined track-day's span.
func TestRenamerRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "positions.jsonl")
	ps := []wire.Position{
		{T: 1000, Track: "ka"}, // 0: ka, merged into kb after line 2, kb joined into kc over [0, 5000]
		{T: 2000, Track: "kb"}, // 1: kb, joined into kc
		{T: 3000, Track: "kd"}, // 2: kd stays
		{T: 6000, Track: "kb"}, // 3: kb after the join's span: stays
		{T: 7000, Track: "ka"}, // 4: a later ka, written after the merge: stays
	}
	var data []byte
	for i := range ps {
		data = wire.AppendPosition(data, &ps[i])
		data = append(data, '\n')
	}
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	var r renamer
	r.merge("ka", "kb", 2)
	r.join([]footfall.Join{{Track: "kb", Into: "kc", First: 0, Last: 5000}})
	if err := r.rewrite(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kc", "kc", "kd", "kb", "ka"}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines: %s", len(lines), got)
	}
	for i, l := range lines {
		ps[i].Track = want[i]
		if exp := string(wire.AppendPosition(nil, &ps[i])); l != exp {
			t.Errorf("line %d: %s, want %s", i+1, l, exp)
		}
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, %v", st.Mode(), err)
	}
	if err := os.WriteFile(path, []byte("not a position\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.rewrite(path); err == nil {
		t.Error("a line that is no position: no error")
	}
}

// TestSinkJoined checks that a track counts as joined away only when every
// one of its track-days was joined: one joined on one day of two keeps
// its name on the other.
func TestSinkJoined(t *testing.T) {
	s := sink{trackN: map[string]struct{}{"ka": {}, "kb": {}, "kc": {}}}
	js := []footfall.Join{
		{Track: "ka", Into: "kc", First: 1000, Last: 2000},
		{Track: "kb", Into: "kc", First: 3000, Last: 4000},
	}
	days := []footfall.TrackDay{
		{Day: "2026-12-04", Track: "ka", First: 1000, Last: 2000},
		{Day: "2026-12-04", Track: "kb", First: 3000, Last: 4000},
		{Day: "2026-12-05", Track: "kb", First: 90_000_000, Last: 90_060_000},
		{Day: "2026-12-04", Track: "kc", First: 1500, Last: 9000},
	}
	if n := s.joined(js, days); n != 1 {
		t.Errorf("joined %d tracks away, want 1 (ka; kb keeps its name on its second day)", n)
	}
}
