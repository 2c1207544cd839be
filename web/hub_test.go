package web

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/passant/passant/wire"
)

// liveMsg is a hub message as the browser reads it.
type liveMsg struct {
	Type      string          `json:"type"`
	T         int64           `json:"t"`
	Tracks    []wire.Position `json:"tracks"`
	Gone      []string        `json:"gone"`
	Occupancy map[string]int  `json:"occupancy"`
	Version   int             `json:"version"`
}

func dialWS(t testing.TB, srv *httptest.Server, site string) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/sites/" + site + "/ws"
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return c
}

func readMsg(t *testing.T, c *websocket.Conn) liveMsg {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m liveMsg
	if err := c.ReadJSON(&m); err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

// waitFor polls cond until it holds; the deadline only guards a hang.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fix(track string, t int64, x, y float64) wire.Position {
	return wire.Position{T: t, Track: track, Dev: 0x3f9a0c1d2e4b5a69, X: x, Y: y, Err: 1.5, Zone: "store", N: 3}
}

func TestLiveSnapshotThenCoalescedUpdates(t *testing.T) {
	b := newDemoBackend()
	b.publish("demo", fix("k1", 1000, 5, 5))
	b.setOccupancy("demo", map[string]int{"store": 1})
	srv := newTestServer(t, b, Config{Hub: HubConfig{Tick: 20 * time.Millisecond}})
	c := dialWS(t, srv, "demo")
	defer c.Close()

	m := readMsg(t, c)
	if m.Type != "snapshot" || len(m.Tracks) != 1 || m.Tracks[0].Track != "k1" || m.Occupancy["store"] != 1 {
		t.Fatalf("first message %+v, want the snapshot", m)
	}
	waitFor(t, "the subscription", func() bool { return b.Subscribers("demo") == 1 })

	// Ten fixes of k2 and one of k3 within a tick arrive as the newest per
	// track. Publish them under the hub's nose: hold its flush by
	// publishing faster than a tick, then read until both tracks came.
	for i := range 10 {
		b.publish("demo", fix("k2", 2000+int64(i), float64(i), 1))
	}
	b.publish("demo", fix("k3", 2500, 7, 7))
	b.setOccupancy("demo", map[string]int{"store": 3, "aisle-1": 1})
	b.gone("demo", "k1")
	latest := map[string]wire.Position{}
	var occ map[string]int
	gone := map[string]bool{}
	updates := 0
	for latest["k2"].T != 2009 || latest["k3"].T == 0 || occ == nil || !gone["k1"] {
		m := readMsg(t, c)
		if m.Type != "update" {
			t.Fatalf("got %q, want updates", m.Type)
		}
		updates++
		seen := map[string]bool{}
		for _, p := range m.Tracks {
			if seen[p.Track] {
				t.Fatalf("track %s twice in one update", p.Track)
			}
			seen[p.Track] = true
			latest[p.Track] = p
		}
		for _, g := range m.Gone {
			gone[g] = true
		}
		if m.Occupancy != nil {
			occ = m.Occupancy
		}
	}
	if updates > 11 {
		t.Fatalf("%d updates for 13 events: not coalesced", updates)
	}
	if occ["store"] != 3 || latest["k2"].X != 9 || latest["k2"].Err != 1.5 {
		t.Fatalf("occupancy %v, k2 %+v", occ, latest["k2"])
	}

	// A site change is announced.
	srv.Config.Handler.(*Server).Hub().SiteChanged("demo", 7)
	for {
		m := readMsg(t, c)
		if m.Type == "site" {
			if m.Version != 7 {
				t.Fatalf("site message %+v", m)
			}
			break
		}
	}
}

func TestLiveReconnectGetsFreshSnapshot(t *testing.T) {
	b := newDemoBackend()
	srv := newTestServer(t, b, Config{Hub: HubConfig{Tick: 10 * time.Millisecond}})
	c := dialWS(t, srv, "demo")
	if m := readMsg(t, c); m.Type != "snapshot" || len(m.Tracks) != 0 {
		t.Fatalf("first snapshot %+v", m)
	}
	c.Close()
	hub := srv.Config.Handler.(*Server).Hub()
	waitFor(t, "the hub to forget the client", func() bool { return hub.Clients() == 0 && b.Subscribers("demo") == 0 })

	b.publish("demo", fix("k9", 5000, 3, 4)) // while nobody listens
	c = dialWS(t, srv, "demo")
	defer c.Close()
	m := readMsg(t, c)
	if m.Type != "snapshot" || len(m.Tracks) != 1 || m.Tracks[0].Track != "k9" || m.T != 5000 {
		t.Fatalf("snapshot after reconnect %+v, want k9", m)
	}
}

func TestLiveUnknownSite(t *testing.T) {
	srv := newTestServer(t, newDemoBackend(), Config{})
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/sites/nope/ws"
	_, res, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || res == nil || res.StatusCode != 404 {
		t.Fatalf("dial unknown site: %v %v, want 404", err, res)
	}
}

// TestSlowClientDoesNotBlockPublishing: a client that never reads fills
// its socket and queue and is dropped; publishing never waits, and a client
// that reads keeps getting every update.
func TestSlowClientDoesNotBlockPublishing(t *testing.T) {
	b := newDemoBackend()
	srv := newTestServer(t, b, Config{Hub: HubConfig{Tick: 2 * time.Millisecond, ClientBuffer: 4}})
	hub := srv.Config.Handler.(*Server).Hub()

	// The slow client: a raw WebSocket that reads nothing after the
	// handshake, with a tiny receive buffer.
	slow := dialWS(t, srv, "demo")
	if tc, ok := slow.NetConn().(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	defer slow.Close()
	fast := dialWS(t, srv, "demo")
	defer fast.Close()
	if m := readMsg(t, fast); m.Type != "snapshot" {
		t.Fatal("no snapshot")
	}
	waitFor(t, "two clients", func() bool { return hub.Clients() == 2 })

	// Publish fat updates (500 tracks) until the slow client is dropped. The
	// fast one reads in the background.
	var last atomic.Int64
	go func() {
		for {
			fast.SetReadDeadline(time.Now().Add(30 * time.Second))
			var m liveMsg
			if err := fast.ReadJSON(&m); err != nil {
				return
			}
			last.Store(max(last.Load(), m.T))
		}
	}()
	var t0 int64 = 1_000_000
	published := 0
	for hub.Kicked() == 0 {
		for k := range 500 {
			b.publish("demo", fix(fmt.Sprintf("k%d", k), t0, float64(k%30), float64(k%20)))
		}
		published += 500
		t0++
		if published > 50_000_000 {
			t.Fatal("slow client never dropped")
		}
		time.Sleep(time.Millisecond)
	}
	if hub.Kicked() != 1 {
		t.Fatalf("%d clients dropped, want only the slow one", hub.Kicked())
	}
	waitFor(t, "one client left", func() bool { return hub.Clients() == 1 })
	// The fast client still gets the newest fix.
	b.publish("demo", fix("last", t0+1000, 1, 1))
	waitFor(t, "the fast client to get the newest fix", func() bool { return last.Load() == t0+1000 })
	t.Logf("published %d fixes; slow client dropped, feed drops %d", published, b.Dropped())
}

func TestHubCloseDisconnectsClients(t *testing.T) {
	b := newDemoBackend()
	srv := newTestServer(t, b, Config{})
	s := srv.Config.Handler.(*Server)
	c := dialWS(t, srv, "demo")
	defer c.Close()
	readMsg(t, c)
	s.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("after Close: %v, want close 1001", err)
	}
	waitFor(t, "no clients and no subscription", func() bool { return s.Hub().Clients() == 0 && b.Subscribers("demo") == 0 })
}

// endingBackend ends every subscription when told to.
type endingBackend struct {
	*memBackend
	mu     sync.Mutex
	cancel []context.CancelFunc
}

func (e *endingBackend) Subscribe(ctx context.Context, site string) (<-chan Event, error) {
	ctx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.cancel = append(e.cancel, cancel)
	e.mu.Unlock()
	return e.memBackend.Subscribe(ctx, site)
}

func (e *endingBackend) endAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.cancel {
		c()
	}
}

func TestLiveSubscriptionEndedByBackend(t *testing.T) {
	b := &endingBackend{memBackend: newDemoBackend()}
	srv := newTestServer(t, b, Config{Hub: HubConfig{Tick: 10 * time.Millisecond}})
	c := dialWS(t, srv, "demo")
	defer c.Close()
	readMsg(t, c)
	waitFor(t, "the subscription", func() bool { return b.Subscribers("demo") == 1 })
	b.endAll()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseTryAgainLater) {
		t.Fatalf("after the backend ended the stream: %v, want close 1013", err)
	}
	// A new client subscribes afresh and gets updates.
	c2 := dialWS(t, srv, "demo")
	defer c2.Close()
	readMsg(t, c2)
	waitFor(t, "a new subscription", func() bool { return b.Subscribers("demo") == 1 })
	b.publish("demo", fix("k5", 99, 1, 2))
	if m := readMsg(t, c2); m.Type != "update" || len(m.Tracks) != 1 || m.Tracks[0].Track != "k5" {
		t.Fatalf("update after resubscribe: %+v", m)
	}
}

func TestLiveClientLimit(t *testing.T) {
	srv := newTestServer(t, newDemoBackend(), Config{Hub: HubConfig{MaxClients: 2}})
	hub := srv.Config.Handler.(*Server).Hub()
	for range 2 {
		c := dialWS(t, srv, "demo")
		defer c.Close()
		readMsg(t, c)
	}
	waitFor(t, "two clients", func() bool { return hub.Clients() == 2 })
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/sites/demo/ws"
	_, res, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || res == nil || res.StatusCode != 503 {
		t.Fatalf("third client: %v %v, want 503", err, res)
	}
}

// TestLiveSilentClientDropped: a client that stops answering pings is
// dropped once its read deadline passes.
func TestLiveSilentClientDropped(t *testing.T) {
	b := newDemoBackend()
	srv := newTestServer(t, b, Config{Hub: HubConfig{PongWait: 300 * time.Millisecond}})
	hub := srv.Config.Handler.(*Server).Hub()
	c := dialWS(t, srv, "demo") // never reads again, so never answers a ping
	defer c.Close()
	waitFor(t, "the client", func() bool { return hub.Clients() == 1 })
	waitFor(t, "the silent client to be dropped", func() bool { return hub.Clients() == 0 && b.Subscribers("demo") == 0 })
}
