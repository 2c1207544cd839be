package ingest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/passant/passant/wire"
)

// orderedMessage is an MQTT message that notes the order of its
// acknowledgement.
type orderedMessage struct {
	benchMessage
	id    int64
	order *ackOrder
}

type ackOrder struct {
	mu  sync.Mutex
	ids []int64
}

func (m *orderedMessage) Ack() {
	m.order.mu.Lock()
	m.order.ids = append(m.order.ids, m.id)
	m.order.mu.Unlock()
}

func (o *ackOrder) get() []int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int64(nil), o.ids...)
}

// TestSubscriberAcksAfterRetry: batches whose journal write fails (the
// disk full) are delivered, not acknowledged, and stay pending in the
// subscriber; once a later round writes their lines they are acknowledged,
// each once and in arrival order, with no redelivery by the broker (so its
// in-flight window opens again with no reconnect). A status message
// between them waits for their acknowledgements (MQTT 3.1.1: in order).
// The journal's rounds are driven by hand.
func TestSubscriberAcksAfterRetry(t *testing.T) {
	j := newJournal(t.TempDir(), 0) // no syncer: the test runs the rounds
	var r round
	var mu sync.Mutex
	var delivered []int64
	s, err := NewSubscriber(Config{Broker: "tcp://127.0.0.1:1", Journal: j,
		Known: func(site, sensor string) bool { return site == "shop" && sensor == "s1" },
		Deliver: func(_ string, _ int64, b *wire.Batch, _ wire.Drops, _ At) {
			mu.Lock()
			delivered = append(delivered, b.ID)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	order := &ackOrder{}
	send := func(id int64) {
		topic, payload := "passant/shop/s1/obs", wire.AppendBatch(nil, testBatch("s1", id, 40))
		if id == 0 {
			topic, payload = "passant/shop/s1/status", []byte(`{"v":1,"state":"online","captured":1,"published":1,"dropped":0}`)
		}
		s.onMessage(nil, &orderedMessage{benchMessage: benchMessage{topic: topic, payload: payload}, id: id, order: order})
	}
	pending := func(n int) {
		t.Helper()
		waitFor(t, func() bool {
			j.mu.Lock()
			defer j.mu.Unlock()
			return len(j.pending) == n
		})
	}
	send(1)
	pending(1)
	if err := roundByHand(j, &r); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(order.get()) == 1 })

	_, restore := failWrites(t, j, "shop")
	for id := int64(2); id <= 5; id++ {
		send(id)
	}
	send(0) // a status message: acknowledged at once after the ones before
	pending(4)
	for range 3 {
		if err := roundByHand(j, &r); err == nil {
			t.Fatal("a round whose writes failed reported nothing")
		}
	}
	send(6) // comes while the writes fail
	pending(5)
	if err := roundByHand(j, &r); err == nil {
		t.Fatal("a round whose writes failed reported nothing")
	}
	mu.Lock()
	got := fmt.Sprint(delivered)
	mu.Unlock()
	if got != "[1 2 3 4 5 6]" {
		t.Errorf("delivered %s while the journal failed, want every batch", got)
	}
	if acks := order.get(); fmt.Sprint(acks) != "[1]" {
		t.Fatalf("acknowledged %v while their lines could not be written, want [1]", acks)
	}
	if s.C.JournalErr.Load() != 0 || j.Health().Failures != 4 {
		t.Errorf("counted %d failed appends, %d failed rounds; want 0 and 4", s.C.JournalErr.Load(), j.Health().Failures)
	}

	restore()
	if err := roundByHand(j, &r); err != nil {
		t.Fatalf("the round after the writes recovered: %v", err)
	}
	waitFor(t, func() bool { return len(order.get()) == 7 })
	if acks := fmt.Sprint(order.get()); acks != "[1 2 3 4 5 0 6]" {
		t.Errorf("acknowledged %s once written, want [1 2 3 4 5 0 6] (each once, in arrival order)", acks)
	}
	j.mu.Lock()
	files := j.files
	j.mu.Unlock()
	lines := 0
	for _, jf := range files {
		ReadJournal([]string{jf.f.Name()}, func(*wire.Line) error { lines++; return nil }, nil)
	}
	if lines != 6 {
		t.Errorf("journal holds %d lines, want the 6 batches once each", lines)
	}
	closeByHand(j)
}
