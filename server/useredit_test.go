package server

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/passant/passant/web"
)

// TestAdminChangesRoleAndResetsPassword, against the real server and
// store: an admin could only delete a user and add them again to change
// their role or a forgotten password. PATCH /api/users/{name} changes the
// role (it takes effect on the user's next request: a viewer made
// installer edits a site, demoted again cannot) and resets the password
// (the old one fails, the new one works, the user's sessions end, their
// API tokens stay); nobody demotes themself, and the last admin stays one
// even when two admins demote each other at once.
func TestAdminChangesRoleAndResetsPassword(t *testing.T) {
	siteFile := testSiteFile(t, t.TempDir(), "shop")
	in, base := startWithUsers(t, siteFile, []testUser{{"root", web.RoleAdmin, "root password"},
		{"ada", web.RoleAdmin, "ada password"}, {"vera", web.RoleViewer, "vera password"}})
	defer in.stop()
	call := func(c *http.Client, bearer, method, path, body string, out any) int {
		t.Helper()
		return httpAs(t, c, base, bearer, method, path, body, out)
	}
	login := func(name, pw string) (*http.Client, int) { t.Helper(); return loginAs(t, base, name, pw) }
	root, _ := login("root", "root password")
	vera, code := login("vera", "vera password")
	if code != 200 {
		t.Fatalf("vera's login: %d", code)
	}
	site, err := os.ReadFile(siteFile)
	if err != nil {
		t.Fatal(err)
	}
	putSite := func() int { return call(vera, "", "PUT", "/api/sites/shop", string(site), nil) }
	var errBody struct{ Error string }
	patch := func(as *http.Client, name, body string) int {
		t.Helper()
		errBody.Error = ""
		return call(as, "", "PATCH", "/api/users/"+name, body, &errBody)
	}

	// The role: vera (viewer) cannot edit the site; made installer, her
	// session can at once; demoted again, it cannot.
	if code := putSite(); code != 403 {
		t.Fatalf("a viewer puts a site: %d, want 403", code)
	}
	if code := patch(vera, "vera", `{"role":"installer"}`); code != 403 {
		t.Errorf("a viewer promotes herself: %d, want 403", code)
	}
	var changed struct {
		Name, Role    string
		SessionsEnded int `json:"sessions_ended"`
	}
	if code := call(root, "", "PATCH", "/api/users/vera", `{"role":"installer"}`, &changed); code != 200 ||
		changed.Name != "vera" || changed.Role != "installer" || changed.SessionsEnded != 0 {
		t.Fatalf("make vera installer: %d %+v", code, changed)
	}
	if code := putSite(); code != 200 {
		t.Errorf("vera, installer now, puts the site: %d", code)
	}
	if code := patch(root, "vera", `{"role":"viewer"}`); code != 200 {
		t.Fatalf("make vera viewer again: %d %s", code, errBody.Error)
	}
	if code := putSite(); code != 403 {
		t.Errorf("vera, viewer again, puts the site: %d, want 403", code)
	}

	// Bad input names the field; an unknown user is 404; nobody demotes
	// themself or resets their own password here.
	for _, c := range []struct {
		as         *http.Client
		name, body string
		code       int
		says       string
	}{
		{root, "vera", `{"role":"owner"}`, 400, `role "owner"`},
		{root, "vera", `{"password":"short"}`, 400, "password: at least 10"},
		{root, "vera", `{"pasword":"long enough password"}`, 400, `unknown field "pasword"`},
		{root, "vera", `{}`, 400, `"role" or "password"`},
		{root, "vera", `not json`, 400, "want {"},
		{root, "nobody", `{"role":"viewer"}`, 404, `no user "nobody"`},
		{root, "root", `{"role":"installer"}`, 400, "role: you cannot demote yourself"},
		{root, "root", `{"password":"long enough password"}`, 400, "password: change your own"},
	} {
		if code := patch(c.as, c.name, c.body); code != c.code || !strings.Contains(errBody.Error, c.says) {
			t.Errorf("PATCH %s %s: %d %q, want %d %q", c.name, c.body, code, errBody.Error, c.code, c.says)
		}
	}

	// A password reset: vera's sessions end, her API token stays.
	var tok struct{ Token string }
	if code := call(vera, "", "POST", "/api/tokens", `{"name":"export","days":0}`, &tok); code != 201 {
		t.Fatalf("vera's token: %d", code)
	}
	vera2, _ := login("vera", "vera password")
	var reset struct {
		SessionsEnded int `json:"sessions_ended"`
		APITokens     int `json:"api_tokens"`
	}
	if code := call(root, "", "PATCH", "/api/users/vera", `{"password":"a reset password"}`, &reset); code != 200 ||
		reset.SessionsEnded != 2 || reset.APITokens != 1 {
		t.Errorf("reset vera's password: %d %+v, want 2 sessions ended, 1 API token", code, reset)
	}
	for i, c := range []*http.Client{vera, vera2} {
		if code := call(c, "", "GET", "/api/me", "", nil); code != 401 {
			t.Errorf("vera's session %d after the reset: %d, want 401", i+1, code)
		}
	}
	if code := call(http.DefaultClient, tok.Token, "GET", "/api/me", "", nil); code != 200 {
		t.Errorf("vera's API token after the reset: %d, want 200 (tokens stay)", code)
	}
	if _, code := login("vera", "vera password"); code != 401 {
		t.Errorf("the old password: %d, want 401", code)
	}
	if _, code := login("vera", "a reset password"); code != 200 {
		t.Errorf("the reset password: %d", code)
	}
	if code := call(root, "", "GET", "/api/me", "", nil); code != 200 {
		t.Errorf("root's session after resetting vera's: %d", code)
	}

	// root and ada, the only admins (the first start's "admin" deleted),
	// demote each other at once: one of them stays admin.
	if code := call(root, "", "DELETE", "/api/users/admin", "", nil); code != 204 {
		t.Fatalf("delete the first start's admin: %d", code)
	}
	ada, _ := login("ada", "ada password")
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i, c := range []struct {
		as   *http.Client
		whom string
	}{{root, "ada"}, {ada, "root"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("PATCH", base+"/api/users/"+c.whom, strings.NewReader(`{"role":"viewer"}`))
			res, err := c.as.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes[i] = res.StatusCode
		}()
	}
	wg.Wait()
	admin, other := root, "ada"
	switch {
	case codes[0] == 200 && (codes[1] == 403 || codes[1] == 409):
	case codes[1] == 200 && (codes[0] == 403 || codes[0] == 409):
		admin, other = ada, "root"
	default:
		t.Fatalf("root demotes ada, ada root, at once: %v; want one 200, the other refused", codes)
	}
	var users []struct{ Name, Role string }
	call(admin, "", "GET", "/api/users", "", &users)
	admins := 0
	for _, u := range users {
		if u.Role == web.RoleAdmin {
			admins++
		}
	}
	if admins != 1 {
		t.Fatalf("after two admins demoted each other: users %+v, want one admin", users)
	}
	if code := patch(admin, other, `{"role":"admin"}`); code != 200 {
		t.Fatalf("make %s admin again: %d %s", other, code, errBody.Error)
	}
	t.Logf("demoting each other: %v", codes)
}
