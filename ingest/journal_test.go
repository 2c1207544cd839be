package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestJournalConcurrent appends from several goroutines, two of them across
// a UTC day boundary, while the syncer fsyncs: every append is answered
// without error, Sync sees every line in the files before Close, and each
// goroutine's lines are in its order; through direct I/O (where the
// system has it) and through the page cache.
func TestJournalConcurrent(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		t.Run(fmt.Sprintf("buffered=%v", buffered), func(t *testing.T) { journalConcurrent(t, buffered) })
	}
}

func journalConcurrent(t *testing.T, buffered bool) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	j.buffered = buffered
	day1 := time.Date(2026, 12, 3, 23, 59, 59, 0, time.UTC).UnixMilli()
	const writers, each = 6, 150
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			site := fmt.Sprintf("site%d", w%3)
			var waits []<-chan error
			for i := range each {
				recv := day1 + int64(i)*10 // crosses midnight at i = 100
				ch, err := j.AppendAsync(site, recv, testBatch(fmt.Sprintf("s%d", w), int64(i+1), 5))
				if err != nil {
					errs <- err
					return
				}
				waits = append(waits, ch)
			}
			for _, ch := range waits {
				if err := <-ch; err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for s := range 3 {
		site := fmt.Sprintf("site%d", s)
		files, err := JournalFiles(dir, site, "", "")
		if err != nil || len(files) != 2 {
			t.Fatalf("%s: files %v %v", site, files, err)
		}
		last := map[string]int64{}
		err = ReadJournal(files, func(l *wire.Line) error {
			if l.Batch.ID <= last[l.Batch.Sensor] {
				return fmt.Errorf("%s: batch %d after %d", l.Batch.Sensor, l.Batch.ID, last[l.Batch.Sensor])
			}
			last[l.Batch.Sensor] = l.Batch.ID
			total++
			return nil
		}, func(file string, err error) { t.Errorf("%s: %v", file, err) })
		if err != nil {
			t.Fatal(err)
		}
	}
	if total != writers*each {
		t.Fatalf("%d lines, want %d", total, writers*each)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.AppendAsync("site0", day1, testBatch("s0", 1000, 1)); err == nil {
		t.Fatal("append after Close accepted")
	}
}

// BenchmarkJournal appends batches of 1,220 observations as the subscriber
// does: AppendAsync in arrival order and, beside it, one goroutine waiting
// for each append's fsync in that order (the acknowledgements), with at most
// window appends unanswered (the broker's in-flight limit).
func BenchmarkJournal(b *testing.B) {
	for _, window := range []int{100, 1000} {
		b.Run(fmt.Sprintf("inflight=%d", window), func(b *testing.B) {
			j, err := OpenJournal(b.TempDir(), 0)
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			batch := testBatch("s1", 1, 1220)
			b.SetBytes(int64(len(wire.AppendJournalLine(nil, 1, batch)) + 1))
			acks := make(chan (<-chan error), window)
			done := make(chan error, 1)
			go func() {
				var first error
				for ch := range acks {
					if err := <-ch; err != nil && first == nil {
						first = err
					}
				}
				done <- first
			}()
			recv := time.Now().UnixMilli()
			start := time.Now()
			n := 0
			for b.Loop() {
				n++
				recv++
				batch.ID++
				ch, err := j.AppendAsync("shop", recv, batch)
				if err != nil {
					b.Fatal(err)
				}
				acks <- ch
			}
			close(acks)
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			secs := time.Since(start).Seconds()
			b.ReportMetric(float64(n*len(batch.Obs))/secs, "obs/s")
			b.ReportMetric(float64(n)/secs, "batches/s")
		})
	}
}

// BenchmarkIngestPath is the subscriber's work per message without the
// MQTT client: messages of 1,220 observations handed to its handler as the
// client hands them over; decoded with the contract's checks (on one
// goroutine, and on GOMAXPROCS), then in order checked for a known sensor,
// journaled and delivered (nowhere), and acknowledged once their line is
// synced. obs/s counts until the last acknowledgement; cpu-µs/batch is
// the process's CPU time (user and system) per batch, which a busy machine
// disturbs less than the wall time. Each message gets a payload of its own,
// as the client allocates one per message. deliver=plain is the server's
// set-up (Config.DeliverPlain: a plain batch only checked, handed on
// undecoded), deliver=batch the decoded one.
func BenchmarkIngestPath(b *testing.B) {
	batch := &wire.Batch{V: wire.Version, Sensor: "s1", Boot: 1700000000000, ID: 1, Sent: 1700000001000}
	for i := range 1220 {
		batch.Obs = append(batch.Obs, wire.Observation{T: 1700000000000 + int64(i), Dev: wire.Dev(0x9e3779b97f4a7c15 * uint64(i+1)),
			RSSI: float64(-40 - i%50), Ch: 1 + i%11, Kind: "probe", Rand: i%3 != 0, Seq: i % 4096})
	}
	payload := wire.AppendBatch(nil, batch)
	for _, plain := range []bool{false, true} {
		for _, decoders := range []int{1, runtime.GOMAXPROCS(0)} {
			name := fmt.Sprintf("deliver=batch/decoders=%d", decoders)
			if plain {
				name = fmt.Sprintf("deliver=plain/decoders=%d", decoders)
			}
			b.Run(name, func(b *testing.B) {
				j, err := OpenJournal(b.TempDir(), 0)
				if err != nil {
					b.Fatal(err)
				}
				defer j.Close()
				cfg := Config{Broker: "tcp://127.0.0.1:1", Journal: j, Decoders: decoders,
					Known:   func(site, sensor string) bool { return site == "shop" && sensor == "s1" },
					Deliver: func(string, int64, *wire.Batch, wire.Drops, At) {}}
				if plain {
					cfg.DeliverPlain = func(string, int64, []byte, At) bool { return false }
				}
				s, err := NewSubscriber(cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(payload)))
				var acked atomic.Int64
				start, cpu0 := time.Now(), cpuTime()
				n := 0
				for b.Loop() {
					n++
					s.onMessage(nil, &benchMessage{topic: "passant/shop/s1/obs", payload: append([]byte(nil), payload...), acked: &acked})
				}
				for acked.Load() < int64(n) {
					time.Sleep(50 * time.Microsecond)
				}
				if s.C.Accepted.Load() != int64(n) || s.C.Observation.Load() != int64(n*len(batch.Obs)) {
					b.Fatalf("%d of %d accepted, %d observations", s.C.Accepted.Load(), n, s.C.Observation.Load())
				}
				b.ReportMetric(float64(n*len(batch.Obs))/time.Since(start).Seconds(), "obs/s")
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(n)/1e3, "cpu-µs/batch")
			})
		}
	}
}

// cpuTime is the process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchMessage is an MQTT message as the client hands it over.
type benchMessage struct {
	topic   string
	payload []byte
	acked   *atomic.Int64
}

func (m *benchMessage) Duplicate() bool   { return false }
func (m *benchMessage) Qos() byte         { return 1 }
func (m *benchMessage) Retained() bool    { return false }
func (m *benchMessage) Topic() string     { return m.topic }
func (m *benchMessage) MessageID() uint16 { return 1 }
func (m *benchMessage) Payload() []byte   { return m.payload }
func (m *benchMessage) Ack()              { m.acked.Add(1) }

// TestJournalTornTail opens a journal whose last line was cut off (the
// server killed while it wrote it) and appends: the torn part is dropped,
// and the line appended after it, the same batch delivered again, reads
// back whole. Before, the new line ran on from the torn part and neither
// could be read: a batch acknowledged and lost.
func TestJournalTornTail(t *testing.T) {
	dir := t.TempDir()
	recv := time.Date(2026, 12, 5, 0, 19, 24, 0, time.UTC).UnixMilli()
	whole := wire.AppendJournalLine(nil, recv, testBatch("s1", 1, 3))
	torn := wire.AppendJournalLine(nil, recv+1, testBatch("s1", 2, 1000))
	for _, cut := range []int{1, len(torn) / 2, len(torn) - 2} {
		site := fmt.Sprintf("cut%d", cut)
		if err := os.MkdirAll(filepath.Join(dir, site), 0o750); err != nil {
			t.Fatal(err)
		}
		data := append(append(append([]byte(nil), whole...), '\n'), torn[:cut]...)
		if err := os.WriteFile(filepath.Join(dir, site, "2026-12-05.jsonl"), data, 0o640); err != nil {
			t.Fatal(err)
		}
		j, err := OpenJournal(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Append(site, recv+2, testBatch("s1", 2, 1000)); err != nil {
			t.Fatal(err)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		files, _ := j.Files(site, "", "")
		var ids []int64
		bad := 0
		if err := ReadJournal(files, func(l *wire.Line) error { ids = append(ids, l.Batch.ID); return nil },
			func(string, error) { bad++ }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids) != "[1 2]" || bad != 0 {
			t.Errorf("torn after %d of %d bytes: read ids %v, %d bad lines; want [1 2], none bad", cut, len(torn), ids, bad)
		}
	}
}
