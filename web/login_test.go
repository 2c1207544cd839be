package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestLoginUnknownNameCostsAPasswordCheck: a login under a name that does
// not exist answered at once, one under a known name after a PBKDF2 check
// of 200,000 rounds (about 0.1 s), so the answers' times told which user
// names exist. Now both check one password of the configured rounds. The
// test counts the checks and their rounds, not the time.
func TestLoginUnknownNameCostsAPasswordCheck(t *testing.T) {
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1234}
	us.addUser(t, a, "vera", RoleViewer, "pw-viewer-long")
	srv := newTestServer(t, newDemoBackend(), Config{Auth: a})
	var mu sync.Mutex
	var rounds []int
	orig := checkPassword
	checkPassword = func(hash, password string) bool {
		n, _ := strconv.Atoi(strings.Split(hash, "$")[1])
		mu.Lock()
		rounds = append(rounds, n)
		mu.Unlock()
		return orig(hash, password)
	}
	defer func() { checkPassword = orig }()
	for _, c := range []struct{ name, password string }{
		{"vera", "wrong password"},
		{"nobody", "wrong password"},
		{"nobody", "pw-viewer-long"},
	} {
		mu.Lock()
		rounds = nil
		mu.Unlock()
		res, _ := do(t, "POST", srv.URL+"/api/login", "application/json", []byte(`{"name":"`+c.name+`","password":"`+c.password+`"}`))
		if res.StatusCode != 401 {
			t.Errorf("%s: %d, want 401", c.name, res.StatusCode)
		}
		mu.Lock()
		if len(rounds) != 1 || rounds[0] != a.Iterations {
			t.Errorf("login as %s: password checks of %v rounds, want one of %d", c.name, rounds, a.Iterations)
		}
		mu.Unlock()
	}
	if res, _ := do(t, "POST", srv.URL+"/api/login", "application/json", []byte(`{"name":"vera","password":"pw-viewer-long"}`)); res.StatusCode != 200 {
		t.Errorf("the right password: %d", res.StatusCode)
	}
}

// TestTokenNameBounded: a token's name was bounded only by the request
// body limit (32 MiB), so any viewer could write megabytes into the tokens
// table and the log line of each token made. It is 1 to 64 characters, as
// a user's name.
func TestTokenNameBounded(t *testing.T) {
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	vera := us.addUser(t, a, "vera", RoleViewer, "pw-viewer-long")
	srv := newTestServer(t, newDemoBackend(), Config{Auth: a})
	secret, tok := NewToken(vera.ID, "session", "", 0)
	us.CreateToken(t.Context(), &tok)
	for _, c := range []struct {
		name string
		want int
	}{{strings.Repeat("x", 64), 201}, {strings.Repeat("x", 1<<20), 400}} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/tokens", strings.NewReader(`{"name":"`+c.name+`","days":1}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("a token name of %d bytes: %d, want %d", len(c.name), res.StatusCode, c.want)
		}
	}
}

// TestLoginLimitPerIPv6Network: login attempts are limited per IPv6 /64,
// not per address: a host is given a /64 at least, and per address it had a
// fresh budget of 10 guesses (then one a second) for each of 2^64
// addresses. IPv4 addresses keep one each.
func TestLoginLimitPerIPv6Network(t *testing.T) {
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	us.addUser(t, a, "vera", RoleViewer, "pw-viewer-long")
	s := New(Config{Backend: newDemoBackend(), Log: quietLog(), Auth: a, RateLimit: -1})
	try := func(remote string) int {
		req := httptest.NewRequest("POST", "/api/login", strings.NewReader(`{"name":"vera","password":"guess"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code
	}
	limited := 0
	for i := range 40 {
		if try(fmt.Sprintf("[2001:db8:1:2:%x::1]:4000", i)) == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited < 25 {
		t.Errorf("40 guesses from 40 addresses of one /64: %d refused, want all but about 10", limited)
	}
	for _, remote := range []string{"[2001:db8:1:3::1]:4000", "192.0.2.7:4000", "192.0.2.8:4000"} {
		if code := try(remote); code != http.StatusUnauthorized {
			t.Errorf("a guess from %s (another network): %d, want 401", remote, code)
		}
	}
}
