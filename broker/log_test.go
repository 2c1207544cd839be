package broker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
)

// records is a slog handler that keeps what it is given.
type records struct {
	mu  sync.Mutex
	all []slog.Record
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.all = append(h.all, r.Clone())
	return nil
}
func (h *records) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *records) WithGroup(string) slog.Handler      { return h }

// matching returns the records whose message holds s, as text.
func (h *records) matching(s string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.all {
		if strings.Contains(r.Message, s) {
			line := r.Level.String() + " " + r.Message
			r.Attrs(func(a slog.Attr) bool {
				line += " " + a.String()
				return true
			})
			out = append(out, line)
		}
	}
	return out
}

// TestDropIsWarned overruns a subscriber that acknowledges nothing, with
// the window of unacknowledged messages lowered to 100: the 50 messages
// past it are dropped, and the log says so once, at warning level; a drop
// after the minute says so again with how many were held back.
func TestDropIsWarned(t *testing.T) {
	defer func(n uint16) { inflight = n }(inflight)
	inflight = 100
	rec := &records{}
	b, err := Start(Config{Addr: "127.0.0.1:0", Log: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := lateAcker(t, b)
	var mu sync.Mutex
	got := 0
	if tok := srv.Subscribe("passant/#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		got++
		mu.Unlock()
	}); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("sensor"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(50)
	publish := func(n int) {
		for i := range n {
			tok := pub.Publish("passant/shop/s1/obs", 1, false, fmt.Appendf(nil, `{"secret-payload":%d}`, i))
			if tok.WaitTimeout(5*time.Second) && tok.Error() != nil {
				t.Fatal(tok.Error())
			}
		}
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not within 10 s: %s", what)
			}
		}
	}
	publish(150)
	waitFor("50 dropped", func() bool { return b.Dropped() == 50 })
	waitFor("100 received", func() bool { mu.Lock(); defer mu.Unlock(); return got == 100 })
	const drop = "dropped a message"
	warned := rec.matching(drop)
	if len(warned) != 1 || !strings.HasPrefix(warned[0], "WARN ") || !strings.Contains(warned[0], "client=server") {
		t.Fatalf("50 drops logged as %q, want one warning", warned)
	}
	// A minute later the next drop is said again, with the 49 held back.
	l := b.srv.Log.Handler().(limited)
	l.rate.mu.Lock()
	l.rate.now = func() time.Time { return time.Now().Add(2 * logEvery) }
	l.rate.mu.Unlock()
	publish(1)
	waitFor("51 dropped", func() bool { return b.Dropped() == 51 })
	warned = rec.matching(drop)
	if len(warned) != 2 || !strings.Contains(warned[1], "suppressed=49") {
		t.Fatalf("after a minute: %q", warned)
	}
	for _, r := range rec.matching("") {
		if strings.Contains(r, "secret-payload") {
			t.Fatalf("a payload in the log: %s", r)
		}
	}
}

// TestBrokerLogLeavesPacketsOut: a packet mochi logs whole is logged by
// its type and topic, and info lines do not pass.
func TestBrokerLogLeavesPacketsOut(t *testing.T) {
	rec := &records{}
	log := slog.New(newLimited(rec))
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "passant/shop/x/obs",
		Payload: []byte("secret-payload")}
	log.Warn("error processing packet", "error", "refused", "pk", pk)
	log.Info("attached listener", "id", "tcp")
	all := rec.matching("")
	if len(all) != 1 || strings.Contains(all[0], "secret-payload") ||
		!strings.Contains(all[0], "packet=Publish") || !strings.Contains(all[0], "topic=passant/shop/x/obs") {
		t.Fatalf("logged %q", all)
	}
}
