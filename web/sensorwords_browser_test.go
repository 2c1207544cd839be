package web

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
)

// TestBrowserSensorsSayWhatTheyCount: the sensors view says what its
// figures are. A sensor with batches counted but none since the server
// started (a restart at a quiet hour) is "not since the restart", not
// "never" beside its thousands of batches; and the column of observations
// that came late or were refused says so ("late or refused": late ones are
// stored and counted, only not located live), where "rejected" read as
// data lost.
func TestBrowserSensorsSayWhatTheyCount(t *testing.T) {
	b := newDemoBackend()
	b.mu.Lock()
	b.sensors["demo"][0].LastSeen, b.sensors["demo"][0].Batches = 0, 22087
	b.mu.Unlock()
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	step := webtest.Steps(t, ctx, c)
	step("open the sensors", chromedp.Navigate(srv.URL+"/#/sensors/demo"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-sensors="ready"]`)))
	got, err := webtest.Eval[[]string](c, `[document.querySelector('#sensor-table tr[data-sensor] td:nth-child(3)').textContent,
		[...document.querySelectorAll('#sensor-table th')].map(th => th.textContent).join('|')]`)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "not since the restart" {
		t.Errorf("the last batch of a sensor with 22,087 batches and none since the start: %q", got[0])
	}
	if want := "Sensor|State|Last batch|Obs/s|Batches|Observations|Late or refused|Lost|Sensor drops|Clock|Version"; got[1] != want {
		t.Errorf("headers %q, want %q", got[1], want)
	}
}
