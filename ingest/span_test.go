package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestReadRange appends batches over three UTC days (one day without a
// file between) to a journal reopened in the middle (so a file's offsets
// start at its old size), and reads ranges back in small chunks: each
// range gives exactly its lines, in order, across the day files.
func TestReadRange(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	day := time.Date(2026, 12, 1, 23, 59, 0, 0, time.UTC).UnixMilli()
	recvs := []int64{day, day + 1, day + 2, day + 30_000, day + 60_000, day + 60_001,
		day + 60_002, day + 2*86_400_000, day + 2*86_400_000 + 1, day + 2*86_400_000 + 2}
	var ats []At
	j, err := OpenJournal(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, recv := range recvs {
		if i == 2 { // a restart: the day's file is opened again
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if j, err = OpenJournal(dir, 0); err != nil {
				t.Fatal(err)
			}
		}
		_, at, err := j.AppendAt("shop", recv, testBatch("s1", int64(i+1), i%3))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && !ats[i-1].Start().Before(at.Start()) {
			t.Fatalf("line %d at %+v, not after line %d at %+v", i+1, at, i, ats[i-1])
		}
		ats = append(ats, at)
	}
	defer j.Close()
	if got := ats[4].Day; got != "2026-12-02" || ats[4].Off != 0 || ats[7].Day != "2026-12-03" || ats[3].Day != "2026-12-01" || ats[2].Off != ats[1].End {
		t.Fatalf("days: %+v", ats)
	}
	for _, c := range []struct{ from, to, chunk int }{{0, 10, 3}, {2, 9, 1}, {3, 8, 2}, {5, 6, 4}, {4, 4, 2}} {
		pos := ats[c.from].Start()
		to := ats[c.from].Start()
		if c.to > c.from {
			to = ats[c.to-1].Next()
		}
		var ids []int64
		for reads := 0; pos.Before(to); reads++ {
			var n int
			pos, n, err = j.ReadRange("shop", pos, to, c.chunk, func(recv int64, b *wire.Batch, _ wire.Drops) {
				if recv != recvs[b.ID-1] || len(b.Obs) != int(b.ID-1)%3 {
					t.Errorf("batch %d: recv %d, %d observations", b.ID, recv, len(b.Obs))
				}
				ids = append(ids, b.ID)
			}, func(err error) { t.Error(err) })
			if err != nil {
				t.Fatal(err)
			}
			if n > c.chunk || reads > 20 {
				t.Fatalf("read %d lines in a chunk of %d (read %d)", n, c.chunk, reads)
			}
		}
		if pos != to {
			t.Fatalf("range %v: ended at %+v, want %+v", c, pos, to)
		}
		if len(ids) != c.to-c.from {
			t.Fatalf("range %v: read %v", c, ids)
		}
		for i, id := range ids {
			if id != int64(c.from+i+1) {
				t.Fatalf("range %v: read %v", c, ids)
			}
		}
	}
}

// TestReadRangeWhileWritesFail: a line whose write failed (the disk full)
// and left part of itself in the file (a write cut short) is not read:
// ReadRange reads the lines before it and returns there, with no error,
// so a site runner behind reads the rest once it is written instead of
// skipping its backlog as unreadable. Closed with the line unwritten, its
// append is answered with ErrClosed.
func TestReadRangeWhileWritesFail(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	recv := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC).UnixMilli()
	var ats []At
	for id := int64(1); id <= 2; id++ {
		ch, at, err := j.AppendAt("shop", recv+id, testBatch("s1", id, 60))
		if err != nil || <-ch != nil {
			t.Fatal(err)
		}
		ats = append(ats, at)
	}
	failWrites(t, j, "shop") // the syncer waits for an append: no round runs
	b := testBatch("s1", 3, 60)
	ch, at, err := j.AppendAt("shop", recv+3, b)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return j.Health().Failures >= 1 })
	// What a write cut short by the full disk leaves: half of the line.
	f, err := os.OpenFile(filepath.Join(dir, "shop", at.Day+".jsonl"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	line := wire.AppendJournalLine(nil, recv+3, b)
	if _, err := f.WriteAt(line[:len(line)/2], at.Off); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var ids []int64
	pos, n, err := j.ReadRange("shop", ats[0].Start(), at.Next(), 10, func(_ int64, b *wire.Batch, _ wire.Drops) {
		ids = append(ids, b.ID)
	}, func(err error) { t.Errorf("bad line: %v", err) })
	if err != nil || n != 2 || pos != ats[1].Next() || fmt.Sprint(ids) != "[1 2]" {
		t.Errorf("read %v (%d lines) to %+v, err %v; want lines 1 and 2, to %+v", ids, n, pos, err, ats[1].Next())
	}
	if err := j.Close(); err == nil {
		t.Error("Close with a line it could not write reported nothing")
	}
	if err := <-ch; !errors.Is(err, ErrClosed) {
		t.Errorf("the append whose line was never written: %v, want ErrClosed", err)
	}
}

// TestReadFromRewrittenFile: a read that stopped in a day's file and goes
// on after an erasure rewrote that file (its lines shorter, their offsets
// moved) starts again at the new file's beginning, past the lines taken,
// and says so; a read in the same file goes on where it stopped. The
// rewritten file ends before the range's end: the read stops there (it
// read the file again and again, for ever, before).
func TestReadFromRewrittenFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	day := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).UnixMilli()
	j, err := OpenJournal(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var last At
	for i := range 4 {
		if _, last, err = j.AppendAt("shop", day+int64(i), testBatch("s1", int64(i+1), 3)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if j, err = OpenJournal(dir, 0); err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	read := func(from Pos, file os.FileInfo, max int) (Read, []int64) {
		t.Helper()
		var ids []int64
		c := Cursor{Pos: from, File: file, After: day + 1} // lines 1 and 2 taken
		r, err := j.ReadFrom("shop", c, last.Next(), max, func(_ int64, b *wire.Batch, _ wire.Drops) {
			ids = append(ids, b.ID)
		}, func(err error) { t.Errorf("bad line: %v", err) })
		if err != nil {
			t.Fatal(err)
		}
		return r, ids
	}
	first, ids := read(Pos{Day: last.Day}, nil, 2)
	if first.File == nil || first.Reread || fmt.Sprint(ids) != "[1 2]" {
		t.Fatalf("first read: %+v %v", first, ids)
	}
	if r, ids := read(first.Pos, first.File, 1); r.Reread || fmt.Sprint(ids) != "[3]" {
		t.Errorf("the same file: %+v %v, want line 3 without a reread", r, ids)
	}
	// The person of wire.Dev(1) is erased: every line gets shorter.
	if _, obs, err := ForgetInJournal(dir, "shop", []wire.Dev{1}, nil); err != nil || obs != 4 {
		t.Fatalf("forget: %d observations, %v", obs, err)
	}
	r, ids := read(first.Pos, first.File, 10)
	if !r.Reread || fmt.Sprint(ids) != "[3 4]" || r.Pos != last.Next() {
		t.Errorf("after the rewrite: %+v %v, want the file again from its start, lines 3 and 4 (1 and 2 taken before), to the end", r, ids)
	}
	// Without the file known, the same.
	if r, ids := read(first.Pos, nil, 10); !r.Reread || fmt.Sprint(ids) != "[3 4]" {
		t.Errorf("without the file: %+v %v", r, ids)
	}
}
