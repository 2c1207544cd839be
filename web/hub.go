package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/passant/passant/wire"
)

// Hub streams live events to WebSocket clients. Per site with at least one
// client it holds one subscription to the backend, coalesces the events per
// track, and every Tick sends one update message, encoded once, to each
// client. A client whose bounded queue is full is disconnected: a slow browser
// never holds up the hub, and the hub never holds up the backend (whose
// Subscribe channel drops rather than waits).
//
// Messages (JSON text frames), the first one always a snapshot:
//
//	{"type":"snapshot","site":"demo","t":...,"tracks":[position...],"occupancy":{"store":3}}
//	{"type":"update","t":...,"tracks":[position...],"gone":["k7"],"occupancy":{...}}
//	{"type":"site","version":4}
//
// A position is a positions.jsonl line; "occupancy" appears in an update
// only when it changed; "site" says the site was changed (reload it).
type Hub struct {
	backend Backend
	log     *slog.Logger
	cfg     HubConfig

	mu    sync.Mutex
	sites map[string]*siteHub

	clients atomic.Int64 // connected now
	kicked  atomic.Int64 // slow clients disconnected
	msgs    atomic.Int64 // messages queued to clients
	events  atomic.Int64 // backend events taken in
	lastT   atomic.Int64 // event time of the latest fix taken in
}

// HubConfig tunes a Hub; zero fields take the defaults.
type HubConfig struct {
	Tick         time.Duration // update period (default 250 ms)
	ClientBuffer int           // messages queued per client before it is dropped (default 32)
	WriteWait    time.Duration // write deadline (default 10 s)
	PongWait     time.Duration // read deadline, renewed by each pong (default 60 s)
	MaxClients   int           // connected at once, all sites (default 2000); more are refused with 503
}

func (c *HubConfig) defaults() {
	if c.Tick <= 0 {
		c.Tick = 250 * time.Millisecond
	}
	if c.ClientBuffer <= 0 {
		c.ClientBuffer = 32
	}
	if c.WriteWait <= 0 {
		c.WriteWait = 10 * time.Second
	}
	if c.PongWait <= 0 {
		c.PongWait = 60 * time.Second
	}
	if c.MaxClients <= 0 {
		c.MaxClients = 2000
	}
}

// NewHub returns a hub over b.
func NewHub(b Backend, cfg HubConfig, log *slog.Logger) *Hub {
	cfg.defaults()
	if log == nil {
		log = slog.Default()
	}
	return &Hub{backend: b, cfg: cfg, log: log, sites: make(map[string]*siteHub)}
}

// Clients returns the number of connected WebSocket clients.
func (h *Hub) Clients() int64 { return h.clients.Load() }

// Kicked returns how many slow clients were disconnected.
func (h *Hub) Kicked() int64 { return h.kicked.Load() }

// SiteChanged tells the site's clients to reload the site.
func (h *Hub) SiteChanged(site string, version int) {
	h.mu.Lock()
	sh := h.sites[site]
	h.mu.Unlock()
	if sh != nil {
		sh.broadcast([]byte(`{"type":"site","version":` + strconv.Itoa(version) + `}`))
	}
}

// Close disconnects every client and ends every subscription (hijacked
// WebSocket connections outlive http.Server.Shutdown). Clients that connect
// afterwards are served again.
func (h *Hub) Close() {
	h.mu.Lock()
	sites := make([]*siteHub, 0, len(h.sites))
	for _, sh := range h.sites {
		sites = append(sites, sh)
	}
	h.mu.Unlock()
	// The close frames are written without the site hubs' locks: each may
	// wait up to a second for a client that does not read.
	var clients []*client
	for _, sh := range sites {
		sh.mu.Lock()
		for c := range sh.clients {
			clients = append(clients, c)
		}
		sh.mu.Unlock()
	}
	closeAll(clients, websocket.CloseGoingAway, "server shutting down")
}

// closeAll writes a close frame with code and reason to each client (a
// second's deadline each) and disconnects it.
func closeAll(clients []*client, code int, reason string) {
	for _, c := range clients {
		c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		c.kick()
	}
}

// siteHub is the hub of one site.
type siteHub struct {
	hub    *Hub
	site   string
	refs   int // guarded by hub.mu
	cancel context.CancelFunc

	mu      sync.Mutex // guards clients and dead
	clients map[*client]struct{}
	dead    bool // the subscription ended

	// Owned by the run goroutine.
	pending  map[string]wire.Position
	gone     map[string]struct{}
	occ      map[string]int
	occDirty bool
	buf      []byte
	events   int64 // taken in since the last flush
	lastT    int64 // newest fix time
}

// join adds c to the site's clients and queues the snapshot as its first
// message. It starts the site's subscription for the first client.
func (h *Hub) join(ctx context.Context, site string, c *client) error {
	h.mu.Lock()
	sh := h.sites[site]
	if sh == nil {
		sctx, cancel := context.WithCancel(context.Background())
		events, err := h.backend.Subscribe(sctx, site)
		if err != nil {
			cancel()
			h.mu.Unlock()
			return err
		}
		sh = &siteHub{hub: h, site: site, cancel: cancel, clients: make(map[*client]struct{}),
			pending: make(map[string]wire.Position), gone: make(map[string]struct{})}
		h.sites[site] = sh
		go sh.run(events)
	}
	sh.refs++
	h.mu.Unlock()

	// c joins first, waiting: the updates broadcast from now on are kept
	// for it (broadcast). The snapshot is then taken without the hub's
	// locks, as the backend may wait for its own (the runner's, while it
	// locates a batch) and the hub must flush and read its subscription
	// meanwhile. c gets the snapshot and then the updates kept: some are
	// older than the snapshot, which the browser takes in order (the newest
	// fix per track wins, gone and occupancy as they came), none newer is
	// missed.
	sh.mu.Lock()
	if sh.dead {
		sh.mu.Unlock()
		h.leave(sh)
		return errors.New("the live stream just ended; reconnect")
	}
	c.sh, c.waiting = sh, true
	sh.clients[c] = struct{}{}
	h.clients.Add(1)
	sh.mu.Unlock()
	snap, err := h.backend.Live(ctx, site)
	sh.mu.Lock()
	_, joined := sh.clients[c] // not if the stream ended or c was too slow meanwhile
	if err != nil || !joined {
		if joined {
			delete(sh.clients, c)
			h.clients.Add(-1)
		}
		sh.mu.Unlock()
		h.leave(sh)
		if err == nil {
			err = errors.New("the live stream ended while joining; reconnect")
		}
		return err
	}
	// c.send holds ClientBuffer+1 and waits hold at most ClientBuffer.
	c.send <- encodeSnapshot(nil, site, snap)
	for _, msg := range c.early {
		c.send <- msg
	}
	h.msgs.Add(int64(1 + len(c.early)))
	c.waiting, c.early = false, nil
	sh.mu.Unlock()
	return nil
}

// leaveClient removes c; the last client to leave ends the subscription.
func (h *Hub) leaveClient(c *client) {
	sh := c.sh
	sh.mu.Lock()
	if _, ok := sh.clients[c]; ok {
		delete(sh.clients, c)
		h.clients.Add(-1)
	}
	sh.mu.Unlock()
	h.leave(sh)
}

func (h *Hub) leave(sh *siteHub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sh.refs--
	if sh.refs <= 0 {
		if h.sites[sh.site] == sh {
			delete(h.sites, sh.site)
		}
		sh.cancel()
	}
}

// run takes the backend's events and flushes every tick until the
// subscription ends.
func (sh *siteHub) run(events <-chan Event) {
	t := time.NewTicker(sh.hub.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				sh.ended()
				return
			}
			sh.apply(ev)
		case <-t.C:
			sh.flush()
		}
	}
}

// ended handles the end of the subscription: when the backend ended it (not
// the last client leaving), the clients are disconnected so that they
// reconnect and subscribe afresh.
func (sh *siteHub) ended() {
	h := sh.hub
	h.mu.Lock()
	if h.sites[sh.site] == sh {
		delete(h.sites, sh.site)
	}
	h.mu.Unlock()
	sh.mu.Lock()
	sh.dead = true
	clients := make([]*client, 0, len(sh.clients))
	for c := range sh.clients {
		delete(sh.clients, c)
		h.clients.Add(-1)
		clients = append(clients, c)
	}
	sh.mu.Unlock()
	closeAll(clients, websocket.CloseTryAgainLater, "live stream ended; reconnect")
}

func (sh *siteHub) apply(ev Event) {
	sh.events++
	switch {
	case ev.Position != nil:
		p := ev.Position
		if old, ok := sh.pending[p.Track]; !ok || p.T >= old.T {
			sh.pending[p.Track] = *p
		}
		if len(sh.gone) > 0 {
			delete(sh.gone, p.Track)
		}
		sh.lastT = max(sh.lastT, p.T)
	case ev.Gone != "":
		delete(sh.pending, ev.Gone)
		sh.gone[ev.Gone] = struct{}{}
	case ev.Occupancy != nil:
		sh.occ = ev.Occupancy
		sh.occDirty = true
	}
}

// flush encodes the pending changes once and queues them to every client.
func (sh *siteHub) flush() {
	sh.hub.events.Add(sh.events)
	sh.events = 0
	if t := sh.hub.lastT.Load(); sh.lastT > t {
		sh.hub.lastT.CompareAndSwap(t, sh.lastT)
	}
	if len(sh.pending) == 0 && len(sh.gone) == 0 && !sh.occDirty {
		return
	}
	b := sh.buf[:0]
	var t int64
	b = append(b, `{"type":"update","tracks":[`...)
	tracks := make([]string, 0, len(sh.pending))
	for id := range sh.pending {
		tracks = append(tracks, id)
	}
	slices.Sort(tracks)
	for i, id := range tracks {
		p := sh.pending[id]
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendPosition(b, &p)
		t = max(t, p.T)
	}
	b = append(b, `],"gone":[`...)
	gone := make([]string, 0, len(sh.gone))
	for id := range sh.gone {
		gone = append(gone, id)
	}
	slices.Sort(gone)
	for i, id := range gone {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, id)
	}
	b = append(b, ']')
	if sh.occDirty {
		b = append(b, `,"occupancy":`...)
		b = appendCounts(b, sh.occ)
	}
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, '}')
	sh.buf = b
	clear(sh.pending)
	clear(sh.gone)
	sh.occDirty = false
	// The message is shared by all clients, so it must not be reused.
	msg := slices.Clone(b)
	sh.broadcast(msg)
}

func (sh *siteHub) broadcast(msg []byte) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for c := range sh.clients {
		if c.waiting {
			if len(c.early) < sh.hub.cfg.ClientBuffer {
				c.early = append(c.early, msg) // sent after its snapshot (join)
				continue
			}
			// Its snapshot took longer than its queue's worth of updates.
			sh.drop(c)
			continue
		}
		select {
		case c.send <- msg:
			sh.hub.msgs.Add(1)
		default:
			// Too slow: drop it rather than wait or queue without bound.
			sh.drop(c)
		}
	}
}

// drop disconnects a slow client (under sh.mu).
func (sh *siteHub) drop(c *client) {
	delete(sh.clients, c)
	sh.hub.clients.Add(-1)
	sh.hub.kicked.Add(1)
	sh.hub.log.Info("web: slow WebSocket client dropped", "site", sh.site, "remote", c.remote)
	c.kick()
}

func encodeSnapshot(b []byte, site string, s *Snapshot) []byte {
	b = append(b, `{"type":"snapshot","site":`...)
	b = strconv.AppendQuote(b, site)
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, s.T, 10)
	b = append(b, `,"tracks":[`...)
	for i := range s.Tracks {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendPosition(b, &s.Tracks[i])
	}
	b = append(b, `],"occupancy":`...)
	b = appendCounts(b, s.Occupancy)
	return append(b, '}')
}

func appendCounts(b []byte, m map[string]int) []byte {
	if m == nil {
		return append(b, "{}"...)
	}
	j, _ := json.Marshal(m) // sorted keys
	return append(b, j...)
}

// client is one WebSocket connection.
type client struct {
	conn   *websocket.Conn
	sh     *siteHub
	remote string
	send   chan []byte
	done   chan struct{}
	once   sync.Once
	// waiting while join takes its snapshot; early are the updates
	// broadcast meanwhile (both under sh.mu).
	waiting bool
	early   [][]byte
}

func (c *client) kick() {
	c.once.Do(func() {
		close(c.done)
		c.conn.Close()
	})
}

var upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 16 << 10}

// serveWS upgrades the request and streams the site until the client goes.
// The upgrader's default origin check refuses cross-site pages.
func (h *Hub) serveWS(w http.ResponseWriter, r *http.Request, site string) {
	if h.Clients() >= int64(h.cfg.MaxClients) {
		w.Header().Set("Retry-After", "10")
		httpError(w, http.StatusServiceUnavailable, "too many live clients; try again later")
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &client{conn: conn, remote: r.RemoteAddr, send: make(chan []byte, h.cfg.ClientBuffer+1), done: make(chan struct{})}
	if err := h.join(r.Context(), site, c); err != nil {
		h.log.Warn("web: live stream", "site", site, "err", err)
		conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseInternalServerErr, "site unavailable"),
			time.Now().Add(time.Second))
		conn.Close()
		return
	}
	go h.writePump(c)
	h.readPump(c)
	h.leaveClient(c)
	c.kick()
}

// readPump reads (and discards) client messages so that pongs and the close
// handshake are seen; the read deadline drops a client that stops answering
// pings.
func (h *Hub) readPump(c *client) {
	c.conn.SetReadLimit(4096)
	c.conn.SetReadDeadline(time.Now().Add(h.cfg.PongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(h.cfg.PongWait))
	})
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			return
		}
	}
}

func (h *Hub) writePump(c *client) {
	ping := time.NewTicker(h.cfg.PongWait * 9 / 10)
	defer ping.Stop()
	defer c.kick()
	for {
		select {
		case msg := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(h.cfg.WriteWait))
			if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				return
			}
		case <-ping.C:
			c.conn.SetWriteDeadline(time.Now().Add(h.cfg.WriteWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		case <-c.done:
			return
		}
	}
}
