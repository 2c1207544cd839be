// Package web is Passant's HTTP side: the JSON API, the WebSocket live
// stream, Prometheus metrics and the embedded dashboard. It knows the rest of
// the system only through the Backend interface.
package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/passant/passant/wire"
)

// Config configures a Server.
type Config struct {
	Backend Backend
	Log     *slog.Logger // default slog.Default()
	Hub     HubConfig
	// Auth, when set, requires a login for everything but /healthz, the
	// login page and the dashboard's static files. Nil serves everyone as
	// admin (passant demo).
	Auth *Auth
	// RateLimit is the number of API requests per second a client (by IP
	// address) may make, with bursts of 4 s worth; 0 means 50, negative
	// means no limit.
	RateLimit float64
	// MaxUpload bounds request bodies, bytes (default 32 MiB).
	MaxUpload int64
	// Calibration, when set, serves the calibration walk's API under
	// /api/sites/{site}/calibration/ (calibration.Service.Handler), behind
	// this server's login (installer), rate limit and CSRF protection.
	Calibration http.Handler
	// Version is shown in the dashboard and /metrics.
	Version string
	// Now is the wall clock (default time.Now), for "today".
	Now func() time.Time
}

// Server serves the API, the live stream and the dashboard.
type Server struct {
	cfg     Config
	backend Backend
	log     *slog.Logger
	hub     *Hub
	mux     *http.ServeMux
	limiter *limiter
	logins  *limiter // login attempts per address
	stats   httpStats
	handler http.Handler
}

// New returns a server over cfg.Backend.
func New(cfg Config) *Server {
	if cfg.Backend == nil {
		panic("web: New without a Backend")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 32 << 20
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 50
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, backend: cfg.Backend, log: cfg.Log, mux: http.NewServeMux()}
	s.hub = NewHub(cfg.Backend, cfg.Hub, cfg.Log)
	s.logins = newLimiter(1, 10)
	if cfg.RateLimit > 0 {
		s.limiter = newLimiter(cfg.RateLimit, 4*cfg.RateLimit)
	}
	s.routes()
	s.handler = s.secure(s.mux)
	return s
}

// Close disconnects the WebSocket clients; call it after
// http.Server.Shutdown.
func (s *Server) Close() { s.hub.Close() }

// Hub returns the server's WebSocket hub.
func (s *Server) Hub() *Hub { return s.hub }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Roles, each allowed what the one before it may do.
const (
	RoleViewer    = "viewer"    // dashboards, reports, live map
	RoleInstaller = "installer" // + site editor, floor plans, calibration
	RoleAdmin     = "admin"     // + POS import, re-processing, erasure of a person, users
)

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /metrics", s.metrics)

	api := func(pattern, role string, h http.HandlerFunc) {
		m.Handle(pattern, s.api(role, h))
	}
	api("GET /api/sites", RoleViewer, s.listSites)
	api("GET /api/sites/{site}", RoleViewer, s.getSite)
	api("PUT /api/sites/{site}", RoleInstaller, s.putSite)
	api("GET /api/sites/{site}/versions", RoleViewer, s.siteVersions)
	api("GET /api/sites/{site}/versions/{version}", RoleViewer, s.siteVersion)
	api("POST /api/sites/{site}/revert", RoleInstaller, s.revertSite)
	api("GET /api/sites/{site}/plan", RoleViewer, s.getPlan)
	api("PUT /api/sites/{site}/plan", RoleInstaller, s.putPlan)
	api("GET /api/sites/{site}/sensors", RoleViewer, s.sensors)
	api("GET /api/sites/{site}/live", RoleViewer, s.live)
	api("GET /api/sites/{site}/ws", RoleViewer, s.ws)
	api("GET /api/sites/{site}/report", RoleViewer, s.report)
	api("GET /api/sites/{site}/report.csv", RoleViewer, s.reportCSV)
	api("GET /api/sites/{site}/forecast", RoleViewer, s.forecast)
	api("GET /api/sites/{site}/heatmap", RoleViewer, s.heatmap)
	api("GET /api/sites/{site}/heatmap.png", RoleViewer, s.heatmapPNG)
	api("POST /api/sites/{site}/pos", RoleAdmin, s.importPOS)
	api("POST /api/sites/{site}/reprocess", RoleAdmin, s.reprocess)
	api("POST /api/sites/{site}/forget", RoleAdmin, s.forget)
	api("GET /api/chain", RoleViewer, s.chain)
	api("GET /api/chain.csv", RoleViewer, s.chainCSV)
	api("GET /api/reports.csv", RoleViewer, s.reportsCSV)
	api("GET /api/me", RoleViewer, s.me)
	api("GET /api/alerts", RoleViewer, s.alerts)
	api("POST /api/tokens", RoleViewer, s.createToken)
	api("POST /api/users", RoleAdmin, s.createUser)
	if s.cfg.Calibration != nil {
		api("/api/sites/{site}/calibration/", RoleInstaller, s.cfg.Calibration.ServeHTTP)
		// Writing what the anchors measured, unattended by anybody on the
		// shop floor, is the admin's.
		api("POST /api/sites/{site}/calibration/selfcal/apply", RoleAdmin, s.cfg.Calibration.ServeHTTP)
		api("POST /api/sites/{site}/calibration/selfcal/revert", RoleAdmin, s.cfg.Calibration.ServeHTTP)
	}

	s.authRoutes()
	s.staticRoutes()
}

// api wraps an API handler with the rate limit, the role check and a body
// limit.
func (s *Server) api(role string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.stats.requests.Add(1)
		if s.limiter != nil && !s.limiter.allow(clientKey(r), s.cfg.Now()) {
			s.stats.limited.Add(1)
			w.Header().Set("Retry-After", "1")
			httpError(w, http.StatusTooManyRequests, "too many requests; slow down")
			return
		}
		if !s.authorize(w, r, role) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUpload)
		h(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !s.backend.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "starting")
		return
	}
	if err := s.backend.Unhealthy(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, err)
		return
	}
	fmt.Fprintln(w, "ok")
}

// writeJSON writes v as the JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "encode: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte{'\n'})
}

// httpError writes {"error": msg}.
func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(b)
	w.Write([]byte{'\n'})
}

// fail answers for a backend error: 404 for ErrNotFound, 400 for ErrInvalid,
// else 500 (logged; the message does not leak internals).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ErrNotFound):
		httpError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrInvalid):
		httpError(w, http.StatusBadRequest, err.Error())
	case errors.As(err, &mbe):
		httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", mbe.Limit))
	case r.Context().Err() != nil:
		// The client went away.
	default:
		s.log.Error("web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		httpError(w, http.StatusInternalServerError, "internal error; see the server log")
	}
}

// siteOf loads the site named in the path.
func (s *Server) siteOf(w http.ResponseWriter, r *http.Request) (*wire.Site, SiteVersion, bool) {
	id := r.PathValue("site")
	if !wire.ValidID(id) {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("site %q is not a valid id", id))
		return nil, SiteVersion{}, false
	}
	site, v, err := s.backend.Site(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return nil, SiteVersion{}, false
	}
	return site, v, true
}

// timeRange reads from and to (default: the site's local today). Each is
// Unix ms, RFC 3339, or a local date YYYY-MM-DD; a date in "to" means the
// end of that day.
func (s *Server) timeRange(r *http.Request, site *wire.Site) (from, to int64, err error) {
	loc := site.Location()
	now := s.cfg.Now().In(loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	from, to = day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli()
	q := r.URL.Query()
	if v := q.Get("from"); v != "" {
		if from, err = parseTime(v, loc, false); err != nil {
			return 0, 0, fmt.Errorf("from: %w", err)
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = parseTime(v, loc, true); err != nil {
			return 0, 0, fmt.Errorf("to: %w", err)
		}
	}
	if to <= from {
		return 0, 0, fmt.Errorf("to (%d) is not after from (%d)", to, from)
	}
	if to-from > 400*24*3600*1000 {
		return 0, 0, errors.New("range over 400 days")
	}
	return from, to, nil
}

func parseTime(v string, loc *time.Location, endOfDay bool) (int64, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return ms, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t.UnixMilli(), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UnixMilli(), nil
	}
	return 0, fmt.Errorf("%q is neither Unix ms, YYYY-MM-DD nor RFC 3339", v)
}

// clientIP is the request's remote address without the port.
func clientIP(r *http.Request) string {
	a := r.RemoteAddr
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		a = a[:i]
	}
	return a
}

// clientKey is the key of r's client for the rate limits: its IPv4
// address, or the /64 network of its IPv6 address. One host or network is
// given a /64 (or more), so per IPv6 address a client could take a fresh
// budget of login guesses for every one of its 2^64 addresses.
func clientKey(r *http.Request) string {
	ip, err := netip.ParseAddr(strings.Trim(clientIP(r), "[]"))
	if err != nil {
		return clientIP(r)
	}
	if ip = ip.Unmap(); ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
