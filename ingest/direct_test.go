package ingest

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestJournalWrites appends lines of many lengths (most ending inside a
// disk block, some spanning several) in rounds of every size, reads each
// round back at once with ReadRange (before its sync), reopens the journal
// on the files it left (a partial last block to go on from) and appends
// more, through direct I/O where the system has it and through the page
// cache: every file holds exactly the lines appended, in order, and both
// ways write the same bytes.
func TestJournalWrites(t *testing.T) {
	day := time.Date(2026, 12, 5, 23, 59, 30, 0, time.UTC).UnixMilli()
	files := map[bool][]byte{}
	for _, buffered := range []bool{false, true} {
		dir := t.TempDir()
		var want bytes.Buffer
		recv, id := day, int64(0)
		for session := range 2 {
			j, err := OpenJournal(dir, 0)
			if err != nil {
				t.Fatal(err)
			}
			j.buffered = buffered
			for round := range 12 {
				var waits []<-chan error
				var first At
				for k := range 1 + round*3 {
					id++
					recv += 97 // crosses midnight in the second session
					b := testBatch("s1", id, 1+int(id*37%90))
					var ch <-chan error
					var at At
					if k%2 == 0 {
						ch, at, err = j.AppendAt("shop", recv, b)
					} else {
						ch, at, err = j.AppendBatchJSONAt("shop", recv, wire.AppendBatch(nil, b))
					}
					if err != nil {
						t.Fatal(err)
					}
					if k == 0 {
						first = at
					}
					waits = append(waits, ch)
					want.Write(wire.AppendJournalLine(nil, recv, b))
					want.WriteByte('\n')
					// Read back before the sync: ReadRange waits until the
					// lines are written.
					if k == round*3 {
						n := 0
						_, got, err := j.ReadRange("shop", first.Start(), at.Next(), 1000, func(r int64, rb *wire.Batch, _ wire.Drops) {
							if rb.ID != id-int64(round*3)+int64(n) {
								t.Errorf("read batch %d, want %d", rb.ID, id-int64(round*3)+int64(n))
							}
							n++
						}, func(err error) { t.Errorf("bad line: %v", err) })
						if err != nil || got != round*3+1 {
							t.Fatalf("session %d round %d: read %d lines (%v), want %d", session, round, got, err, round*3+1)
						}
					}
				}
				for _, ch := range waits {
					if err := <-ch; err != nil {
						t.Fatal(err)
					}
				}
			}
			if !buffered && session == 0 {
				direct := false
				for _, jf := range j.files {
					direct = direct || jf.d != nil
				}
				t.Logf("direct I/O: %v", direct)
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
		}
		names, err := JournalFiles(dir, "shop", "", "")
		if err != nil || len(names) != 2 {
			t.Fatalf("files %v %v", names, err)
		}
		var got []byte
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b...)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("buffered %v: the files (%d bytes) are not the lines appended (%d bytes)", buffered, len(got), want.Len())
		}
		files[buffered] = got
	}
	if !bytes.Equal(files[false], files[true]) {
		t.Fatal("direct and buffered writes differ")
	}
}

// TestJournalIdleBuffers: a file's buffers grown by a burst go back to
// idleBuffer once it has not been appended to for idleAfter.
func TestJournalIdleBuffers(t *testing.T) {
	j, err := OpenJournal(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	recv := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC).UnixMilli()
	appendBurst(t, j, "busy", recv, testBatch("s1", 1, 20000), 4) // about 2 MB a line
	// Rounds for another site only, the last after idleAfter: "busy" is
	// idle in them.
	for i := range 3 {
		if i == 2 {
			time.Sleep(idleAfter + 50*time.Millisecond)
		}
		if err := j.Append("other", recv+10+int64(i), testBatch("s1", int64(i+2), 1)); err != nil {
			t.Fatal(err)
		}
	}
	j.mu.Lock()
	jf := j.files["busy"]
	held := cap(jf.buf) + cap(jf.spare)
	j.mu.Unlock()
	if held > idleBuffer {
		t.Fatalf("an idle file holds %d bytes of buffers, want at most %d", held, idleBuffer)
	}
}

// TestJournalWriteFailure: a round whose write fails answers none of its
// appends (nothing of it is acknowledged) and keeps their lines; the next
// rounds write them again, with the lines appended since, and answer the
// appends once they are written, so the lines after them leave no hole in
// the file: it holds every line, in order, through direct I/O and the page
// cache alike. Sync reports the failure while it lasts and nil after; so
// does Health. The rounds are driven by hand (roundByHand).
func TestJournalWriteFailure(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		dir := t.TempDir()
		j := newJournal(dir, 0) // no syncer: the test runs the rounds
		j.buffered = buffered
		recv := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC).UnixMilli()
		var want bytes.Buffer
		var r round
		appendLine := func(id int64) <-chan error {
			b := testBatch("s1", id, 60) // lines of several disk blocks
			want.Write(wire.AppendJournalLine(nil, recv+id, b))
			want.WriteByte('\n')
			ch, _, err := j.append("shop", recv+id, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}
		ch1 := appendLine(1)
		if err := roundByHand(j, &r); err != nil || <-ch1 != nil {
			t.Fatal(err)
		}
		jf, restore := failWrites(t, j, "shop")
		ch2 := appendLine(2)
		sync := syncByHand(j, &r)
		if err := roundByHand(j, &r); err == nil {
			t.Fatal("the round whose write failed reported nothing")
		}
		if err := <-sync; err == nil {
			t.Error("Sync in the round that failed reported nothing")
		}
		ch3 := appendLine(3)
		if err := roundByHand(j, &r); err == nil {
			t.Fatal("the round after, writes still failing, reported nothing")
		}
		if h := j.Health(); h.Err == nil || h.Failures != 2 || h.Since.IsZero() {
			t.Errorf("health while writes fail: %+v", h)
		}
		for id, ch := range map[int]<-chan error{2: ch2, 3: ch3} {
			select {
			case err := <-ch:
				t.Fatalf("buffered %v: append %d answered (%v) while its line could not be written", buffered, id, err)
			default:
			}
		}
		restore()
		sync = syncByHand(j, &r)
		if err := roundByHand(j, &r); err != nil {
			t.Fatalf("the round after the writes recovered: %v", err)
		}
		for id, ch := range map[int]<-chan error{2: ch2, 3: ch3} {
			select {
			case err := <-ch:
				if err != nil {
					t.Errorf("append %d: %v", id, err)
				}
			default:
				t.Fatalf("buffered %v: append %d not answered once written", buffered, id)
			}
		}
		if err := <-sync; err != nil {
			t.Errorf("Sync after the writes recovered: %v", err)
		}
		if h := j.Health(); h.Err != nil || h.Failures != 2 || !h.Since.IsZero() {
			t.Errorf("health after recovery: %+v", h)
		}
		closeByHand(j)
		got, err := os.ReadFile(jf.f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("buffered %v: the file (%d bytes, NUL bytes: %v) is not the lines appended (%d bytes)",
				buffered, len(got), bytes.IndexByte(got, 0) >= 0, want.Len())
		}
	}
}

// TestJournalPool: the buffers of many sites' bursts go to the journal's
// pool as their files go idle, and the pool holds at most maxPool bytes;
// the lines read back as appended.
func TestJournalPool(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	recv := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC).UnixMilli()
	big := testBatch("s1", 1, 4000) // about 400 KB a line
	for k := range 12 {
		appendBurst(t, j, fmt.Sprintf("site%d", k), recv+int64(k*100), big, 12)
	}
	time.Sleep(idleAfter + 50*time.Millisecond)
	if err := j.Append("other", recv+1000, testBatch("s1", 2, 1)); err != nil {
		t.Fatal(err)
	}
	journalPool.mu.Lock()
	pooled, n := journalPool.bytes, len(journalPool.free)
	journalPool.mu.Unlock()
	if pooled > maxPool || n == 0 {
		t.Fatalf("the pool holds %d buffers, %d bytes; want some, at most %d bytes", n, pooled, maxPool)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	for k := range 12 {
		files, _ := j.Files(fmt.Sprintf("site%d", k), "", "")
		lines := 0
		if err := ReadJournal(files, func(l *wire.Line) error {
			if len(l.Batch.Obs) != len(big.Obs) || l.Batch.Obs[3999].T != big.Obs[3999].T || l.Batch.Obs[3999].Dev != big.Obs[3999].Dev {
				t.Fatalf("site%d: a line of %d observations", k, len(l.Batch.Obs))
			}
			lines++
			return nil
		}, func(_ string, err error) { t.Fatal(err) }); err != nil {
			t.Fatal(err)
		}
		if lines != 12 {
			t.Fatalf("site%d: %d lines, want 12", k, lines)
		}
	}
}

// appendBurst appends n lines of b to site's file at once, received from
// recv on, and waits until they are on disk.
func appendBurst(t *testing.T, j *Journal, site string, recv int64, b *wire.Batch, n int) {
	t.Helper()
	var waits []<-chan error
	for i := range n {
		ch, err := j.AppendAsync(site, recv+int64(i), b)
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, ch)
	}
	for _, ch := range waits {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
}
