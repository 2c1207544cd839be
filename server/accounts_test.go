package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
)

// TestRevokeTokensChangePasswordDeleteUsers, against the real server and
// store: a leaked credential could not be taken back before: no API (nor
// command) listed or revoked a token, changed a password or deleted a
// user, and an API token could make further API tokens that never
// expire. Now a user lists and revokes their tokens, changes their
// password (their other sessions end), an admin lists and deletes users
// (their tokens go with them), and an API token cannot make tokens.
func TestRevokeTokensChangePasswordDeleteUsers(t *testing.T) {
	in, base := startWithUsers(t, "", []testUser{{"root", web.RoleAdmin, "root password"}, {"vera", web.RoleViewer, "vera password"}})
	defer in.stop()
	call := func(c *http.Client, bearer, method, path, body string, out any) int {
		t.Helper()
		return httpAs(t, c, base, bearer, method, path, body, out)
	}
	login := func(name, pw string) (*http.Client, int) { t.Helper(); return loginAs(t, base, name, pw) }
	vera, code := login("vera", "vera password")
	if code != 200 {
		t.Fatalf("login: %d", code)
	}
	var tok struct{ Token string }
	if code := call(vera, "", "POST", "/api/tokens", `{"name":"export","days":0}`, &tok); code != 201 || tok.Token == "" {
		t.Fatalf("make a token: %d", code)
	}
	plain := http.DefaultClient
	if code := call(plain, tok.Token, "GET", "/api/sites", "", nil); code != 200 {
		t.Fatalf("the token: %d", code)
	}
	if code := call(plain, tok.Token, "POST", "/api/tokens", `{"name":"heir","days":0}`, nil); code != http.StatusForbidden {
		t.Errorf("an API token makes a token: %d, want 403", code)
	}
	var list []struct {
		ID, Kind, Name string
		Current        bool
	}
	if code := call(vera, "", "GET", "/api/tokens", "", &list); code != 200 || len(list) != 2 {
		t.Fatalf("list tokens: %d %+v", code, list)
	}
	api := ""
	for _, x := range list {
		if x.Kind == "api" && x.Name == "export" {
			api = x.ID
		} else if x.Kind != "session" || !x.Current {
			t.Errorf("token %+v: want the API token and the current session", x)
		}
	}
	root, _ := login("root", "root password")
	var rootList []struct{ ID string }
	call(root, "", "GET", "/api/tokens", "", &rootList)
	if len(rootList) != 1 {
		t.Fatalf("root's tokens: %+v", rootList)
	}
	if code := call(vera, "", "DELETE", "/api/tokens/"+rootList[0].ID, "", nil); code != 404 {
		t.Errorf("vera revokes root's session: %d, want 404", code)
	}
	if code := call(vera, "", "DELETE", "/api/tokens/"+api, "", nil); code != 204 {
		t.Errorf("revoke: %d", code)
	}
	if code := call(plain, tok.Token, "GET", "/api/sites", "", nil); code != 401 {
		t.Errorf("a revoked token: %d, want 401", code)
	}

	// A new password ends the other sessions, not this one.
	vera2, _ := login("vera", "vera password")
	if code := call(vera, "", "POST", "/api/password", `{"password":"wrong","new":"a new password"}`, nil); code != 403 {
		t.Errorf("change with a wrong password: %d, want 403", code)
	}
	var ch struct {
		SessionsEnded int `json:"sessions_ended"`
	}
	if code := call(vera, "", "POST", "/api/password", `{"password":"vera password","new":"a new password"}`, &ch); code != 200 || ch.SessionsEnded != 1 {
		t.Errorf("change password: %d %+v, want 1 session ended", code, ch)
	}
	if code := call(vera2, "", "GET", "/api/me", "", nil); code != 401 {
		t.Errorf("the other session after a new password: %d, want 401", code)
	}
	if code := call(vera, "", "GET", "/api/me", "", nil); code != 200 {
		t.Errorf("this session after a new password: %d", code)
	}
	if _, code := login("vera", "vera password"); code != 401 {
		t.Errorf("the old password: %d, want 401", code)
	}
	if _, code := login("vera", "a new password"); code != 200 {
		t.Errorf("the new password: %d", code)
	}

	// An admin lists users (no hashes) and deletes one; not themself.
	var users []map[string]any
	if code := call(root, "", "GET", "/api/users", "", &users); code != 200 || len(users) != 3 {
		t.Fatalf("list users: %d %v", code, users)
	}
	for _, u := range users {
		for k := range u {
			if strings.Contains(strings.ToLower(k), "pass") || strings.Contains(strings.ToLower(k), "hash") {
				t.Errorf("user listed with %s", k)
			}
		}
	}
	if code := call(vera, "", "DELETE", "/api/users/root", "", nil); code != 403 {
		t.Errorf("a viewer deletes a user: %d, want 403", code)
	}
	if code := call(root, "", "DELETE", "/api/users/root", "", nil); code != 400 {
		t.Errorf("root deletes root: %d, want 400", code)
	}
	if code := call(root, "", "DELETE", "/api/users/vera", "", nil); code != 204 {
		t.Errorf("delete vera: %d", code)
	}
	if code := call(vera, "", "GET", "/api/me", "", nil); code != 401 {
		t.Errorf("a deleted user's session: %d, want 401", code)
	}
}

type testUser struct{ name, role, password string }

// startWithUsers starts a server with logins (on the site file siteFile,
// or a new one) and users in its store; it returns it and its base URL.
func startWithUsers(t *testing.T, siteFile string, users []testUser) (*instance, string) {
	t.Helper()
	dir := t.TempDir()
	if siteFile == "" {
		siteFile = testSiteFile(t, dir, "shop")
	}
	in := startInstance(t, Config{HTTP: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", SiteFiles: []string{siteFile},
		DataDir: dir, Auth: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	a := &web.Auth{Iterations: 1000}
	for _, u := range users {
		h, _ := a.HashPassword(u.password)
		if err := in.srv.store.CreateUser(context.Background(), &store.User{Name: u.name, Role: u.role, PasswordHash: h, Created: time.Now().UnixMilli()}); err != nil {
			in.stop()
			t.Fatal(err)
		}
	}
	return in, "http://" + in.srv.HTTPAddr()
}

// loginAs logs name in, as a script would: a client with the session's
// cookie, and the login's status.
func loginAs(t *testing.T, base, name, password string) (*http.Client, int) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"name": name, "password": password})
	return c, httpAs(t, c, base, "", "POST", "/api/login", string(body), nil)
}
