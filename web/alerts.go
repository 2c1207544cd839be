package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Alert is a condition raised for a site or sensor until cleared (the
// store's Alert, field for field).
type Alert struct {
	ID      int64  `json:"id"`
	Site    string `json:"site"`
	Sensor  string `json:"sensor,omitempty"`
	Kind    string `json:"kind"` // "offline", "clock", ...
	Message string `json:"message,omitempty"`
	Raised  int64  `json:"raised"`
	Cleared int64  `json:"cleared,omitempty"` // 0 while open
}

// Alerter is implemented by a Backend that keeps alerts; the dashboard then
// shows them. site "" means every site.
type Alerter interface {
	Alerts(ctx context.Context, site string, openOnly bool) ([]Alert, error)
}

// alerts lists alerts: ?site=demo&open=1 (open ones only). Without an
// Alerter backend the list is empty.
func (s *Server) alerts(w http.ResponseWriter, r *http.Request) {
	out := []Alert{}
	if al, ok := s.backend.(Alerter); ok {
		q := r.URL.Query()
		as, err := al.Alerts(r.Context(), q.Get("site"), q.Get("open") != "" && q.Get("open") != "0")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if as != nil {
			out = as
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// createToken makes an API token for the logged-in user:
// {"name": "nightly export", "days": 90} (days 0: never expires). The secret
// is in the answer only.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	u, ok := r.Context().Value(userKey{}).(*User)
	if !ok || s.cfg.Auth == nil {
		httpError(w, http.StatusBadRequest, "no logins on this server (demo): no token needed")
		return
	}
	if t := tokenOf(r); t != nil && t.Kind == "api" {
		// A leaked API token must not make itself heirs that outlive
		// its revocation.
		httpError(w, http.StatusForbidden, "an API token cannot make tokens; log in (a session) to make one")
		return
	}
	var req struct {
		Name string `json:"name"`
		Days int    `json:"days"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || len(req.Name) > 64 || req.Days < 0 || req.Days > 3650 {
		httpError(w, http.StatusBadRequest, `want {"name": "1 to 64 characters", "days": 0..3650} (0: never expires)`)
		return
	}
	secret, tok := NewToken(u.ID, "api", req.Name, time.Duration(req.Days)*24*time.Hour)
	if err := s.cfg.Auth.Users.CreateToken(r.Context(), &tok); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("web: API token created", "user", u.Name, "name", req.Name, "days", req.Days)
	writeJSON(w, http.StatusCreated, map[string]any{"token": secret, "name": req.Name, "expires": tok.Expires,
		"use": "Authorization: Bearer " + secret})
}

// createUser adds a user (admin): {"name": "ian", "role": "installer",
// "password": "at least 10 characters"}.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Auth == nil {
		httpError(w, http.StatusBadRequest, "no logins on this server (demo)")
		return
	}
	var req struct {
		Name     string `json:"name"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, `want {"name": ..., "role": ..., "password": ...}`)
		return
	}
	switch {
	case req.Name == "" || len(req.Name) > 64:
		httpError(w, http.StatusBadRequest, "name: 1 to 64 characters")
		return
	case roleRank[req.Role] == 0:
		httpError(w, http.StatusBadRequest, fmt.Sprintf("role %q: want viewer, installer or admin", req.Role))
		return
	case len(req.Password) < MinPassword:
		httpError(w, http.StatusBadRequest, "password: at least 10 characters")
		return
	}
	if _, err := s.cfg.Auth.Users.UserByName(r.Context(), req.Name); err == nil {
		httpError(w, http.StatusConflict, fmt.Sprintf("user %q exists", req.Name))
		return
	}
	h, err := s.cfg.Auth.HashPassword(req.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u := &User{Name: req.Name, Role: req.Role, PasswordHash: h, Created: s.cfg.Now().UnixMilli()}
	if err := s.cfg.Auth.Users.CreateUser(r.Context(), u); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("web: user created", "by", userOf(r), "name", u.Name, "role", u.Role)
	writeJSON(w, http.StatusCreated, u)
}
