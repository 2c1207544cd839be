package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
)

// browserZone runs the tab's clock in the time zone tz, as a browser
// elsewhere than the shop would.
func browserZone(tz string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: tz})
		return err
	})
}

// TestBrowserTimesInSiteZone: a head office in New York looks at the Berlin
// shop: the live map's last fix and the sensors' last batch are the shop's
// wall clock, marked with its zone, not the browser's.
func TestBrowserTimesInSiteZone(t *testing.T) {
	b := newDemoBackend()
	// 2026-12-01 17:46:05 UTC: 18:46:05 in Berlin, 12:46:05 in New York.
	at := time.Date(2026, 12, 1, 17, 46, 5, 0, time.UTC).UnixMilli()
	b.publish("demo", fix("k1", at, 12, 12))
	b.mu.Lock()
	b.sensors["demo"][0].LastSeen = at
	b.mu.Unlock()
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	step := webtest.Steps(t, ctx, c)
	step("open the live map from New York", browserZone("America/New_York"),
		chromedp.Navigate(srv.URL+"/#/live/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="live"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#live-last').textContent !== '–'`))
	last, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#live-last`)))
	if !strings.HasPrefix(last, "18:46:05") || !strings.Contains(last, "CET") {
		t.Errorf("last fix shown as %q, want the shop's 18:46:05 CET", last)
	}
	step("open the sensors", chromedp.Navigate(srv.URL+"/#/sensors/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-sensors="ready"]`)))
	seen, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#sensor-table tr[data-sensor="s1"] td:nth-child(3)`)))
	if !strings.Contains(seen, "1 Dec 2026") || !strings.Contains(seen, "18:46") || !strings.Contains(seen, "CET") {
		t.Errorf("s1's last batch shown as %q, want the shop's Tue 1 Dec 2026, 18:46 CET", seen)
	}
	webtest.Screenshot(t, c, "sensors-new-york")
}
