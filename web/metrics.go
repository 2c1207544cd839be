package web

import (
	"bufio"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// httpStats counts API requests.
type httpStats struct {
	requests atomic.Int64
	limited  atomic.Int64
	denied   atomic.Int64
}

// metrics writes the backend's metrics and the web server's own in the
// Prometheus text format (version 0.0.4).
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	ms := s.backend.Metrics()
	h := s.hub
	lag := 0.0
	if t := h.lastT.Load(); t > 0 {
		lag = float64(s.cfg.Now().UnixMilli()-t) / 1000
	}
	ms = append(ms,
		Metric{Name: "passant_websocket_clients", Help: "WebSocket clients connected.", Kind: "gauge", Value: float64(h.Clients())},
		Metric{Name: "passant_websocket_dropped_total", Help: "Slow WebSocket clients disconnected.", Kind: "counter", Value: float64(h.Kicked())},
		Metric{Name: "passant_websocket_messages_total", Help: "Messages queued to WebSocket clients.", Kind: "counter", Value: float64(h.msgs.Load())},
		Metric{Name: "passant_live_events_total", Help: "Live events the hub took from the backend.", Kind: "counter", Value: float64(h.events.Load())},
		Metric{Name: "passant_live_lag_seconds", Help: "Wall clock minus the event time of the latest live fix streamed.", Kind: "gauge", Value: lag},
		Metric{Name: "passant_http_api_requests_total", Help: "API requests.", Kind: "counter", Value: float64(s.stats.requests.Load())},
		Metric{Name: "passant_http_rate_limited_total", Help: "API requests refused by the rate limit.", Kind: "counter", Value: float64(s.stats.limited.Load())},
		Metric{Name: "passant_http_denied_total", Help: "API requests refused for want of a login or role.", Kind: "counter", Value: float64(s.stats.denied.Load())},
		Metric{Name: "passant_ready", Help: "1 when the server takes observations: ready, and nothing keeps it from journaling them (as /healthz).", Kind: "gauge", Value: b2f(s.backend.Ready() && s.backend.Unhealthy() == nil)},
	)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	WriteMetrics(bw, ms)
	bw.Flush()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// WriteMetrics writes ms in the Prometheus text format, samples of one name
// together under one HELP and TYPE line.
func WriteMetrics(w *bufio.Writer, ms []Metric) {
	order := []string{}
	byName := map[string][]Metric{}
	for _, m := range ms {
		if _, ok := byName[m.Name]; !ok {
			order = append(order, m.Name)
		}
		byName[m.Name] = append(byName[m.Name], m)
	}
	for _, name := range order {
		group := byName[name]
		if group[0].Help != "" {
			w.WriteString("# HELP " + name + " " + escapeHelp(group[0].Help) + "\n")
		}
		kind := group[0].Kind
		if kind == "" {
			kind = "untyped"
		}
		w.WriteString("# TYPE " + name + " " + kind + "\n")
		for _, m := range group {
			w.WriteString(name)
			if len(m.Labels) > 0 {
				w.WriteByte('{')
				for i, k := range slices.Sorted(maps.Keys(m.Labels)) {
					if i > 0 {
						w.WriteByte(',')
					}
					w.WriteString(k + `="` + escapeLabel(m.Labels[k]) + `"`)
				}
				w.WriteByte('}')
			}
			w.WriteByte(' ')
			w.WriteString(strconv.FormatFloat(m.Value, 'g', -1, 64))
			w.WriteByte('\n')
		}
	}
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }

// limiter is a token bucket per client address.
type limiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*bucket
	lastSweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate, burst float64) *limiter {
	return &limiter{rate: rate, burst: burst, buckets: make(map[string]*bucket)}
}

// allow takes a token from key's bucket at now.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
