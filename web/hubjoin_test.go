package web

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// slowLive is a backend whose snapshot, while armed, is taken and then
// held until released: the server's runner holding its lock (a long batch,
// a rebuild) while a browser connects.
type slowLive struct {
	*memBackend
	armed   atomic.Bool
	taken   chan struct{}
	release chan struct{}
}

func (s *slowLive) Live(ctx context.Context, site string) (*Snapshot, error) {
	snap, err := s.memBackend.Live(ctx, site)
	if s.armed.Load() {
		s.taken <- struct{}{}
		<-s.release
	}
	return snap, err
}

// TestLiveJoinWhileSnapshotWaits: while a second browser's snapshot waits
// (slowLive), the first keeps getting every update, and the second gets
// its snapshot and then each fix published since it was taken. Before,
// join held the site hub's lock while the backend took the snapshot: the
// hub neither flushed nor read its subscription meanwhile, the first
// client got nothing and the feed dropped what its buffer could not hold.
func TestLiveJoinWhileSnapshotWaits(t *testing.T) {
	b := &slowLive{memBackend: newDemoBackend(), taken: make(chan struct{}), release: make(chan struct{})}
	b.Feed.Buffer = 8
	b.publish("demo", fix("k0", 1000, 5, 5))
	srv := newTestServer(t, b, Config{Hub: HubConfig{Tick: 5 * time.Millisecond, ClientBuffer: 64}})
	first := dialWS(t, srv, "demo")
	defer first.Close()
	if m := readMsg(t, first); m.Type != "snapshot" {
		t.Fatalf("first client: %+v, want the snapshot", m)
	}
	waitFor(t, "the subscription", func() bool { return b.Subscribers("demo") == 1 })

	b.armed.Store(true)
	type dialed struct {
		c   *websocket.Conn
		err error
	}
	second := make(chan dialed, 1)
	go func() {
		url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/sites/demo/ws"
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		second <- dialed{c, err}
	}()
	<-b.taken // the second client's snapshot is taken and held
	const n = 20
	for i := 1; i <= n; i++ {
		track := fmt.Sprintf("k%d", i)
		b.publish("demo", fix(track, 1000+int64(i), float64(i%10), 2))
		for got := false; !got; {
			m := readMsg(t, first)
			for _, p := range m.Tracks {
				got = got || p.Track == track
			}
		}
	}
	close(b.release)
	d := <-second
	if d.err != nil {
		t.Fatal(d.err)
	}
	c := d.c
	defer c.Close()
	m := readMsg(t, c)
	if m.Type != "snapshot" || len(m.Tracks) != 1 || m.Tracks[0].Track != "k0" {
		t.Fatalf("second client's first message %+v, want the snapshot as taken (k0 only)", m)
	}
	seen := map[string]bool{}
	for len(seen) < n {
		m := readMsg(t, c)
		if m.Type != "update" {
			t.Fatalf("second client: %q after the snapshot, want updates", m.Type)
		}
		for _, p := range m.Tracks {
			seen[p.Track] = true
		}
	}
	if d := b.Dropped(); d != 0 {
		t.Errorf("the feed dropped %d events", d)
	}
}
