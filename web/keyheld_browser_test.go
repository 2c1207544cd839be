package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
)

// TestBrowserSensorKeyHeld: a sensor whose status says it dropped frames
// past its epoch key's epoch (beyond_key) on an unsynchronised clock
// (clock_trusted false) has a warning in its row of the sensors view that
// says so; the others have none.
func TestBrowserSensorKeyHeld(t *testing.T) {
	b := newDemoBackend()
	untrusted := false
	b.mu.Lock()
	b.sensors["demo"][1].BeyondKey, b.sensors["demo"][1].ClockTrusted = 1234, &untrusted
	b.mu.Unlock()
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	step := webtest.Steps(t, ctx, c)
	step("open the sensors", chromedp.Navigate(srv.URL+"/#/sensors/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-sensors="ready"]`)))
	n, err := webtest.Eval[int](c, `document.querySelectorAll('#sensor-table [data-key-held]').length`)
	if err != nil || n != 1 {
		t.Fatalf("%d rows warn of frames dropped for the key (%v), want 1", n, err)
	}
	id, _ := webtest.Eval[string](c, `document.querySelector('#sensor-table [data-key-held]').closest('tr').dataset.sensor`)
	title, _ := webtest.Eval[string](c, `document.querySelector('#sensor-table [data-key-held]').title`)
	if id != b.sensors["demo"][1].ID || !strings.Contains(title, "1,234 frames") || !strings.Contains(title, "not synchronised") {
		t.Errorf("the warning is in %s's row, saying %q", id, title)
	}
	webtest.Screenshot(t, c, "sensors-key-held")
}
