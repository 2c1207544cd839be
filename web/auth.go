package web

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// User is someone who may log in (the store's User, field for field).
type User struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Role         string `json:"role"`
	PasswordHash string `json:"-"`
	Created      int64  `json:"created"`
}

// Token is a login session or an API token; Hash is the hex SHA-256 of the
// secret, which is never stored (the store's Token, field for field).
type Token struct {
	Hash     string `json:"-"`
	UserID   int64  `json:"user_id"`
	Kind     string `json:"kind"` // "session" or "api"
	Name     string `json:"name,omitempty"`
	Created  int64  `json:"created"`
	Expires  int64  `json:"expires"` // 0: never
	LastUsed int64  `json:"last_used"`
}

// Users keeps users and tokens: the part of the store's Auth that logging in
// needs. Errors wrap ErrNotFound when there is no such user or live token.
type Users interface {
	CountUsers(ctx context.Context) (int, error)
	CreateUser(ctx context.Context, u *User) error
	UserByName(ctx context.Context, name string) (*User, error)
	CreateToken(ctx context.Context, t *Token) error
	TokenUser(ctx context.Context, hash string, now int64) (*User, *Token, error)
	DeleteToken(ctx context.Context, hash string) error
}

// Auth checks logins. Sessions are cookies (HttpOnly, SameSite=Strict);
// scripts and tools send "Authorization: Bearer <token>" with an API token.
// State changes from other sites are refused by the server's cross-origin
// protection, so the cookie cannot be ridden (CSRF).
type Auth struct {
	Users Users
	// SessionTTL is how long a login lasts (default 7 days).
	SessionTTL time.Duration
	// Iterations of PBKDF2-SHA256 for new password hashes (default 200,000).
	Iterations int

	dummyOnce sync.Once
	dummyHash string // checked for unknown names (login)
}

// checkPassword is CheckPassword; a test counts the checks.
var checkPassword = CheckPassword

// dummy returns a hash of a random password made as users' are: a login
// under an unknown name checks it, so that it costs what a wrong password
// does and its answer's time does not tell which names exist.
func (a *Auth) dummy() string {
	a.dummyOnce.Do(func() {
		a.dummyHash, _ = a.HashPassword(randomToken(12))
	})
	return a.dummyHash
}

const sessionCookie = "passant_session"

var roleRank = map[string]int{RoleViewer: 1, RoleInstaller: 2, RoleAdmin: 3}

type userKey struct{}

// userOf names the logged-in user of r, for logs.
func userOf(r *http.Request) string {
	if u, ok := r.Context().Value(userKey{}).(*User); ok {
		return u.Name
	}
	return "anonymous"
}

// Bootstrap creates the first admin when there are no users, with a random
// password, and returns it ("" when users exist): the caller says it once.
func (a *Auth) Bootstrap(ctx context.Context) (name, password string, err error) {
	n, err := a.Users.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", "", err
	}
	password = NewPassword()
	h, err := a.HashPassword(password)
	if err != nil {
		return "", "", err
	}
	u := &User{Name: "admin", Role: RoleAdmin, PasswordHash: h, Created: time.Now().UnixMilli()}
	if err := a.Users.CreateUser(ctx, u); err != nil {
		return "", "", fmt.Errorf("web: create the first admin: %w", err)
	}
	return u.Name, password, nil
}

// MinPassword is the fewest characters a password may have.
const MinPassword = 10

// NewPassword returns a random password (16 characters, 96 bits), as the
// first admin gets.
func NewPassword() string { return randomToken(12) }

// HashPassword returns "pbkdf2-sha256$<iterations>$<salt>$<key>".
func (a *Auth) HashPassword(password string) (string, error) {
	iter := a.Iterations
	if iter <= 0 {
		iter = 200_000
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$" + strconv.Itoa(iter) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key), nil
}

// CheckPassword reports whether password matches hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err != nil || err1 != nil || err2 != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// NewToken returns a fresh secret and the token record (its hash) for it.
func NewToken(userID int64, kind, name string, ttl time.Duration) (secret string, t Token) {
	secret = randomToken(32)
	now := time.Now().UnixMilli()
	t = Token{Hash: TokenHash(secret), UserID: userID, Kind: kind, Name: name, Created: now}
	if ttl > 0 {
		t.Expires = now + ttl.Milliseconds()
	}
	return secret, t
}

// TokenHash is the hex SHA-256 of a token secret.
func TokenHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize lets r through when its user has role or better; otherwise it
// answers 401 or 403. Without Auth everyone is admin (demo).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, role string) bool {
	a := s.cfg.Auth
	if a == nil {
		return true
	}
	secret := ""
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		secret = strings.TrimSpace(h[len("Bearer "):])
	} else if c, err := r.Cookie(sessionCookie); err == nil {
		secret = c.Value
	}
	if secret == "" {
		s.stats.denied.Add(1)
		httpError(w, http.StatusUnauthorized, "log in first")
		return false
	}
	u, tok, err := a.Users.TokenUser(r.Context(), TokenHash(secret), s.cfg.Now().UnixMilli())
	if err != nil {
		s.stats.denied.Add(1)
		if !errors.Is(err, ErrNotFound) {
			s.log.Error("web: check token", "err", err)
		}
		httpError(w, http.StatusUnauthorized, "the login has expired or is unknown; log in again")
		return false
	}
	if roleRank[u.Role] < roleRank[role] {
		s.stats.denied.Add(1)
		httpError(w, http.StatusForbidden, fmt.Sprintf("this needs the %s role; you are %s", role, u.Role))
		return false
	}
	ctx := context.WithValue(r.Context(), userKey{}, u)
	*r = *r.WithContext(context.WithValue(ctx, tokenKey{}, tok))
	return true
}

func (s *Server) authRoutes() {
	s.mux.HandleFunc("POST /api/login", s.login)
	s.mux.HandleFunc("POST /api/logout", s.logout)
	s.accountRoutes()
}

// login takes {"name": ..., "password": ...} and sets the session cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	a := s.cfg.Auth
	if a == nil {
		writeJSON(w, http.StatusOK, map[string]string{"name": "demo", "role": RoleAdmin})
		return
	}
	if !s.logins.allow(clientKey(r), s.cfg.Now()) {
		httpError(w, http.StatusTooManyRequests, "too many attempts; wait")
		return
	}
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, `want {"name": ..., "password": ...}`)
		return
	}
	u, err := a.Users.UserByName(r.Context(), req.Name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	hash := a.dummy()
	if u != nil {
		hash = u.PasswordHash
	}
	if !checkPassword(hash, req.Password) || u == nil {
		s.stats.denied.Add(1)
		s.log.Warn("web: failed login", "name", req.Name, "remote", clientIP(r))
		httpError(w, http.StatusUnauthorized, "wrong name or password")
		return
	}
	ttl := a.SessionTTL
	if ttl <= 0 {
		ttl = 7 * 24 * time.Hour
	}
	secret, tok := NewToken(u.ID, "session", "", ttl)
	if err := a.Users.CreateToken(r.Context(), &tok); err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int(ttl.Seconds())})
	s.log.Info("web: login", "name", u.Name, "role", u.Role)
	writeJSON(w, http.StatusOK, map[string]string{"name": u.Name, "role": u.Role})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && s.cfg.Auth != nil {
		s.cfg.Auth.Users.DeleteToken(r.Context(), TokenHash(c.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1,
		SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// me says who is logged in: {"name": ..., "role": ...}.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	if u, ok := r.Context().Value(userKey{}).(*User); ok {
		writeJSON(w, http.StatusOK, map[string]any{"name": u.Name, "role": u.Role, "auth": true})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": "demo", "role": RoleAdmin, "auth": false, "version": s.cfg.Version})
}

// secure sets the security headers on every answer and refuses cross-site
// state changes.
func (s *Server) secure(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.stats.denied.Add(1)
		httpError(w, http.StatusForbidden, "cross-origin request refused")
	}))
	guarded := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; "+
			"style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "+
			"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		guarded.ServeHTTP(w, r)
	})
}
