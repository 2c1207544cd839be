package broker

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// logEvery is how often one kind of broker warning reaches the log: the
// first at once, the rest of the window counted and said with the next.
const logEvery = time.Minute

// limited is the slog handler mochi logs through: its warnings and errors
// pass, each kind (the message) at most once per logEvery, the next one
// saying how many were held back ("suppressed"); its info and debug lines
// (listeners attached, clients connecting and going) do not. A packet
// mochi logs whole (a refused publish, with its payload) is logged by its
// type and topic only.
type limited struct {
	slog.Handler
	rate *rate
}

// rate is the shared state of a limited handler and its derivations.
type rate struct {
	mu   sync.Mutex
	last map[string]time.Time // message -> when it was last logged
	held map[string]int       // message -> how many were held back since
	now  func() time.Time
}

func newLimited(h slog.Handler) limited {
	return limited{h, &rate{last: map[string]time.Time{}, held: map[string]int{}, now: time.Now}}
}

func (l limited) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= slog.LevelWarn && l.Handler.Enabled(ctx, lv)
}

// plainer says what some of mochi's warnings mean.
var plainer = map[string]string{
	"client store quota reached": "dropped a message: the subscriber's window of unacknowledged QoS messages is full (it acknowledges too slowly)",
}

func (l limited) Handle(ctx context.Context, r slog.Record) error {
	held, ok := l.rate.pass(r.Message)
	if !ok {
		return nil
	}
	msg := r.Message
	if p, ok := plainer[msg]; ok {
		msg = p
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if pk, isPacket := a.Value.Any().(packets.Packet); isPacket {
			out.AddAttrs(slog.String("packet", packets.PacketNames[pk.FixedHeader.Type]))
			if pk.TopicName != "" {
				out.AddAttrs(slog.String("topic", pk.TopicName))
			}
			return true
		}
		out.AddAttrs(a)
		return true
	})
	if held > 0 {
		out.AddAttrs(slog.Int("suppressed", held))
	}
	return l.Handler.Handle(ctx, out)
}

// pass reports whether a record with message msg is logged now and, if so,
// how many of its kind were held back before it.
func (r *rate) pass(msg string) (held int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if last, seen := r.last[msg]; seen && now.Sub(last) < logEvery {
		r.held[msg]++
		return 0, false
	}
	held = r.held[msg]
	r.last[msg], r.held[msg] = now, 0
	return held, true
}

func (l limited) WithAttrs(a []slog.Attr) slog.Handler {
	return limited{l.Handler.WithAttrs(a), l.rate}
}

func (l limited) WithGroup(n string) slog.Handler { return limited{l.Handler.WithGroup(n), l.rate} }

// drops is the hook that says when the broker drops a message to a
// subscriber: mochi only counts those (at debug level, or not at all).
type drops struct {
	mqtt.HookBase
	log *slog.Logger
}

func (d *drops) ID() string { return "passant-drops" }

func (d *drops) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnPublishDropped, mqtt.OnQosDropped, mqtt.OnPacketIDExhausted}, []byte{b})
}

// OnPublishDropped: the client's queue of writes was full.
func (d *drops) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) {
	d.log.Warn("dropped a message to a subscriber that reads too slowly (its queue of writes is full)",
		"client", cl.ID, "topic", pk.TopicName)
}

// OnQosDropped: a QoS 1 or 2 message in flight expired or was refused.
func (d *drops) OnQosDropped(cl *mqtt.Client, pk packets.Packet) {
	d.log.Warn("dropped an unacknowledged QoS message (expired or refused)", "client", cl.ID)
}

// OnPacketIDExhausted: every packet id of the client is in flight.
func (d *drops) OnPacketIDExhausted(cl *mqtt.Client, pk packets.Packet) {
	d.log.Warn("dropped a message: every packet id of the subscriber is in flight (it acknowledges too slowly)",
		"client", cl.ID, "topic", pk.TopicName)
}
