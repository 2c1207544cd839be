package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
)

// memUsers is an in-memory Users and Accounts (a deleted user's place is
// nil, so that IDs stay indexes).
type memUsers struct {
	mu     sync.Mutex
	users  []*User
	tokens map[string]*Token
}

func newMemUsers() *memUsers { return &memUsers{tokens: map[string]*Token{}} }

func (m *memUsers) CountUsers(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, u := range m.users {
		if u != nil {
			n++
		}
	}
	return n, nil
}

func (m *memUsers) CreateUser(ctx context.Context, u *User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.users {
		if x != nil && x.Name == u.Name {
			return fmt.Errorf("user %s exists", u.Name)
		}
	}
	u.ID = int64(len(m.users) + 1)
	c := *u
	m.users = append(m.users, &c)
	return nil
}

func (m *memUsers) UserByName(ctx context.Context, name string) (*User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if u != nil && u.Name == name {
			c := *u
			return &c, nil
		}
	}
	return nil, fmt.Errorf("user %s: %w", name, ErrNotFound)
}

func (m *memUsers) CreateToken(ctx context.Context, t *Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *t
	m.tokens[t.Hash] = &c
	return nil
}

func (m *memUsers) TokenUser(ctx context.Context, hash string, now int64) (*User, *Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[hash]
	if !ok || (t.Expires != 0 && t.Expires <= now) || m.users[t.UserID-1] == nil {
		return nil, nil, ErrNotFound
	}
	t.LastUsed = now
	c := *m.users[t.UserID-1]
	tc := *t
	return &c, &tc, nil
}

func (m *memUsers) DeleteToken(ctx context.Context, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tokens, hash)
	return nil
}

func (m *memUsers) ListUsers(ctx context.Context) ([]User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []User
	for _, u := range m.users {
		if u != nil {
			out = append(out, *u)
		}
	}
	return out, nil
}

// user is the user of id, under m.mu.
func (m *memUsers) user(id int64) (*User, error) {
	if id < 1 || id > int64(len(m.users)) || m.users[id-1] == nil {
		return nil, fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	return m.users[id-1], nil
}

func (m *memUsers) UpdateUser(ctx context.Context, u *User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.user(u.ID); err != nil {
		return err
	}
	c := *u
	m.users[u.ID-1] = &c
	return nil
}

func (m *memUsers) DeleteUser(ctx context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.user(id); err != nil {
		return err
	}
	m.users[id-1] = nil
	for h, t := range m.tokens {
		if t.UserID == id {
			delete(m.tokens, h)
		}
	}
	return nil
}

func (m *memUsers) ListTokens(ctx context.Context, userID int64) ([]Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Token{}
	for _, t := range m.tokens {
		if t.UserID == userID {
			out = append(out, *t)
		}
	}
	slices.SortFunc(out, func(a, b Token) int { return cmp.Compare(a.Created, b.Created) })
	return out, nil
}

func (m *memUsers) addUser(t *testing.T, a *Auth, name, role, password string) *User {
	h, err := a.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	u := &User{Name: name, Role: role, PasswordHash: h}
	if err := m.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPasswordHash(t *testing.T) {
	a := &Auth{Iterations: 1000}
	h, err := a.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := a.HashPassword("correct horse")
	if h == h2 || !strings.HasPrefix(h, "pbkdf2-sha256$1000$") {
		t.Fatalf("hashes %q %q: want salted PBKDF2", h, h2)
	}
	if !CheckPassword(h, "correct horse") || CheckPassword(h, "correct horsf") || CheckPassword("plain", "plain") {
		t.Fatal("CheckPassword wrong")
	}
}

func TestBootstrapFirstAdminOnce(t *testing.T) {
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	name, pw, err := a.Bootstrap(context.Background())
	if err != nil || name != "admin" || len(pw) < 12 {
		t.Fatalf("bootstrap: %q %q %v", name, pw, err)
	}
	u, _ := us.UserByName(context.Background(), "admin")
	if u.Role != RoleAdmin || !CheckPassword(u.PasswordHash, pw) {
		t.Fatalf("first admin %+v", u)
	}
	if name, pw, err := a.Bootstrap(context.Background()); name != "" || pw != "" || err != nil {
		t.Fatalf("second bootstrap made %q %q %v", name, pw, err)
	}
}

func TestAuthRoles(t *testing.T) {
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	us.addUser(t, a, "vera", RoleViewer, "pw-viewer")
	inst := us.addUser(t, a, "ian", RoleInstaller, "pw-installer")
	srv := newTestServer(t, newDemoBackend(), Config{Auth: a})

	// Open without a login: health, metrics, the dashboard's files.
	for _, p := range []string{"/healthz", "/", "/static/js/app.js"} {
		if res, _ := do(t, "GET", srv.URL+p, "", nil); res.StatusCode != 200 {
			t.Errorf("%s without login: %d", p, res.StatusCode)
		}
	}
	// Closed without a login.
	for _, p := range []string{"/api/sites", "/api/sites/demo/report", "/api/sites/demo/ws", "/api/chain"} {
		if res, _ := do(t, "GET", srv.URL+p, "", nil); res.StatusCode != 401 {
			t.Errorf("%s without login: %d, want 401", p, res.StatusCode)
		}
	}

	login := func(name, pw string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		res, err := c.Post(srv.URL+"/api/login", "application/json", strings.NewReader(fmt.Sprintf(`{"name":%q,"password":%q}`, name, pw)))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("login %s: %d", name, res.StatusCode)
		}
		for _, ck := range res.Cookies() {
			if ck.Name == sessionCookie && (!ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode) {
				t.Fatalf("session cookie not HttpOnly and SameSite=Strict: %+v", ck)
			}
		}
		return c
	}
	jar, _ := cookiejar.New(nil)
	bad := &http.Client{Jar: jar}
	res, _ := bad.Post(srv.URL+"/api/login", "application/json", strings.NewReader(`{"name":"vera","password":"nope"}`))
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}

	viewer := login("vera", "pw-viewer")
	installer := login("ian", "pw-installer")
	get := func(c *http.Client, p string) int {
		res, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	put := func(c *http.Client, p, body string) int {
		req, _ := http.NewRequest("PUT", srv.URL+p, strings.NewReader(body))
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := get(viewer, "/api/sites/demo/report"); s != 200 {
		t.Errorf("viewer reads a report: %d", s)
	}
	if s := put(viewer, "/api/sites/demo", demoSiteJSON); s != 403 {
		t.Errorf("viewer edits a site: %d, want 403", s)
	}
	if s := put(installer, "/api/sites/demo", demoSiteJSON); s != 200 {
		t.Errorf("installer edits a site: %d", s)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/sites/demo/reprocess", strings.NewReader(`{"from":1,"to":2}`))
	if res, _ := installer.Do(req); res.StatusCode != 403 {
		t.Errorf("installer re-processes: %d, want 403 (admin only)", res.StatusCode)
	}

	// An API token works as a Bearer header; an expired one does not.
	secret, tok := NewToken(inst.ID, "api", "script", 0)
	us.CreateToken(context.Background(), &tok)
	req, _ = http.NewRequest("GET", srv.URL+"/api/sites", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 200 {
		t.Errorf("bearer token: %d", res.StatusCode)
	}
	old, tok2 := NewToken(inst.ID, "api", "old", time.Millisecond)
	tok2.Expires = time.Now().Add(-time.Hour).UnixMilli()
	us.CreateToken(context.Background(), &tok2)
	req.Header.Set("Authorization", "Bearer "+old)
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 401 {
		t.Errorf("expired token: %d, want 401", res.StatusCode)
	}

	// Logout ends the session.
	req, _ = http.NewRequest("POST", srv.URL+"/api/logout", nil)
	viewer.Do(req)
	if s := get(viewer, "/api/sites"); s != 401 {
		t.Errorf("after logout: %d, want 401", s)
	}
}

func TestBrowserLogin(t *testing.T) {
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	us.addUser(t, a, "vera", RoleViewer, "pw-viewer")
	ctx := webtest.Browser(t)
	srv := newTestServer(t, newDemoBackend(), Config{Auth: a})
	c := within(t, ctx, 30*time.Second)
	err := chromedp.Do(c,
		chromedp.Navigate(srv.URL+"/#/live/demo"),
		chromedp.WaitVisible(chromedp.CSS(`#login-name`)),
		chromedp.SendKeys(chromedp.CSS(`#login-name`), "vera"),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), "pw-viewer"),
	)
	if err != nil {
		t.Fatal(err)
	}
	webtest.Screenshot(t, c, "login")
	err = chromedp.Do(c,
		chromedp.Click(chromedp.CSS(`form.login button`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="live"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#live-status').classList.contains('ok')`),
	)
	if err != nil {
		t.Fatalf("after login the live map with its stream: %v", err)
	}
	user, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#user`)))
	if !strings.Contains(user, "vera (viewer)") {
		t.Fatalf("user shown %q", user)
	}
}

func TestLoginAttemptsLimited(t *testing.T) {
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	us.addUser(t, a, "vera", RoleViewer, "pw-viewer")
	srv := newTestServer(t, newDemoBackend(), Config{Auth: a})
	codes := map[int]int{}
	for range 20 {
		res, _ := do(t, "POST", srv.URL+"/api/login", "application/json", []byte(`{"name":"vera","password":"guess"}`))
		codes[res.StatusCode]++
	}
	if codes[429] < 5 || codes[200] != 0 {
		t.Fatalf("20 wrong guesses answered %v: want most refused with 429", codes)
	}
}

func TestTokensAndUsers(t *testing.T) {
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	admin := us.addUser(t, a, "root", RoleAdmin, "pw-admin-123")
	srv := newTestServer(t, newDemoBackend(), Config{Auth: a})
	secret, tok := NewToken(admin.ID, "api", "setup", 0)
	us.CreateToken(context.Background(), &tok)
	call := func(method, path, bearer, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	if code, _ := call("POST", "/api/users", secret, `{"name":"vera","role":"viewer","password":"short"}`); code != 400 {
		t.Fatalf("short password: %d", code)
	}
	if code, _ := call("POST", "/api/users", secret, `{"name":"vera","role":"boss","password":"long enough pw"}`); code != 400 {
		t.Fatalf("bad role: %d", code)
	}
	if code, out := call("POST", "/api/users", secret, `{"name":"vera","role":"viewer","password":"long enough pw"}`); code != 201 || out["role"] != "viewer" {
		t.Fatalf("create user: %d %v", code, out)
	}
	if code, _ := call("POST", "/api/users", secret, `{"name":"vera","role":"viewer","password":"long enough pw"}`); code != 409 {
		t.Fatalf("duplicate user: %d", code)
	}
	// vera logs in, makes herself a token, and it works; she cannot add users.
	vera, _ := us.UserByName(context.Background(), "vera")
	if !CheckPassword(vera.PasswordHash, "long enough pw") {
		t.Fatal("password not stored hashed and checkable")
	}
	vs, vt := NewToken(vera.ID, "session", "", time.Hour)
	us.CreateToken(context.Background(), &vt)
	code, out := call("POST", "/api/tokens", vs, `{"name":"export","days":30}`)
	if code != 201 || out["token"] == "" {
		t.Fatalf("create token: %d %v", code, out)
	}
	if code, _ := call("GET", "/api/sites", out["token"].(string), ""); code != 200 {
		t.Fatalf("new token: %d", code)
	}
	if code, _ := call("POST", "/api/users", out["token"].(string), `{"name":"x","role":"admin","password":"long enough pw"}`); code != 403 {
		t.Fatalf("viewer creating an admin: %d, want 403", code)
	}
}

// TestSelfCalibrationApplyIsAdmins: the calibration API is the
// installer's, except writing (and reverting) what the anchors measured.
func TestSelfCalibrationApplyIsAdmins(t *testing.T) {
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	us.addUser(t, a, "ian", RoleInstaller, "pw-installer")
	us.addUser(t, a, "ada", RoleAdmin, "pw-admin")
	var reached []string
	cal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = append(reached, r.Method+" "+r.URL.Path)
		w.Write([]byte("{}"))
	})
	srv := newTestServer(t, newDemoBackend(), Config{Auth: a, Calibration: cal})
	login := func(name, pw string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		res, err := c.Post(srv.URL+"/api/login", "application/json", strings.NewReader(fmt.Sprintf(`{"name":%q,"password":%q}`, name, pw)))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("login %s: %v %v", name, res, err)
		}
		res.Body.Close()
		return c
	}
	call := func(c *http.Client, method, p string) int {
		req, _ := http.NewRequest(method, srv.URL+"/api/sites/demo/calibration/"+p, nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	installer, admin := login("ian", "pw-installer"), login("ada", "pw-admin")
	for _, c := range []struct {
		who          *http.Client
		name, method string
		path         string
		want         int
	}{
		{installer, "installer", "GET", "selfcal", 200},
		{installer, "installer", "POST", "apply", 200}, // the walk's
		{installer, "installer", "POST", "selfcal/apply", 403},
		{installer, "installer", "POST", "selfcal/revert", 403},
		{admin, "admin", "POST", "selfcal/apply", 200},
		{admin, "admin", "POST", "selfcal/revert", 200},
	} {
		if got := call(c.who, c.method, c.path); got != c.want {
			t.Errorf("%s %s %s: %d, want %d", c.name, c.method, c.path, got, c.want)
		}
	}
	if len(reached) != 4 {
		t.Errorf("the calibration API was reached by %v", reached)
	}
}
