// Package broker runs the embedded MQTT broker that `passant serve` and
// `passant demo` start when no outside broker is given, so a one-box shop
// needs nothing but the binary. It is mochi-mqtt with Passant's access
// rules: each sensor may publish only under its own topics.
package broker

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/passant/passant/wire"
)

// Identity is who a connecting client is: a sensor of a site, or a server
// (which may subscribe to everything). The zero Identity is anonymous.
type Identity struct {
	Site, Sensor string
	Server       bool
	// AnySensor may publish as any sensor of any site (obs and status),
	// and subscribe to nothing: an anonymous sensor where sensors do not
	// log in.
	AnySensor bool
}

// Config configures a Broker.
type Config struct {
	Addr   string      // listen address, e.g. ":1883" or "127.0.0.1:0"
	TLS    *tls.Config // when set, the listener speaks MQTT over TLS
	Prefix string      // topic prefix, default "passant"
	// Authenticate checks a client's credentials. Nil lets everyone in with
	// full rights (the demo, or a broker on a private network).
	Authenticate func(username string, password []byte) (Identity, bool)
	Log          *slog.Logger
	// MaxPacket bounds the size of a packet a client may send, bytes
	// (default MaxPacket): mochi allocates a packet's claimed length before
	// it reads it, so without a bound five bytes from anyone who can reach
	// the port, before any login, cost 256 MB.
	MaxPacket uint32
}

// MaxPacket is the default packet size limit: the contract's largest batch
// (wire.MaxBatchLen) and room for the topic and headers.
const MaxPacket = wire.MaxBatchLen + 64<<10

// A subscriber (the server) may have many thousands of QoS 1 messages
// outstanding after a burst; past these limits mochi drops them
// (TestLaggingSubscriberLosesNothing). 65,535 is the packet id space.
// Variables so that a test can lower them.
var (
	writesPending int32  = 65535 // messages queued for writing to one client
	inflight      uint16 = 65535 // QoS messages one client has not acknowledged
)

// ErrAddrInUse is returned when the listen address is taken.
var ErrAddrInUse = errors.New("address in use")

// Broker is a running embedded broker.
type Broker struct {
	srv  *mqtt.Server
	addr string
}

// Start listens and serves until Close.
func Start(cfg Config) (*Broker, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "passant"
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = writesPending
	caps.MaximumInflight = inflight
	caps.ReceiveMaximum = 1024
	caps.MaximumPacketSize = cfg.MaxPacket
	if caps.MaximumPacketSize == 0 {
		caps.MaximumPacketSize = MaxPacket
	}
	// mochi's warnings and errors (a message dropped to a subscriber, a
	// client's bad packet) reach the log, each kind at most once a minute;
	// its info and debug lines do not (log.go).
	blog := slog.New(newLimited(log.Handler())).With("component", "broker")
	srv := mqtt.New(&mqtt.Options{
		InlineClient: true,
		Capabilities: caps,
		Logger:       blog,
	})
	if err := srv.AddHook(&access{cfg: cfg}, nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if err := srv.AddHook(&drops{log: blog}, nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("broker: listen %s: %w", cfg.Addr, ErrAddrInUse)
		}
		return nil, fmt.Errorf("broker: listen %s: %w", cfg.Addr, err)
	}
	ln = connectDeadline{ln}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	l := listeners.NewNet("tcp", ln)
	if err := srv.AddListener(l); err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker: listen %s: %w", cfg.Addr, err)
	}
	if err := srv.Serve(); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	return &Broker{srv: srv, addr: l.Address()}, nil
}

// connectWait is how long a new connection has to send its CONNECT packet
// (and finish its TLS handshake); a variable so that a test can shorten it.
var connectWait = 10 * time.Second

// connectDeadline gives each connection it accepts a deadline of
// connectWait. mochi sets none until it has read the CONNECT packet (then
// the client's keep-alive), so a client that connected and sent nothing held
// its connection, two goroutines and their buffers for ever, and enough of
// them took every file descriptor of the process: sensors, the server's own
// subscriber and the dashboard shut out.
type connectDeadline struct{ net.Listener }

func (l connectDeadline) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		c.SetDeadline(time.Now().Add(connectWait))
	}
	return c, err
}

// Addr returns the address the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL returns a client URL for the broker on the loopback interface.
func (b *Broker) URL() string {
	_, port, _ := net.SplitHostPort(b.addr)
	return "tcp://127.0.0.1:" + port
}

// Dropped returns how many messages the broker has dropped to subscribers
// (a queue of writes full, every packet id or the window of unacknowledged
// messages in use).
func (b *Broker) Dropped() int64 {
	return atomic.LoadInt64(&b.srv.Info.MessagesDropped) + atomic.LoadInt64(&b.srv.Info.InflightDropped)
}

// Clients returns the number of connected clients.
func (b *Broker) Clients() int64 { return b.srv.Info.ClientsConnected }

// Close stops the broker and disconnects its clients.
func (b *Broker) Close() error { return b.srv.Close() }

// access is the authentication and ACL hook.
type access struct {
	mqtt.HookBase
	cfg Config
	ids sync.Map // *mqtt.Client -> Identity, set when it authenticates
}

func (a *access) ID() string { return "passant-access" }

func (a *access) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnDisconnect}, []byte{b})
}

func (a *access) identity(cl *mqtt.Client) (Identity, bool) {
	if a.cfg.Authenticate == nil {
		return Identity{Server: true}, true
	}
	v, ok := a.ids.Load(cl)
	if !ok {
		return Identity{}, false
	}
	return v.(Identity), true
}

func (a *access) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	a.ids.Delete(cl)
}

func (a *access) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if cl.Net.Inline {
		return true
	}
	if a.cfg.Authenticate == nil {
		return true
	}
	id, ok := a.cfg.Authenticate(string(pk.Connect.Username), pk.Connect.Password)
	if ok {
		a.ids.Store(cl, id)
	}
	return ok
}

// OnACLCheck lets a server do anything, a sensor publish only to
// <prefix>/<its site>/<itself>/obs and /status, and an AnySensor to
// <prefix>/<any>/<any>/obs and /status.
func (a *access) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	id, ok := a.identity(cl)
	if !ok {
		return false
	}
	if id.Server {
		return true
	}
	if !write {
		return false
	}
	if id.AnySensor {
		p := strings.Split(topic, "/")
		return len(p) == 4 && p[0] == a.cfg.Prefix && (p[3] == "obs" || p[3] == "status")
	}
	own := a.cfg.Prefix + "/" + id.Site + "/" + id.Sensor + "/"
	rest, ok := strings.CutPrefix(topic, own)
	return ok && (rest == "obs" || rest == "status")
}
