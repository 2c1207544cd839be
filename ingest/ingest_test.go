package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/wire"
)

func brokerURL(t *testing.T) string {
	u := os.Getenv("PASSANT_TEST_MQTT")
	if u == "" {
		t.Skip("set PASSANT_TEST_MQTT (e.g. tcp://127.0.0.1:1883) to run")
	}
	return u
}

func testBatch(sensor string, id int64, n int) *wire.Batch {
	b := &wire.Batch{V: 1, Sensor: sensor, Boot: 1700000000000, ID: id, Sent: 1700000001000 + id*1000}
	for i := 0; i < n; i++ {
		b.Obs = append(b.Obs, wire.Observation{T: 1700000000500 + id*1000 + int64(i), Dev: wire.Dev(i + 1), RSSI: -60, Ch: 6, Seq: int(id*10) + i})
	}
	return b
}

func TestCheck(t *testing.T) {
	known := func(site, sensor string) bool { return site == "shop" && sensor == "s1" }
	good := wire.AppendBatch(nil, testBatch("s1", 1, 3))
	if _, _, err := Check("shop", "s1", good, known); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Check("shop", "s2", good, known); !errors.Is(err, wire.ErrSensorMismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	other := wire.AppendBatch(nil, testBatch("s2", 1, 3))
	if _, _, err := Check("shop", "s2", other, known); !errors.Is(err, wire.ErrUnknownSensor) {
		t.Fatalf("unknown: %v", err)
	}
	if _, _, err := Check("shop", "s1", []byte("{"), known); !errors.Is(err, wire.ErrNotJSON) {
		t.Fatalf("junk: %v", err)
	}
}

func TestJournalRoundTrip(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	day1 := time.Date(2026, 12, 3, 23, 59, 59, 0, time.UTC).UnixMilli()
	day2 := day1 + 2000
	for i := int64(1); i <= 5; i++ {
		recv := day1
		if i > 3 {
			recv = day2
		}
		if err := j.Append("shop", recv, testBatch("s1", i, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := JournalFiles(dir, "shop", "", "")
	if err != nil || len(files) != 2 || !strings.HasSuffix(files[0], "2026-12-03.jsonl") {
		t.Fatalf("files %v %v", files, err)
	}
	// A torn line, as after a crash, is skipped and reported.
	f, _ := os.OpenFile(files[1], os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"recv":1,"batch":{"v":1,"sens`)
	f.Close()
	var ids []int64
	var bad int
	err = ReadJournal(files, func(l *wire.Line) error {
		ids = append(ids, l.Batch.ID)
		if l.Recv == 0 || len(l.Batch.Obs) != 2 {
			return fmt.Errorf("line %d: %+v", l.No, l)
		}
		return nil
	}, func(string, error) { bad++ })
	if err != nil || fmt.Sprint(ids) != "[1 2 3 4 5]" || bad != 1 {
		t.Fatalf("ids %v bad %d err %v", ids, bad, err)
	}
}

// TestSubscriberMosquitto publishes good and bad batches through a real
// broker and checks what is delivered, journaled, counted and acknowledged.
func TestSubscriberMosquitto(t *testing.T) {
	url := brokerURL(t)
	prefix := fmt.Sprintf("passant-test-%d", time.Now().UnixNano())
	dir := t.TempDir()
	j, err := OpenJournal(filepath.Join(dir, "journal"), 2*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var mu sync.Mutex
	var got []int64
	var statuses []Status
	done := make(chan struct{}, 100)
	sub, err := NewSubscriber(Config{
		Broker: url, ClientID: prefix + "-server", Prefix: prefix, Journal: j,
		Known: func(site, sensor string) bool { return site == "shop" && sensor == "s1" },
		Deliver: func(site string, recv int64, b *wire.Batch, d wire.Drops, _ At) {
			mu.Lock()
			got = append(got, b.ID)
			mu.Unlock()
			done <- struct{}{}
		},
		Status: func(site, sensor string, s Status) {
			mu.Lock()
			statuses = append(statuses, s)
			mu.Unlock()
			done <- struct{}{}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sub.Run(ctx)
	defer sub.Close(100 * time.Millisecond)
	waitFor(t, sub.Connected)
	time.Sleep(200 * time.Millisecond) // subscription in place

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(prefix + "-pub"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	send := func(topic string, payload []byte) {
		if tok := pub.Publish(topic, 1, false, payload); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	obs := prefix + "/shop/s1/obs"
	send(obs, wire.AppendBatch(nil, testBatch("s1", 1, 2)))
	send(obs, []byte("not json"))
	send(obs, wire.AppendBatch(nil, testBatch("s2", 2, 2)))                   // names another sensor
	send(prefix+"/shop/s9/obs", wire.AppendBatch(nil, testBatch("s9", 3, 2))) // unknown sensor
	send(prefix+"/other/s1/obs", wire.AppendBatch(nil, testBatch("s1", 4, 2)))
	send(obs, wire.AppendBatch(nil, testBatch("s1", 5, 2)))
	send(prefix+"/shop/s1/status", []byte(`{"v":1,"state":"online","captured":5,"published":5,"dropped":0}`))
	send(prefix+"/shop/s1/status", []byte(`{"v":1,"state":"online","captured":6,"published":6,"dropped":0,"tx":{"dev":"00000000000000a1","every_ms":30000,"sent":3}}`))
	send(prefix+"/shop/s1/status", []byte(`{"v":1,"state":"online","captured":7,"published":7,"dropped":0,"tx":{"dev":"NOT-A-DEV"}}`))
	for i := 0; i < 5; i++ {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out; got %v", got)
		}
	}
	waitFor(t, func() bool { return sub.C.Rejected.Load() == 4 })
	// Every one of the 9 messages is acknowledged (rejected ones too, the
	// accepted ones once journaled), the last at LastAcked.
	waitFor(t, func() bool { return sub.C.Acked.Load() == 9 })
	if at := sub.C.LastAcked.Load(); at == 0 || time.Since(time.Unix(0, at)) > time.Minute {
		t.Errorf("LastAcked %d", at)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != "[1 5]" || len(statuses) != 3 {
		t.Fatalf("delivered %v, statuses %+v", got, statuses)
	}
	// The status extension "tx" is read; a bad one loses only itself.
	if st := statuses[1]; st.Tx == nil || st.Tx.Dev != 0xa1 || st.Tx.EveryMS != 30000 || st.Tx.Sent != 3 || statuses[0].Tx != nil {
		t.Errorf("statuses %+v %+v", statuses[0], st)
	}
	if st := statuses[2]; st.Tx != nil || st.Captured != 7 || st.State != "online" {
		t.Errorf("status with a bad tx: %+v", st)
	}
	if sub.C.Unknown.Load() != 2 || sub.C.Accepted.Load() != 2 || sub.C.Observation.Load() != 4 {
		t.Fatalf("counters: unknown %d accepted %d obs %d", sub.C.Unknown.Load(), sub.C.Accepted.Load(), sub.C.Observation.Load())
	}
	sub.Close(100 * time.Millisecond)
	j.Close() // syncs what is buffered
	files, _ := j.Files("shop", "", "")
	n := 0
	ReadJournal(files, func(*wire.Line) error { n++; return nil }, nil)
	if n != 2 {
		t.Fatalf("journal holds %d lines, want 2", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met within 10 s")
}
