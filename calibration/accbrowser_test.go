package calibration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
)

// TestBrowserAccuracyOnPhone: on a phone's viewport the predicted-accuracy
// picture runs from edge to edge, and a tap shows it full size (at least
// twice the screen's width, its own pixels at least) in a dialog that pans;
// Close (or Esc) ends it and gives the focus back.
func TestBrowserAccuracyOnPhone(t *testing.T) {
	ctx := webtest.Browser(t)
	w := newWorld()
	svc := NewService(&memSites{versions: []*wire.Site{cloneSite(w.site)}})
	svc.Now = func() time.Time { return time.UnixMilli(liveT0) }
	svc.Session("sim")
	mux := http.NewServeMux()
	mux.Handle("/api/", svc.Handler())
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(os.DirFS("../web/static"))))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	run := webtest.Steps(t, ctx, c)
	run("open the page on a phone", chromedp.Emulate(device.IPhone12),
		chromedp.Navigate(srv.URL+"/static/calibrate.html?site=sim"),
		chromedp.Poll[chromedp.Void](`document.getElementById('acc').naturalWidth > 0`))
	type box struct{ Viewport, Small, Natural, Big, ScrollW, ClientW, DialogW, DialogH, ViewportH float64 }
	measure := func() box {
		t.Helper()
		b, err := webtest.Eval[box](c, `(() => { const s = document.getElementById('acc'), b = document.getElementById('acc-big'),
			d = document.getElementById('acc-dialog'), sc = document.getElementById('acc-scroll');
			return {viewport: document.documentElement.clientWidth, viewportH: innerHeight, small: s.getBoundingClientRect().width,
				natural: s.naturalWidth, big: b.getBoundingClientRect().width, scrollW: sc.scrollWidth, clientW: sc.clientWidth,
				dialogW: d.getBoundingClientRect().width, dialogH: d.getBoundingClientRect().height}; })()`)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	m := measure()
	if m.Viewport > 430 {
		t.Fatalf("viewport %v px wide, want a phone's", m.Viewport)
	}
	if m.Small < m.Viewport-1 {
		t.Errorf("the picture is %v px wide on a %v px screen, want edge to edge", m.Small, m.Viewport)
	}
	run("tap the picture", chromedp.ScrollIntoView(chromedp.CSS(`#acc-open`)), chromedp.Click(chromedp.CSS(`#acc-open`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('acc-dialog').open && document.getElementById('acc-big').naturalWidth > 0`))
	m = measure()
	if m.Big < 2*m.Viewport-1 || m.Big < m.Natural-1 {
		t.Errorf("full size is %v px wide (its own %v px, screen %v px), want at least twice the screen and its own", m.Big, m.Natural, m.Viewport)
	}
	if m.ScrollW <= m.ClientW || m.DialogW < m.Viewport-1 || m.DialogH < m.ViewportH-1 {
		t.Errorf("the dialog (%v×%v on %v×%v) does not fill the screen or does not pan (%v of %v px)",
			m.DialogW, m.DialogH, m.Viewport, m.ViewportH, m.ClientW, m.ScrollW)
	}
	if f, _ := webtest.Eval[string](c, `document.activeElement.id`); f != "acc-close" {
		t.Errorf("the focus is on %q in the dialog, want Close", f)
	}
	webtest.Screenshot(t, ctx, "full-size")
	run("close", chromedp.Click(chromedp.CSS(`#acc-close`)),
		chromedp.Poll[chromedp.Void](`!document.getElementById('acc-dialog').open && document.activeElement.id === 'acc-open'`))
	run("open again, Esc", chromedp.Click(chromedp.CSS(`#acc-open`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('acc-dialog').open`),
		chromedp.KeyEvent("\u001b"),
		chromedp.Poll[chromedp.Void](`!document.getElementById('acc-dialog').open`))
}
