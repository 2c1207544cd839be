package sensor

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func rec(i int) []byte { return []byte(fmt.Sprintf("batch-%06d", i)) }

func drain(t *testing.T, s *Spool) []int {
	t.Helper()
	var got []int
	for {
		data, obs, ok := s.Peek()
		if !ok {
			return got
		}
		n, err := strconv.Atoi(string(data[len("batch-"):]))
		if err != nil || obs != n%7 {
			t.Fatalf("record %q obs %d", data, obs)
		}
		got = append(got, n)
		s.Pop()
	}
}

func checkSeq(t *testing.T, got []int, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Fatalf("got %d records, want %d", len(got), to-from)
	}
	for i, n := range got {
		if n != from+i {
			t.Fatalf("record %d is %d, want %d", i, n, from+i)
		}
	}
}

// TestSpoolSpillsInOrder fills memory, spills to disk while the head is
// being sent, and checks that records leave in the order they came.
func TestSpoolSpillsInOrder(t *testing.T) {
	s, err := OpenSpool(SpoolConfig{MemBytes: 10 * 12, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if !s.Push(rec(i), i%7) {
			t.Fatal("push refused")
		}
	}
	if l := s.Len(); l.Batches != 50 || l.DiskBytes == 0 || l.MemBytes > 120 {
		t.Fatalf("len %+v", l)
	}
	// Take some, push more: these must go behind the disk records.
	var got []int
	for range 15 {
		d, _, _ := s.Peek()
		n, _ := strconv.Atoi(string(d[6:]))
		got = append(got, n)
		s.Pop()
	}
	for i := 50; i < 80; i++ {
		s.Push(rec(i), i%7)
	}
	got = append(got, drain(t, s)...)
	checkSeq(t, got, 0, 80)
	if l := s.Len(); l.Batches != 0 || l.DiskBytes != 0 {
		t.Fatalf("after draining: %+v", l)
	}
}

// TestSpoolSurvivesRestart closes a spool with records in memory and on
// disk and reopens it: all come back, in order.
func TestSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(SpoolConfig{MemBytes: 5 * 12, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		s.Push(rec(i), i%7)
	}
	s.Pop() // record 0 was sent
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSpool(SpoolConfig{MemBytes: 5 * 12, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if l := s2.Len(); l.Batches != 39 {
		t.Fatalf("reopened spool holds %d records, want 39", l.Batches)
	}
	checkSeq(t, drain(t, s2), 1, 40)
}

func TestSpoolCountsOverflow(t *testing.T) {
	s, err := OpenSpool(SpoolConfig{MemBytes: 3 * 12})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		s.Push(rec(i), i%7)
	}
	if d := s.Dropped(); d.Batches != 7 || d.Obs != 3+4+5+6+0+1+2 {
		t.Fatalf("dropped %+v, want 7 batches, 21 observations", d)
	}
	checkSeq(t, drain(t, s), 0, 3) // the oldest are kept, in order
}

// TestSpoolTornTailAfterCrash: a process that died while writing a record
// leaves its first bytes at the end of the last segment. The next process
// must send the whole records before it and everything it queues itself;
// it appended its records behind the torn one, where the reader, taking
// the torn record for the end of the segment being written, never got
// past it: every batch from then on stayed queued for good.
func TestSpoolTornTailAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(SpoolConfig{MemBytes: 1, Dir: dir}) // every record on disk
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		s.Push(rec(i), i%7)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.spool"))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	torn := appendRecord(nil, rec(99), 99%7)
	f, err := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(torn[:len(torn)/2])
	f.Close()

	s2, err := OpenSpool(SpoolConfig{MemBytes: 1, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if l := s2.Len(); l.Batches != 5 {
		t.Fatalf("reopened spool holds %d records, want the 5 whole ones", l.Batches)
	}
	for i := 5; i < 10; i++ {
		if !s2.Push(rec(i), i%7) {
			t.Fatal("push refused")
		}
	}
	checkSeq(t, drain(t, s2), 0, 10)
	if l := s2.Len(); l.Batches != 0 {
		t.Fatalf("after draining the spool still holds %+v", l)
	}
}

// TestSpoolCorruptRecordWhileRunning: a record on disk that goes bad while
// the sensor runs (bit rot, not a torn tail) ends its segment for the
// reader, and the records behind it in that segment are lost. They stayed
// counted: the spool never counted as empty again, so every later batch
// went through the disk, and in the segment being written new records went
// behind the bad one, where the reader never got: lost too. The count now
// drops them (counted as lost), and the segment being written is left for
// a new one.
func TestSpoolCorruptRecordWhileRunning(t *testing.T) {
	dir := t.TempDir()
	const size = 1 << 20
	big := func(i int) []byte {
		b := make([]byte, size)
		copy(b, rec(i))
		return b
	}
	// Record 0 in memory, 1..10 on disk: segments of four records,
	// 1-4, 5-8 and 9-10 (being written).
	s, err := OpenSpool(SpoolConfig{MemBytes: size + 100, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 11 {
		if !s.Push(big(i), i%7) {
			t.Fatal("push refused")
		}
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.spool"))
	if len(segs) != 3 {
		t.Fatalf("segments %v, want 3", segs)
	}
	// Bit rot in the second record of the first and of the last segment.
	for _, name := range []string{segs[0], segs[2]} {
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		off := int64(recHeader+size) + recHeader + 1000
		var b [1]byte
		f.ReadAt(b[:], off)
		b[0] ^= 0x10
		f.WriteAt(b[:], off)
		f.Close()
	}
	read := func() []int {
		var got []int
		for {
			data, _, ok := s.Peek()
			if !ok {
				return got
			}
			n, _ := strconv.Atoi(string(data[len("batch-"):len(rec(0))]))
			got = append(got, n)
			s.Pop()
		}
	}
	got := read()
	if fmt.Sprint(got) != "[0 1 5 6 7 8 9]" {
		t.Fatalf("read %v, want [0 1 5 6 7 8 9] (2-4 and 10 behind bad records)", got)
	}
	if l := s.Len(); l != (SpoolLen{}) {
		t.Errorf("drained, the spool still counts %+v", l)
	}
	if l := s.Lost(); l.Batches != 4 || l.Obs != 2+3+4+3 {
		t.Errorf("lost %+v, want 4 batches, 12 observations", l)
	}
	// The spool is empty: a new batch goes to memory, and is read.
	if !s.Push(rec(11), 11%7) {
		t.Fatal("push refused")
	}
	if l := s.Len(); l.DiskBytes != 0 || l.Batches != 1 {
		t.Errorf("a batch pushed into the empty spool: %+v, want it in memory", l)
	}
	if got := read(); fmt.Sprint(got) != "[11]" {
		t.Fatalf("after the bad records, read %v, want [11]", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
