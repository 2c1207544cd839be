package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passant/passant/wire"
)

// ForgetInJournal takes a person's observations out of the journal files
// of the days given, keeps every other line byte for byte and every
// batch's header, and leaves the other days' files alone.
func TestForgetInJournal(t *testing.T) {
	dir := t.TempDir()
	const p, o = wire.Dev(0x1111111111111111), wire.Dev(0x5555555555555555)
	batch := func(id int64, devs ...wire.Dev) *wire.Batch {
		b := &wire.Batch{V: 1, Sensor: "s1", Boot: 7, ID: id, Sent: 1796342400000 + id}
		for i, d := range devs {
			b.Obs = append(b.Obs, wire.Observation{T: 1796342400000 + id*10 + int64(i), Dev: d, RSSI: -60.5, Ch: 6, Kind: wire.KindProbe, Seq: 12})
		}
		return b
	}
	var day []byte
	day = append(wire.AppendJournalLine(day, 1796342400100, batch(1, p, o, p)), '\n')
	day = append(wire.AppendJournalLine(day, 1796342400200, batch(2, o)), '\n')
	day = append(day, "not json, a torn line\n"...)
	day = append(wire.AppendBatch(day, batch(3, p)), '\n') // a plain batch (replay input)
	day = append(wire.AppendJournalLine(day, 1796342400400, batch(4, o, o)), '\n')
	day = wire.AppendJournalLine(day, 1796342400500, batch(5, p)) // no newline at the end
	if err := os.MkdirAll(filepath.Join(dir, "demo"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"demo/2026-12-04.jsonl", "demo/2026-12-05.jsonl", "other/2026-12-04.jsonl"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), day, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files, obs, err := ForgetInJournal(dir, "demo", []wire.Dev{p, 0x2222222222222222}, func(day string) bool { return day == "2026-12-05" })
	if err != nil {
		t.Fatal(err)
	}
	if files != 1 || obs != 4 {
		t.Fatalf("changed %d files, %d observations; want 1 and 4", files, obs)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "demo/2026-12-04.jsonl"))
	if bytes.Contains(got, []byte(p.String())) {
		t.Fatalf("the pseudonym survived:\n%s", got)
	}
	lines := strings.Split(string(got), "\n")
	old := strings.Split(string(day), "\n")
	if len(lines) != len(old)+1 || lines[len(lines)-1] != "" {
		t.Fatalf("%d lines, want %d and a final newline:\n%s", len(lines), len(old), got)
	}
	for _, i := range []int{1, 2, 4} {
		if lines[i] != old[i] {
			t.Errorf("line %d changed: %s", i+1, lines[i])
		}
	}
	var n int
	err = ReadJournal([]string{filepath.Join(dir, "demo/2026-12-04.jsonl")}, func(l *wire.Line) error {
		n++
		if l.Batch.Sensor != "s1" || l.Batch.Boot != 7 || l.Batch.ID == 0 {
			t.Errorf("line %d: header lost: %+v", l.No, l.Batch)
		}
		for _, ob := range l.Batch.Obs {
			if ob.Dev != o {
				t.Errorf("line %d: %s", l.No, ob.Dev)
			}
		}
		if l.Batch.ID == 1 && (len(l.Batch.Obs) != 1 || l.Recv != 1796342400100) {
			t.Errorf("line 1: %+v", l)
		}
		return nil
	}, nil)
	if err != nil || n != 5 {
		t.Fatalf("read back %d lines: %v", n, err)
	}
	for _, name := range []string{"demo/2026-12-05.jsonl", "other/2026-12-04.jsonl"} {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); !bytes.Equal(b, day) {
			t.Errorf("%s changed", name)
		}
	}
	// Again: nothing left to change.
	if files, obs, err := ForgetInJournal(dir, "demo", []wire.Dev{p}, nil); err != nil || files != 1 || obs != 4 {
		t.Fatalf("the other day: %d files, %d observations, %v", files, obs, err)
	}
	if files, obs, err := ForgetInJournal(dir, "demo", []wire.Dev{p}, nil); err != nil || files != 0 || obs != 0 {
		t.Fatalf("again: %d files, %d observations, %v", files, obs, err)
	}
}

// ForgetPending keeps the pseudonyms of the days it had to skip in the
// site's pending file and takes them out of those days' files on a later
// call; the file goes once no day is left. OpenDays names the day a
// journal has open.
func TestForgetPending(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	const p, o = wire.Dev(0x1111111111111111), wire.Dev(0x5555555555555555)
	b := &wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: 1, Sent: 1, Obs: []wire.Observation{{T: 1, Dev: p, RSSI: -50}, {T: 2, Dev: o, RSSI: -50}}}
	if err := j.Append("demo", 1796342400100, b); err != nil {
		t.Fatal(err)
	}
	open := j.OpenDays("demo")
	if !open["2026-12-04"] || len(open) != 1 || len(j.OpenDays("other")) != 0 {
		t.Fatalf("open days %v", open)
	}
	files, obs, left, err := ForgetPending(dir, "demo", []wire.Dev{p}, func(day string) bool { return open[day] })
	if err != nil || files != 0 || obs != 0 || len(left) != 1 || !HasPending(dir, "demo") {
		t.Fatalf("with the day open: %d files, %d observations, left %v, %v", files, obs, left, err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	files, obs, left, err = ForgetPending(dir, "demo", nil, nil)
	if err != nil || files != 1 || obs != 1 || len(left) != 0 || HasPending(dir, "demo") {
		t.Fatalf("once closed: %d files, %d observations, left %v, pending %v, %v", files, obs, left, HasPending(dir, "demo"), err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "demo", "2026-12-04.jsonl"))
	if bytes.Contains(got, []byte(p.String())) || !bytes.Contains(got, []byte(o.String())) {
		t.Fatalf("journal after: %s", got)
	}
}
