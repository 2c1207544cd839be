package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// routeRoles is every API route with the least role that may use it: the
// table of README's "Logging in and roles". TestEveryRouteRole sends each
// one as nobody, viewer, installer and admin.
var routeRoles = []struct{ method, path, role string }{
	{"GET", "/api/sites", RoleViewer},
	{"GET", "/api/sites/demo", RoleViewer},
	{"PUT", "/api/sites/demo", RoleInstaller},
	{"GET", "/api/sites/demo/versions", RoleViewer},
	{"GET", "/api/sites/demo/versions/1", RoleViewer},
	{"POST", "/api/sites/demo/revert", RoleInstaller},
	{"GET", "/api/sites/demo/plan", RoleViewer},
	{"PUT", "/api/sites/demo/plan", RoleInstaller},
	{"GET", "/api/sites/demo/sensors", RoleViewer},
	{"GET", "/api/sites/demo/live", RoleViewer},
	{"GET", "/api/sites/demo/ws", RoleViewer},
	{"GET", "/api/sites/demo/report", RoleViewer},
	{"GET", "/api/sites/demo/report.csv", RoleViewer},
	{"GET", "/api/sites/demo/forecast", RoleViewer},
	{"GET", "/api/sites/demo/heatmap", RoleViewer},
	{"GET", "/api/sites/demo/heatmap.png", RoleViewer},
	{"POST", "/api/sites/demo/pos", RoleAdmin},
	{"POST", "/api/sites/demo/reprocess", RoleAdmin},
	{"POST", "/api/sites/demo/forget", RoleAdmin},
	{"GET", "/api/chain", RoleViewer},
	{"GET", "/api/chain.csv", RoleViewer},
	{"GET", "/api/reports.csv", RoleViewer},
	{"GET", "/api/me", RoleViewer},
	{"GET", "/api/alerts", RoleViewer},
	{"POST", "/api/tokens", RoleViewer},
	{"POST", "/api/users", RoleAdmin},
	{"GET", "/api/tokens", RoleViewer},
	{"DELETE", "/api/tokens/0123", RoleViewer},
	{"POST", "/api/password", RoleViewer},
	{"GET", "/api/users", RoleAdmin},
	{"PATCH", "/api/users/nobody", RoleAdmin},
	{"DELETE", "/api/users/nobody", RoleAdmin},
	{"GET", "/api/sites/demo/calibration/status", RoleInstaller},
	{"POST", "/api/sites/demo/calibration/start", RoleInstaller},
	{"POST", "/api/sites/demo/calibration/apply", RoleInstaller},
	{"POST", "/api/sites/demo/calibration/selfcal/apply", RoleAdmin},
	{"POST", "/api/sites/demo/calibration/selfcal/revert", RoleAdmin},
}

// TestEveryRouteRole: without a login every API route answers 401; below
// its role 403; at its role or above neither (what it answers then is the
// handler's: the bodies here are empty). A viewer reaches no installer or
// admin action, an installer no admin one.
func TestEveryRouteRole(t *testing.T) {
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	bearer := map[string]string{}
	for _, role := range []string{RoleViewer, RoleInstaller, RoleAdmin} {
		u := us.addUser(t, a, role+"-user", role, "a long password")
		secret, tok := NewToken(u.ID, "session", "", 0) // an API token may not make tokens
		us.CreateToken(context.Background(), &tok)
		bearer[role] = secret
	}
	cal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })
	srv := newTestServer(t, newDemoBackend(), Config{Auth: a, Calibration: cal})
	for _, rt := range routeRoles {
		for _, as := range []string{"", RoleViewer, RoleInstaller, RoleAdmin} {
			req, _ := http.NewRequest(rt.method, srv.URL+rt.path, strings.NewReader(""))
			if as != "" {
				req.Header.Set("Authorization", "Bearer "+bearer[as])
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			switch {
			case as == "":
				if res.StatusCode != 401 {
					t.Errorf("%s %s without a login: %d, want 401", rt.method, rt.path, res.StatusCode)
				}
			case roleRank[as] < roleRank[rt.role]:
				if res.StatusCode != 403 {
					t.Errorf("%s %s as %s: %d, want 403 (needs %s)", rt.method, rt.path, as, res.StatusCode, rt.role)
				}
			case res.StatusCode == 401 || res.StatusCode == 403:
				t.Errorf("%s %s as %s: %d, want through (needs %s)", rt.method, rt.path, as, res.StatusCode, rt.role)
			}
		}
	}
}

// TestCrossSiteRefused: a page of another site can neither log a browser
// in or out, nor open the live stream with its cookie (the WebSocket
// upgrade is a GET, which the cross-origin protection lets by: the
// upgrader's own Origin check refuses it).
func TestCrossSiteRefused(t *testing.T) {
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	u := us.addUser(t, a, "vera", RoleViewer, "a long password")
	srv := newTestServer(t, newDemoBackend(), Config{Auth: a})
	for _, p := range []string{"/api/login", "/api/logout"} {
		req, _ := http.NewRequest("POST", srv.URL+p, strings.NewReader(`{"name":"vera","password":"a long password"}`))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 403 || len(res.Cookies()) > 0 {
			t.Errorf("cross-site POST %s: %d, cookies %v; want 403, none", p, res.StatusCode, res.Cookies())
		}
	}
	secret, tok := NewToken(u.ID, "session", "", 0)
	us.CreateToken(context.Background(), &tok)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/sites/demo/ws"
	h := http.Header{"Cookie": {sessionCookie + "=" + secret}}
	h.Set("Origin", "https://evil.example")
	if c, res, err := websocket.DefaultDialer.Dial(url, h); err == nil {
		c.Close()
		t.Error("a cross-site page opened the live stream with the session cookie")
	} else if res == nil || res.StatusCode != 403 {
		t.Errorf("cross-site WebSocket: %v, want 403", err)
	}
	h.Set("Origin", srv.URL)
	c, _, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		t.Fatalf("same-origin WebSocket: %v", err)
	}
	c.Close()
}
