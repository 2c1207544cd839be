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

// roundByHand runs one round of the syncer of j (a journal without its
// syncer: newJournal), as syncLoop does.
func roundByHand(j *Journal, r *round) error { return roundDuring(j, r, nil) }

// roundDuring is roundByHand that calls during (when set) while the round
// writes, without the journal's lock.
func roundDuring(j *Journal, r *round, during func()) error {
	j.mu.Lock()
	j.takeRound(r)
	j.mu.Unlock()
	if during != nil {
		during()
	}
	err := r.commit()
	j.mu.Lock()
	j.finishRound(r, err)
	j.mu.Unlock()
	return err
}

// syncByHand is Sync for a journal whose rounds roundByHand runs: the
// channel yields the outcome of the next round.
func syncByHand(j *Journal, r *round) <-chan error {
	j.mu.Lock()
	defer j.mu.Unlock()
	ch := make(chan error, 1)
	j.syncs = append(j.syncs, ch)
	return ch
}

// closeByHand closes the open files of a journal without its syncer.
func closeByHand(j *Journal) {
	for _, jf := range j.files {
		jf.f.Close()
		if jf.d != nil {
			jf.d.Close()
		}
	}
}

// answered reports whether ch has yielded, and what.
func answered(ch <-chan error) (err error, ok bool) {
	select {
	case err := <-ch:
		return err, true
	default:
		return nil, false
	}
}

// TestJournalRetiredWriteFailure: the file of a past day is retired (an
// append of the next day) while a line of it is not written, and its
// writes fail. The round answers none of its appends (the next day's
// line, written, waits with it) and keeps the retired file, open, with the
// line; the rounds after write it again, and once it is written the
// appends are answered and the file closed. Or (late) a line of the past
// day comes while it fails: the day's file opened again takes the failed
// line over and writes it before its own, and the old one closes. Every
// line appended is in its day's file, in order, with no hole of NUL bytes
// (which would make a reader drop the next line, acknowledged, with the
// hole). The rounds are driven by hand.
func TestJournalRetiredWriteFailure(t *testing.T) {
	for _, late := range []bool{false, true} {
		for _, buffered := range []bool{false, true} {
			journalRetiredWriteFailure(t, buffered, late)
		}
	}
}

func journalRetiredWriteFailure(t *testing.T, buffered, late bool) {
	dir := t.TempDir()
	j := newJournal(dir, 0)
	j.buffered = buffered
	var r round
	day1 := time.Date(2026, 12, 5, 23, 59, 0, 0, time.UTC).UnixMilli()
	day2 := time.Date(2026, 12, 6, 0, 0, 1, 0, time.UTC).UnixMilli()
	want := map[int64]*bytes.Buffer{day1: {}, day2: {}}
	var waiting []<-chan error
	appendLine := func(day, id int64) {
		b := testBatch("s1", id, 60) // lines of several disk blocks
		want[day].Write(wire.AppendJournalLine(nil, day+id, b))
		want[day].WriteByte('\n')
		ch, _, err := j.append("shop", day+id, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, ch)
	}
	all := func(what string) {
		t.Helper()
		for i, ch := range waiting {
			if err, ok := answered(ch); !ok || err != nil {
				t.Fatalf("buffered %v, late %v: %s: append %d not answered nil (%v, %v)", buffered, late, what, i+1, ok, err)
			}
		}
		waiting = waiting[:0]
	}
	appendLine(day1, 1)
	if err := roundByHand(j, &r); err != nil {
		t.Fatal(err)
	}
	all("the first round")
	jf, restore := failWrites(t, j, "shop")
	appendLine(day1, 2)
	appendLine(day2, 3) // retires the past day's file with line 2 to write
	for range 2 {
		if err := roundByHand(j, &r); err == nil {
			t.Fatalf("buffered %v, late %v: the round that failed to write the retired file reported nothing", buffered, late)
		}
	}
	for i, ch := range waiting {
		if err, ok := answered(ch); ok {
			t.Fatalf("buffered %v, late %v: append %d answered (%v) while the retired file's writes fail", buffered, late, i+2, err)
		}
	}
	j.mu.Lock()
	kept := len(j.retired) == 1 && j.retired[0] == jf
	j.mu.Unlock()
	if !kept {
		t.Fatalf("buffered %v, late %v: the retired file whose write failed is not kept to write again", buffered, late)
	}
	if late {
		appendLine(day1, 5) // opens the past day's file again: it takes line 2 over
	} else {
		restore()
	}
	if err := roundByHand(j, &r); err != nil {
		t.Fatalf("buffered %v, late %v: the round after: %v", buffered, late, err)
	}
	all("once written")
	if !late {
		if err := jf.f.Close(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("buffered %v: the retired file was not closed once written (closing it again: %v)", buffered, err)
		}
		appendLine(day2, 4)
		appendLine(day1, 5) // a late line of the past day
	} else {
		appendLine(day2, 4)
	}
	for range 2 { // and the file retired by the last append
		if err := roundByHand(j, &r); err != nil {
			t.Fatalf("buffered %v, late %v: %v", buffered, late, err)
		}
	}
	all("the last lines")
	closeByHand(j)
	for day, name := range map[int64]string{day1: "2026-12-05", day2: "2026-12-06"} {
		got, err := os.ReadFile(filepath.Join(dir, "shop", name+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[day].Bytes()) {
			t.Errorf("buffered %v, late %v: %s (%d bytes, NUL bytes: %v) is not the lines appended (%d bytes)",
				buffered, late, name, len(got), bytes.IndexByte(got, 0) >= 0, want[day].Len())
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
		run := func(during func()) error { return roundDuring(j, &r, during) }
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
		closeByHand(j)
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
