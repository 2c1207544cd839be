package ingest

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestDeliverPlain hands the subscriber plain batches, batches that are not
// plain (a dropped observation, an unknown field, white space) and rejected
// ones, with Config.DeliverPlain set as the server sets it. Plain batches
// come to DeliverPlain as their payload, the rest to Deliver decoded, all
// in arrival order; the counters are what they are without DeliverPlain;
// every accepted batch is acknowledged; and the journal reads back as the
// batches delivered (a plain payload decoded by the receiver).
func TestDeliverPlain(t *testing.T) {
	plain1 := wire.AppendBatch(nil, testBatch("s1", 1, 3))
	dropped := wire.AppendBatch(nil, testBatch("s1", 2, 3))
	dropped = bytes.Replace(dropped, []byte(`"rssi":-60`), []byte(`"rssi":60`), 1) // out of range: dropped
	extra := bytes.Replace(wire.AppendBatch(nil, testBatch("s1", 3, 2)), []byte(`{"v":1`), []byte(`{"note":"x","v":1`), 1)
	spaced := bytes.ReplaceAll(wire.AppendBatch(nil, testBatch("s1", 4, 2)), []byte(`,`), []byte(`, `))
	plain5 := wire.AppendBatch(nil, testBatch("s1", 5, 4))
	msgs := []struct {
		topic   string
		payload []byte
	}{
		{"passant/shop/s1/obs", plain1},
		{"passant/shop/s1/obs", []byte("not json")},
		{"passant/shop/s1/obs", dropped},
		{"passant/shop/s1/obs", wire.AppendBatch(nil, testBatch("s2", 9, 2))}, // names another sensor
		{"passant/shop/s1/obs", extra},
		{"passant/shop/s9/obs", wire.AppendBatch(nil, testBatch("s9", 9, 2))}, // unknown sensor
		{"passant/shop/s1/obs", spaced},
		{"passant/shop/s1/obs", plain5},
	}
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			j, err := OpenJournal(t.TempDir(), 0)
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			type delivered struct {
				recv  int64
				b     wire.Batch
				drops int
				plain bool
			}
			var mu sync.Mutex
			var got []delivered
			cfg := Config{Broker: "tcp://127.0.0.1:1", Journal: j,
				Known: func(site, sensor string) bool { return site == "shop" && sensor == "s1" },
				Deliver: func(_ string, recv int64, b *wire.Batch, d wire.Drops, _ At) {
					mu.Lock()
					got = append(got, delivered{recv, *b, d.Total(), false})
					mu.Unlock()
				}}
			if plain {
				cfg.DeliverPlain = func(_ string, recv int64, payload []byte, _ At) bool {
					b, d, err := wire.ParseBatch(payload)
					if err != nil {
						t.Errorf("a plain payload does not decode: %v", err)
					}
					mu.Lock()
					got = append(got, delivered{recv, b, d.Total(), true})
					mu.Unlock()
					return false // decoded: given back at once
				}
			}
			s, err := NewSubscriber(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var acked atomic.Int64
			for _, m := range msgs {
				s.onMessage(nil, &benchMessage{topic: m.topic, payload: append([]byte(nil), m.payload...), acked: &acked})
			}
			s.flush(10 * time.Second)
			for deadline := time.Now().Add(10 * time.Second); acked.Load() < int64(len(msgs)); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d acknowledged", acked.Load(), len(msgs))
				}
			}
			if a, r, u, o, d := s.C.Accepted.Load(), s.C.Rejected.Load(), s.C.Unknown.Load(), s.C.Observation.Load(), s.C.Dropped.Load(); a != 5 || r != 3 || u != 1 || o != 3+2+2+2+4 || d != 1 {
				t.Fatalf("accepted %d rejected %d unknown %d observations %d dropped %d", a, r, u, o, d)
			}
			mu.Lock()
			defer mu.Unlock()
			var ids, viaPlain []int64
			for _, g := range got {
				ids = append(ids, g.b.ID)
				if g.plain {
					viaPlain = append(viaPlain, g.b.ID)
				}
			}
			wantPlain := "[]"
			if plain {
				wantPlain = "[1 5]"
			}
			if fmt.Sprint(ids) != "[1 2 3 4 5]" || fmt.Sprint(viaPlain) != wantPlain {
				t.Fatalf("delivered %v, of which undecoded %v (want [1 2 3 4 5], %s)", ids, viaPlain, wantPlain)
			}
			if err := j.Sync(); err != nil {
				t.Fatal(err)
			}
			files, _ := j.Files("shop", "", "")
			k := 0
			err = ReadJournal(files, func(l *wire.Line) error {
				if k >= len(got) {
					return fmt.Errorf("journal line %d: more lines than batches delivered", l.No)
				}
				g := got[k]
				k++
				if l.Recv != g.recv || l.Drops.Total() != 0 || !reflect.DeepEqual(l.Batch, g.b) {
					return fmt.Errorf("journal line %d: recv %d, batch %+v; delivered recv %d, batch %+v", l.No, l.Recv, l.Batch, g.recv, g.b)
				}
				return nil
			}, func(_ string, err error) { t.Errorf("bad journal line: %v", err) })
			if err != nil || k != len(got) {
				t.Fatalf("journal: %d lines read, %d batches delivered, %v", k, len(got), err)
			}
		})
	}
}
