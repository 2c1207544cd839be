// Package server is `passant serve`: it wires the MQTT ingest, one pipeline
// per site, storage and the web server together, and implements the web
// package's Backend over them. Start order: store, sites, journal recovery,
// broker, ingest, HTTP; shutdown runs the other way round with a deadline.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passant/passant/broker"
	"github.com/passant/passant/calibration"
	"github.com/passant/passant/ingest"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// Config configures a Server.
type Config struct {
	HTTP       string // listen address of the dashboard, API and WebSocket
	MQTT       string // outside broker URL; "" starts the embedded broker
	BrokerAddr string // where the embedded broker listens
	MQTTUser   string // credentials for an outside broker
	MQTTPass   string //
	MQTTTLS    *tls.Config
	ClientID   string   // MQTT client id (stable: the broker keeps the session)
	Prefix     string   // topic prefix
	SiteFiles  []string // site files to load (or update) at start
	DB         string   // postgres://... ; "" for the embedded store in DataDir
	DataDir    string   // embedded store, journal
	Lateness   time.Duration
	// Auth turns on logins (serve); demo runs without.
	Auth bool
	// Migrate applies pending schema migrations at start (always for the
	// embedded store). Without it a stale PostgreSQL schema stops the server.
	Migrate bool
	// Retention of raw observations of devices that never became visitors
	// (default 24 h); all raw observations go after RetainAll (default 31 days).
	Retention time.Duration
	RetainAll time.Duration
	// BrokerUsers, when set, is the file of the embedded broker's logins
	// (see BrokerUser): sensors then must log in and may publish only under
	// their own topics. BrokerTLS makes the embedded broker speak TLS.
	BrokerUsers string
	BrokerTLS   *tls.Config
	// AlertWebhook, when set, gets a JSON POST for every alert raised or
	// cleared.
	AlertWebhook string
	// AlertSilent is how long a sensor may send nothing before it raises an
	// alert (default 5 min).
	AlertSilent time.Duration
	// WriteBuffer bounds the observations held while the database is away.
	WriteBuffer int
	// QueueBatches is the length of each site runner's queue (default
	// 4096). When it is full, ingest goes on and the runner reads the
	// batches it missed from the journal (server/backlog.go).
	QueueBatches int
	// QueueBytes bounds the payloads (plain batches as received) on all
	// site runners' queues together (default 32 MiB): beyond it a runner
	// reads the batches from the journal as when its queue is full, and
	// ingest reuses the payloads' memory at once (server/backlog.go).
	QueueBytes int64
	// Cluster shares the sites among the servers of one database by leases;
	// Instance names this one (default host-pid), LeaseTTL is how long a
	// lease lasts without renewal (default 30 s).
	Cluster  bool
	Instance string
	LeaseTTL time.Duration
	// Anchors are fixed transmitters at known positions (--anchors), per
	// site id; those under "" are every site's. Sensors that transmit
	// (status "tx") are added as anchors by themselves.
	Anchors map[string][]calibration.Anchor
	// SelfWindow is how far back self-calibration looks at each hourly
	// refit (default calibration.DefaultSelfWindow, a day).
	SelfWindow time.Duration
	// PastCache bounds the bytes of the reports' history kept (server/
	// past.go; default 256 MiB); negative keeps none.
	PastCache int
	Version   string
	Log       *slog.Logger
	// Ready, when set, is called with the bound HTTP and broker addresses.
	Ready func(httpAddr, brokerURL string)

	// wrapStore, when set (tests), wraps the store once it is open: a
	// stand-in for a database that fails in a given way.
	wrapStore func(store.Store) store.Store
	// housekeepEvery, when set (tests), is the housekeeping and hours
	// loops' period (default 10 s).
	housekeepEvery time.Duration
}

// Server is a running `passant serve`.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store store.Store

	journal *ingest.Journal
	// lastRecv is the newest receive time recovery found (journal or
	// store): the subscriber's receive clock goes on after it.
	lastRecv ingest.RecvClock
	// payloads is the bytes of payloads on the site runners' queues
	// (Config.QueueBytes).
	payloads atomic.Int64
	broker   *broker.Broker
	sub      *ingest.Subscriber
	// ingest is the configuration of the subscribers (the server's, and a
	// cluster instance's site sessions) but for the client id.
	ingest ingest.Config
	web    *web.Server
	feed   *web.Feed
	cal    *calibration.Service
	writer *writer
	http   *http.Server
	// past keeps the reports' history (past.go); nil when off.
	past     *pastCache
	unstored unstoredAlerts // alerts the store refused (alertstate.go)
	loops    sync.WaitGroup // housekeeping and hoursLoop

	mu    sync.RWMutex
	sites map[string]*siteRunner

	ready       atomic.Bool
	ingesting   atomic.Bool // the journal may have files open (forget.go)
	leasePaused atomic.Bool
	// renewed is when (Unix ns) the leases this instance holds were last
	// all renewed (cluster.go).
	renewed atomic.Int64
	// leaseStop, closed by shutdown once the writer has stored what the
	// sites took, has the lease loop give the leases back; leaseDone is
	// closed when it has.
	leaseStop, leaseDone chan struct{}
	httpAddr             string
	brokerURL            string
	started              time.Time
}

// New checks the configuration.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = "passant-data"
	}
	if cfg.HTTP == "" {
		cfg.HTTP = ":8080"
	}
	if cfg.BrokerAddr == "" {
		cfg.BrokerAddr = ":1883"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = ingest.DefaultPrefix
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.RetainAll <= 0 {
		cfg.RetainAll = 31 * 24 * time.Hour
	}
	if cfg.housekeepEvery <= 0 {
		cfg.housekeepEvery = 10 * time.Second
	}
	if cfg.WriteBuffer <= 0 {
		cfg.WriteBuffer = 2_000_000
	}
	if cfg.QueueBatches <= 0 {
		cfg.QueueBatches = 4096
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = 32 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.AlertSilent <= 0 {
		cfg.AlertSilent = defaultSilent
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.ClientID == "" {
		host, _ := os.Hostname()
		cfg.ClientID = "passant-server-" + host
		if cfg.Cluster {
			cfg.ClientID += "-" + cfg.Instance
		}
	}
	return &Server{cfg: cfg, log: cfg.Log, sites: map[string]*siteRunner{}, feed: &web.Feed{Buffer: 8192}}, nil
}

// Run starts everything and serves until ctx ends, then shuts down in order
// within a deadline.
func (s *Server) Run(ctx context.Context) error {
	s.started = time.Now()
	if err := s.start(ctx); err != nil {
		s.shutdown()
		return err
	}
	<-ctx.Done()
	s.log.Info("shutting down")
	s.shutdown()
	return nil
}

func (s *Server) start(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("server: data directory: %w", err)
	}
	st, err := store.Open(ctx, s.cfg.DB, s.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.store = st
	if s.cfg.wrapStore != nil {
		s.store = s.cfg.wrapStore(st)
	}
	if s.cfg.PastCache >= 0 {
		s.past = newPastCache(cmp.Or(s.cfg.PastCache, pastBytes), pastMaxAge, pastIdle)
		s.store = &watchedStore{Store: s.store, past: s.past}
	}
	if s.cfg.Migrate || st.Backend() == "sqlite" {
		if err := st.Migrate(ctx); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	if err := st.CheckSchema(ctx); err != nil {
		return fmt.Errorf("server: %w (or start with --migrate)", err)
	}
	for _, path := range s.cfg.SiteFiles {
		if err := s.applySiteFile(ctx, path); err != nil {
			return err
		}
	}
	if n, err := s.unstored.load(filepath.Join(s.cfg.DataDir, keptAlertsFile)); err != nil {
		s.log.Error("alerts kept before a restart are lost", "err", err)
	} else if n > 0 {
		s.log.Info("alerts kept before a restart (the database was away) are stored once it answers", "alerts", n)
	}
	s.journal, err = ingest.OpenJournal(filepath.Join(s.cfg.DataDir, "journal"), 0)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.journal.SetLog(s.log)
	s.cal = s.newCalibration()
	s.writer = newWriter(s.store, s.cfg.WriteBuffer, s.log)
	s.writer.dir = filepath.Join(s.cfg.DataDir, "journal")
	s.writer.journal = s.journal
	go s.writer.run(ctx)
	if s.cfg.Cluster {
		if err := s.storeJournalTails(ctx); err != nil {
			return err
		}
	}

	vs, err := st.ListSites(ctx)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	for _, v := range vs {
		if s.cfg.Cluster {
			break // the lease loop starts the sites this instance gets
		}
		site, sv, err := st.Site(ctx, v.Site)
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		if err := s.startSite(ctx, ctx, site, sv); err != nil {
			return err
		}
	}

	brokerURL := s.cfg.MQTT
	mqttUser, mqttPass, mqttTLS := s.cfg.MQTTUser, s.cfg.MQTTPass, s.cfg.MQTTTLS
	if brokerURL == "" {
		bc := broker.Config{Addr: s.cfg.BrokerAddr, Prefix: s.cfg.Prefix, Log: s.log, TLS: s.cfg.BrokerTLS}
		if s.cfg.BrokerUsers != "" {
			users, err := LoadBrokerUsers(s.cfg.BrokerUsers)
			if err != nil {
				return err
			}
			bc.Authenticate, mqttUser, mqttPass = brokerAuth(users, false)
			s.log.Info("embedded broker: sensors log in and publish only under their own topics", "users", len(users))
		} else if s.cfg.Auth {
			// Without logins for sensors, sensors still publish, but
			// nobody but this server reads the observations.
			bc.Authenticate, mqttUser, mqttPass = brokerAuth(nil, true)
			s.log.Warn("embedded broker without --broker-users: any device that reaches it may publish as any sensor; "+
				"give --broker-users so that each sensor logs in and publishes only its own (README, Security)", "addr", s.cfg.BrokerAddr)
		}
		b, err := broker.Start(bc)
		if err != nil {
			if errors.Is(err, broker.ErrAddrInUse) {
				return fmt.Errorf("server: the embedded broker cannot listen on %s, the port is taken: give another with --broker ADDR, or use the broker already there with --mqtt tcp://HOST:PORT", s.cfg.BrokerAddr)
			}
			return fmt.Errorf("server: %w", err)
		}
		s.broker = b
		brokerURL = b.URL()
		if s.cfg.BrokerTLS != nil {
			// The server's own client talks to its own broker on loopback.
			brokerURL = "ssl" + brokerURL[len("tcp"):]
			mqttTLS = &tls.Config{InsecureSkipVerify: true}
		}
		s.log.Info("embedded MQTT broker listening", "addr", b.Addr())
	}
	s.brokerURL = brokerURL

	s.web = web.New(web.Config{Backend: s, Log: s.log, Version: s.cfg.Version, Auth: s.authConfig(),
		Calibration: s.cal.Handler()})
	if s.cfg.Auth {
		if err := s.bootstrapAdmin(ctx); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", s.cfg.HTTP)
	if err != nil {
		return fmt.Errorf("server: http: %w", err)
	}
	s.httpAddr = ln.Addr().String()
	s.http = &http.Server{Handler: s.web, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: httpIdle}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server", "err", err)
		}
	}()
	s.log.Info("dashboard and API listening", "addr", s.httpAddr)

	s.ingesting.Store(true)
	if s.sub, err = s.newSubscriber(brokerURL, mqttUser, mqttPass, mqttTLS); err != nil {
		return err
	}
	connected := make(chan error, 1)
	go func() { connected <- s.sub.Run(ctx) }()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for !s.sub.Connected() {
		select {
		case err := <-connected:
			if err != nil {
				return fmt.Errorf("server: %w", err)
			}
		case <-deadline.C:
			s.log.Warn("broker not reachable yet; retrying in the background", "broker", brokerURL)
			goto up
		case <-time.After(20 * time.Millisecond):
		}
	}
up:
	if s.cfg.Cluster {
		s.renewed.Store(time.Now().UnixNano()) // the first round's deadline
		if err := s.balance(ctx); err != nil {
			return fmt.Errorf("server: leases: %w", err)
		}
		s.leaseStop, s.leaseDone = make(chan struct{}), make(chan struct{})
		go s.leaseLoop(ctx)
	}
	s.loops.Go(func() { s.housekeeping(ctx) })
	s.loops.Go(func() { s.hoursLoop(ctx) })
	s.ready.Store(true)
	if s.cfg.Ready != nil {
		s.cfg.Ready(s.httpAddr, brokerURL)
	}
	return nil
}

// shutdown stops taking data, drains, and closes in order.
func (s *Server) shutdown() {
	s.ready.Store(false)
	if s.sub != nil {
		s.sub.Close(500 * time.Millisecond)
	}
	s.closeSessions()
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.http.Shutdown(ctx)
		cancel()
		s.web.Close() // WebSocket connections are hijacked: Shutdown leaves them
	}
	s.mu.RLock()
	runners := make([]*siteRunner, 0, len(s.sites))
	for _, r := range s.sites {
		runners = append(runners, r)
	}
	s.mu.RUnlock()
	for _, r := range runners {
		r.stop()
	}
	s.awaitLoops(10 * time.Second)
	if s.writer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.writer.drain(ctx); err != nil {
			s.log.Error("shutting down", "err", err)
		}
		cancel()
	}
	if s.leaseStop != nil {
		// Only now, with what the sites took stored, may another instance
		// take them over (it rebuilds them from storage).
		close(s.leaseStop)
		<-s.leaseDone
	}
	if s.broker != nil {
		s.broker.Close()
	}
	if s.journal != nil {
		s.journal.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
}

// lateness is the live pipelines' lateness.
func (s *Server) lateness() time.Duration {
	if s.cfg.Lateness > 0 {
		return s.cfg.Lateness
	}
	return pipeline.DefaultLateness
}

// Ingest returns the counters of the server's MQTT ingest, nil before Run
// has subscribed. Unlike Metrics it waits for no site runner (a runner holds
// its lock while it locates a batch).
func (s *Server) Ingest() *ingest.Counters {
	if s.sub == nil {
		return nil
	}
	return s.sub.C
}

// SyncJournal waits until every batch journaled so far is in the journal's
// files (and on disk): the journal writes its lines in the syncer's rounds,
// so a reader of the files while the server runs (a test's replay) sees a
// line once its round is done.
func (s *Server) SyncJournal() error {
	if s.journal == nil {
		return nil
	}
	return s.journal.Sync()
}

// httpIdle is how long an HTTP connection may wait idle between requests
// (a variable so that a test can shorten it). Without it (no ReadTimeout
// either, which a WebSocket cannot have) an idle keep-alive connection was
// held for ever.
var httpIdle = 2 * time.Minute

// HTTPAddr returns the address the HTTP server listens on.
func (s *Server) HTTPAddr() string { return s.httpAddr }

// BrokerURL returns the URL of the broker the server subscribes to.
func (s *Server) BrokerURL() string { return s.brokerURL }

func (s *Server) applySiteFile(ctx context.Context, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("server: site: %w", err)
	}
	site, err := wire.LoadSite(path)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if len(site.Ignored) > 0 {
		s.log.Warn("site file: ignored fields it does not know (a typo?)", "site", site.Site, "file", path, "fields", site.Ignored)
	}
	v, changed, err := s.store.ApplySiteFile(ctx, site, data)
	if err != nil {
		return fmt.Errorf("server: site %s: %w", site.Site, err)
	}
	if changed {
		s.log.Info("site loaded from file", "site", site.Site, "version", v.Version, "file", path)
	} else {
		s.log.Info("site file unchanged since last loaded; keeping the stored version", "site", site.Site, "version", v.Version)
	}
	return nil
}

func (s *Server) runner(site string) *siteRunner {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sites[site]
}

func (s *Server) runners() []*siteRunner {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*siteRunner, 0, len(s.sites))
	for _, r := range s.sites {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (s *Server) known(site, sensor string) bool {
	r := s.runner(site)
	return r != nil && r.knows(sensor)
}

func (s *Server) deliver(site string, recv int64, b *wire.Batch, drops wire.Drops, at ingest.At) {
	r := s.runner(site)
	if r == nil {
		return
	}
	r.deliver(delivery{recv: recv, b: b, drops: drops}, at)
}

// deliverPlain hands on a checked batch undecoded: its runner decodes it
// (siteRunner.accept), after a burst rather than during it.
func (s *Server) deliverPlain(site string, recv int64, payload []byte, at ingest.At) (kept bool) {
	r := s.runner(site)
	if r == nil {
		return false
	}
	return r.deliver(delivery{recv: recv, payload: payload}, at)
}

func (s *Server) status(site, sensor string, st ingest.Status) {
	if r := s.runner(site); r != nil {
		r.setStatus(sensor, st)
	}
}
