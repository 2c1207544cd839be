package replay

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/passant/passant/wire"
)

// TestReplayRejectsOverlongLine: a line longer than a batch may be (a
// garbled journal, two lines run together) is one rejected line, as the
// contract has a batch of more than 4 MiB rejected; the replay went no
// further (bufio.Scanner: token too long) and wrote nothing. Both ways of
// reading: the mapped file and a stream (--in -).
func TestReplayRejectsOverlongLine(t *testing.T) {
	dir := t.TempDir()
	site, in := simulate(t, dir, false)
	good, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	half := bytes.IndexByte(good[len(good)/2:], '\n') + len(good)/2 + 1
	junk := append([]byte(`{"v":1,"sensor":"s1","sent":1,"obs":[],"pad":"`), bytes.Repeat([]byte("x"), wire.MaxBatchLen+8192)...)
	junk = append(junk, "\"}\n"...)
	bad := append(append(append([]byte(nil), good[:half]...), junk...), good[half:]...)
	name := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(name, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	ref, err := Run(context.Background(), Config{SitePath: site, In: in, Report: filepath.Join(dir, "ref.json")})
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{{SitePath: site, In: name}, {SitePath: site, Input: bytes.NewReader(bad)}} {
		cfg.Report = filepath.Join(t.TempDir(), "r.json")
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("replay of the input with one over-long line: %v", err)
		}
		if res.Rejected != 1 || res.Lines != ref.Lines+1 || res.Observations != ref.Observations {
			t.Errorf("%d lines (%d rejected), %d observations; without the long line %d lines, %d observations",
				res.Lines, res.Rejected, res.Observations, ref.Lines, ref.Observations)
		}
	}
}
