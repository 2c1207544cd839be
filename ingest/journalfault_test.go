package ingest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// failWrites makes the journal file of site refuse writes: read-only
// handles in place of its own (both, with direct I/O). restore puts its
// own back (a direct handle only if the file still writes directly: a
// failed round turns it to the page cache). The read-only handles are the
// syncer's to close once retired; the file's own are closed with the test.
func failWrites(t *testing.T, j *Journal, site string) (jf *journalFile, restore func()) {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	jf = j.files[site]
	own := [2]*os.File{jf.f, jf.d}
	var ro [2]*os.File
	for i, h := range []**os.File{&jf.f, &jf.d} {
		if *h == nil {
			continue
		}
		t.Cleanup(func() { own[i].Close() })
		var err error
		if ro[i], err = os.Open(own[i].Name()); err != nil {
			t.Fatal(err)
		}
		*h = ro[i]
	}
	return jf, func() {
		j.mu.Lock()
		defer j.mu.Unlock()
		jf.f = own[0]
		ro[0].Close()
		if jf.d != nil {
			jf.d = own[1]
			ro[1].Close()
		}
	}
}

// TestJournalRetiredWriteFailure: the file of a past day is retired (an
// append of the next day) while lines of it are not written, and its last
// write fails. The syncer closes it with the error: the appends of that
// round have the error (none of them is acknowledged, the next day's line
// included, though it is written: the broker delivers them again), Sync
// and Close report it, and the next day's file goes on. An append to the
// past day afterwards (out of receive order) opens its file again and
// writes the lines that failed before its own: every line appended is in
// its day's file, in order, with no hole of NUL bytes (which would make a
// reader drop the next line, acknowledged, with the hole).
func TestJournalRetiredWriteFailure(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		dir := t.TempDir()
		j, err := OpenJournal(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		j.buffered = buffered
		day1 := time.Date(2026, 12, 5, 23, 59, 0, 0, time.UTC).UnixMilli()
		day2 := time.Date(2026, 12, 6, 0, 0, 1, 0, time.UTC).UnixMilli()
		want := map[int64]*bytes.Buffer{day1: {}, day2: {}}
		appendLine := func(day, id int64) error {
			b := testBatch("s1", id, 60) // lines of several disk blocks
			want[day].Write(wire.AppendJournalLine(nil, day+id, b))
			want[day].WriteByte('\n')
			return j.Append("shop", day+id, b)
		}
		if err := appendLine(day1, 1); err != nil {
			t.Fatal(err)
		}
		jf, _ := failWrites(t, j, "shop")
		if err := appendLine(day1, 2); err == nil {
			t.Fatal("an append whose write failed returned no error")
		}
		// The next day retires the file with line 2 still to write; its
		// last write fails too.
		if err := appendLine(day2, 3); err == nil {
			t.Fatalf("buffered %v: the round that failed to write the retired file answered an append with no error", buffered)
		}
		if err := jf.f.Close(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("buffered %v: the retired file was not closed (closing it again: %v)", buffered, err)
		}
		if err := j.Sync(); err == nil {
			t.Errorf("buffered %v: Sync after the failure reported nothing", buffered)
		}
		// The broker delivers line 3 again; the journal goes on.
		for _, id := range []int64{3, 4} {
			if err := appendLine(day2, id); err != nil {
				t.Fatalf("buffered %v: the next day's append after the failure: %v", buffered, err)
			}
		}
		// A late line of the past day.
		if err := appendLine(day1, 5); err != nil {
			t.Fatalf("buffered %v: an append to the past day after its failure: %v", buffered, err)
		}
		if err := j.Close(); err == nil {
			t.Errorf("buffered %v: Close did not report the failure", buffered)
		}
		for day, name := range map[int64]string{day1: "2026-12-05", day2: "2026-12-06"} {
			got, err := os.ReadFile(filepath.Join(dir, "shop", name+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want[day].Bytes()) {
				t.Errorf("buffered %v: %s (%d bytes, NUL bytes: %v) is not the lines appended (%d bytes)",
					buffered, name, len(got), bytes.IndexByte(got, 0) >= 0, want[day].Len())
			}
		}
	}
}

// TestJournalRetiredFailureDuringRound: a late line of a past day appended
// while the round that fails to write that day's retired file runs opens
// the day's file again from what the round left; the failed lines are
// handed to it, and it writes them before its own. The syncer's rounds are
// driven by hand (takeRound, commit, finishRound) to put the append in
// the middle of one.
func TestJournalRetiredFailureDuringRound(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		dir := t.TempDir()
		j := newJournal(dir, 0) // no syncer: the test runs the rounds
		j.buffered = buffered
		day1 := time.Date(2026, 12, 5, 23, 59, 0, 0, time.UTC).UnixMilli()
		day2 := time.Date(2026, 12, 6, 0, 0, 1, 0, time.UTC).UnixMilli()
		var want bytes.Buffer // the past day's file
		add := func(day, id int64) {
			b := testBatch("s1", id, 60) // lines of several disk blocks
			if _, _, err := j.append("shop", day+id, b, nil); err != nil {
				t.Fatal(err)
			}
			if day == day1 {
				want.Write(wire.AppendJournalLine(nil, day+id, b))
				want.WriteByte('\n')
			}
		}
		var r round
		run := func(during func()) error {
			j.mu.Lock()
			j.takeRound(&r)
			j.mu.Unlock()
			if during != nil {
				during()
			}
			err := r.commit()
			j.mu.Lock()
			j.finishRound(&r, err)
			j.mu.Unlock()
			return err
		}
		add(day1, 1)
		if err := run(nil); err != nil {
			t.Fatal(err)
		}
		add(day1, 2)
		failWrites(t, j, "shop")
		add(day2, 3) // retires the past day's file with line 2 to write
		if err := run(func() { add(day1, 4) }); err == nil {
			t.Fatal("the round that failed to write the retired file reported nothing")
		}
		for range 2 { // the past day's lines, then the next day's file retired by line 4
			if err := run(nil); err != nil {
				t.Fatalf("buffered %v: a round after the failure: %v", buffered, err)
			}
		}
		for _, jf := range j.files {
			jf.f.Close()
			if jf.d != nil {
				jf.d.Close()
			}
		}
		got, err := os.ReadFile(filepath.Join(dir, "shop", "2026-12-05.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("buffered %v: the past day's file (%d bytes, NUL bytes: %v) is not its lines (%d bytes)",
				buffered, len(got), bytes.IndexByte(got, 0) >= 0, want.Len())
		}
	}
}
