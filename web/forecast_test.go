package web

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/wire"
)

// seedHours stores days of hours of the demo site from the local midnight
// from: visitors at rate 40 × weekday × bell around 16:30 in open hours
// (Poisson-like noise of the seed), passers-by five times as many.
func seedHours(b *memBackend, site *wire.Site, from time.Time, days int, seed uint64) {
	loc := site.Location()
	rng := rand.New(rand.NewPCG(seed, 1))
	week := [7]float64{0.6, 0.7, 0.75, 0.75, 0.8, 0.9, 1}
	var hs []wire.Hour
	for _, h := range footfall.Hours(from.UnixMilli(), from.AddDate(0, 0, days).UnixMilli(), loc) {
		lt := time.UnixMilli(h).In(loc)
		rate := 40 * week[lt.Weekday()] * (0.3 + 0.7*math.Exp(-math.Pow((float64(lt.Hour())+0.5-16.5)/3, 2)))
		open := site.Open.IsOpen(lt)
		v := int(math.Round(rate + math.Sqrt(rate)*rng.NormFloat64()))
		if !open {
			v = 0
		}
		hs = append(hs, wire.Hour{Start: h, Open: open, Visitors: max(0, v), Passersby: max(0, 5*v+rng.IntN(10))})
	}
	b.mu.Lock()
	b.hours[site.Site] = append(b.hours[site.Site], hs...)
	b.mu.Unlock()
}

// TestForecastAPI: the week ahead from three weeks of stored hours: one
// hour per local hour, nothing when closed (Sunday; Saturday after 18:00),
// the busiest hour in the late afternoon, the basis and the backtest of
// the week before; bad days and unknown sites refused; a viewer may read
// it, nobody without a login.
func TestForecastAPI(t *testing.T) {
	b := newDemoBackend()
	site, _, _ := b.Site(t.Context(), "demo")
	loc := site.Location()
	monday := time.Date(2026, 6, 1, 0, 0, 0, 0, loc)
	seedHours(b, site, monday.AddDate(0, 0, -21), 21, 1)
	srv := newTestServer(t, b, Config{Now: func() time.Time { return monday.Add(15 * time.Hour) }})

	res, body := do(t, "GET", srv.URL+"/api/sites/demo/forecast", "", nil)
	if res.StatusCode != 200 {
		t.Fatalf("forecast: %d %s", res.StatusCode, body)
	}
	var fc footfall.Forecast
	if err := json.Unmarshal(body, &fc); err != nil {
		t.Fatal(err)
	}
	if fc.From != monday.UnixMilli() || len(fc.Hours) != 168 || fc.Basis.Days != 18 || fc.Basis.Weeks != 3 {
		t.Fatalf("from %d (want %d), %d hours, basis %+v", fc.From, monday.UnixMilli(), len(fc.Hours), fc.Basis)
	}
	bt := fc.Basis.Backtest
	if bt == nil || bt.Days != 12 || bt.Visitors.Hours != 6*11-3 || bt.Visitors.LastWeekMAEHour == nil || bt.Visitors.MAEHour <= 0 {
		t.Fatalf("backtest %+v", bt)
	}
	busiest := footfall.ForecastHour{}
	for _, h := range fc.Hours {
		lt := time.UnixMilli(h.Start).In(loc)
		closed := lt.Weekday() == time.Sunday || lt.Weekday() == time.Saturday && (lt.Hour() < 10 || lt.Hour() >= 18) || lt.Hour() < 9 || lt.Hour() >= 20
		if closed != !h.Open || closed && (h.Visitors.High != 0 || h.Passersby.Expected != 0) {
			t.Fatalf("%s: open %v, %+v", lt, h.Open, h)
		}
		if h.Visitors.Expected > busiest.Visitors.Expected {
			busiest = h
		}
	}
	if lt := time.UnixMilli(busiest.Start).In(loc); lt.Weekday() != time.Saturday || lt.Hour() < 15 || lt.Hour() > 17 ||
		math.Abs(busiest.Visitors.Expected-40) > 6 || busiest.Visitors.Low >= 40 || busiest.Visitors.High <= 40 {
		t.Fatalf("busiest hour %s: %+v, want Saturday afternoon about 40", lt, busiest.Visitors)
	}

	// Another start and length; bad input.
	res, body = do(t, "GET", srv.URL+"/api/sites/demo/forecast?from=2026-06-03&days=2", "", nil)
	if err := json.Unmarshal(body, &fc); err != nil || res.StatusCode != 200 || len(fc.Hours) != 48 ||
		fc.From != monday.AddDate(0, 0, 2).UnixMilli() {
		t.Fatalf("from a Wednesday for 2 days: %d, %d hours from %d", res.StatusCode, len(fc.Hours), fc.From)
	}
	for _, c := range []struct {
		q    string
		code int
	}{{"demo/forecast?days=0", 400}, {"demo/forecast?days=15", 400}, {"demo/forecast?from=soon", 400}, {"nowhere/forecast", 404}} {
		if res, body := do(t, "GET", srv.URL+"/api/sites/"+c.q, "", nil); res.StatusCode != c.code || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s: %d %s, want %d", c.q, res.StatusCode, body, c.code)
		}
	}

	// Behind a login: a viewer reads it.
	us := newMemUsers()
	a := &Auth{Users: us, Iterations: 1000}
	us.addUser(t, a, "vera", RoleViewer, "pw-viewer")
	locked := newTestServer(t, b, Config{Auth: a})
	if res, _ := do(t, "GET", locked.URL+"/api/sites/demo/forecast", "", nil); res.StatusCode != 401 {
		t.Fatalf("without a login: %d", res.StatusCode)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	lr, err := c.Post(locked.URL+"/api/login", "application/json", strings.NewReader(`{"name":"vera","password":"pw-viewer"}`))
	if err != nil || lr.StatusCode != 200 {
		t.Fatalf("login: %v %v", err, lr)
	}
	lr.Body.Close()
	vr, err := c.Get(locked.URL + "/api/sites/demo/forecast")
	if err != nil || vr.StatusCode != 200 {
		t.Fatalf("a viewer: %v %v", err, vr)
	}
	vr.Body.Close()
}
