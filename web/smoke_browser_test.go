package web

import (
	"bytes"
	"image"
	"image/png"
	"net/http"
	"testing"
	"time"

	"github.com/passant/passant/web/webtest"
)

// TestBrowserSmokeViewer: every view of the dashboard, as a user with the
// viewer role behind a login, at a desktop's and a phone's width, throws
// nothing, logs no error, has no request fail or answered 5xx, is not left
// loading, and offers none of the installer's and admin's tools: no Site
// editor or Calibrate in the menu, no Admin on the footfall page, and the
// editor and the calibration page, opened by their address, say whom they
// are for (webtest.Smoke; the demo's TestBrowserSmoke runs it on the real
// server as the admin).
func TestBrowserSmokeViewer(t *testing.T) {
	tab := webtest.Browser(t)
	b := newDemoBackend()
	now := time.Now().UnixMilli()
	b.publish("demo", fix("k1", now, 12, 12))
	b.publish("demo", fix("k2", now, 14, 10))
	// Its site file names a plan: it is uploaded.
	var plan bytes.Buffer
	if err := png.Encode(&plan, image.NewGray(image.Rect(0, 0, 60, 40))); err != nil {
		t.Fatal(err)
	}
	b.plans["demo"] = PlanImage{ContentType: "image/png", Data: plan.Bytes(), Updated: now}
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	us.addUser(t, a, "vera", RoleViewer, "pw-viewer")
	// The calibration API is for installers: a viewer's page must not
	// reach it (a 500 here would be in the problems).
	cal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "a viewer reached the calibration API", http.StatusInternalServerError)
	})
	srv := newTestServer(t, b, Config{Auth: a, Calibration: cal})
	problems := webtest.Smoke(t, tab, webtest.SmokeConfig{Base: srv.URL, Role: RoleViewer, Name: "vera", Password: "pw-viewer",
		Calibrate: true, Sites: []webtest.SmokeSite{{ID: "demo", Data: true}}}, 2*time.Minute)
	for _, p := range problems {
		t.Error(p)
	}
}
