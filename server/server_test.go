package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// shopThroughMQTT runs a simulated shop for the given span through an
// in-process server with the embedded broker and store, and returns the
// server (running) and its site.
func shopThroughMQTT(t *testing.T, span time.Duration) (*Server, *wire.Site, context.CancelFunc) {
	t.Helper()
	shop := simtest.Shop(t, "small", sim.Config{Seed: 5, ShoppersPerHour: 120, PassersPerHour: 400})
	site := shop.Site()
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir})
	sent := publishShop(t, srv, shop, time.Now().Add(-span), time.Now())
	// Accepted, and processed by the site's pipeline, not only handed to it.
	eventually(t, "every batch accepted", func() bool { return srv.sub.C.Accepted.Load() == int64(sent) })
	eventually(t, "every batch processed", func() bool { return processed(srv.runner(site.Site)) == int64(sent) })
	return srv, site, stop
}

// skipNearMidnight skips a test of the small shop's day (shopThroughMQTT's
// 40 minutes up to now) in the first hour of its local day, when the
// simulated span would cross midnight.
func skipNearMidnight(t *testing.T) {
	t.Helper()
	if loc, _ := time.LoadLocation("Europe/Berlin"); time.Now().In(loc).Hour() < 1 {
		t.Skip("the simulated 40 minutes would cross local midnight")
	}
}

// publishShop publishes the simulated shop's batches of [from, to) to the
// server's broker, as its sensors would, and returns how many it sent.
func publishShop(t *testing.T, srv *Server, shop *sim.Shop, from, to time.Time) int {
	t.Helper()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(srv.BrokerURL()).SetClientID("test-sensors"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	site := shop.Site()
	sent := 0
	simtest.Run(t, shop, from, to, nil, func(sensor string, b *wire.Batch) error {
		sent++
		tok := pub.Publish(wire.Topic("passant", site.Site, sensor, "obs"), 1, false, wire.AppendBatch(nil, b))
		tok.Wait()
		return tok.Error()
	})
	return sent
}

// processed is how many batches the site's pipeline has taken (duplicates
// included); -1 while the runner holds its lock (a runner stuck with it
// fails the caller's eventually instead of hanging the test).
func processed(r *siteRunner) int64 {
	if !r.mu.TryLock() {
		return -1
	}
	defer r.mu.Unlock()
	var n int64
	for _, st := range r.pipe.Stats() {
		n += st.Batches + st.Dupes
	}
	return n
}

// startServer runs a server on cfg with free ports for HTTP and the
// embedded broker, logging nowhere (unless cfg.Log is set); stop shuts it
// down.
func startServer(t testing.TB, cfg Config) (srv *Server, stop func()) {
	t.Helper()
	ready := make(chan struct{})
	cfg.HTTP, cfg.BrokerAddr = "127.0.0.1:0", "127.0.0.1:0"
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.Ready = func(string, string) { close(ready) }
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatal(err)
	}
	return srv, func() { cancel(); <-done }
}

// TestSiteChangeAppliesToToday edits the zones of a running site: today's
// report follows the new plan, as if it had held all day.
func TestSiteChangeAppliesToToday(t *testing.T) {
	skipNearMidnight(t)
	srv, site, stop := shopThroughMQTT(t, 40*time.Minute)
	defer stop()
	ctx := context.Background()
	now := time.Now()
	from := now.Add(-2 * time.Hour).UnixMilli()
	to := now.Add(time.Hour).UnixMilli()
	before, err := srv.Report(ctx, site.Site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if before.Totals.Visitors == 0 {
		t.Fatalf("no visitors in 40 simulated minutes: %+v", before.Totals)
	}
	// A new area over the left half of the store.
	edited := *site
	edited.Zones = append(append([]wire.Zone(nil), site.Zones...), wire.Zone{ID: "left-half", Kind: wire.ZoneArea,
		Polygon: []wire.Point{{0, 0}, {5, 0}, {5, 8}, {0, 8}}})
	v, err := srv.PutSite(ctx, &edited, "a new area")
	if err != nil {
		t.Fatal(err)
	}
	if v.Version < 2 {
		t.Fatalf("version %d", v.Version)
	}
	after, err := srv.Report(ctx, site.Site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, z := range after.Zones {
		if z.Zone == "left-half" && z.Visits > 0 {
			found = true
		}
	}
	if !found {
		t.Fatalf("the new area has no visits today: %+v", after.Zones)
	}
	// Today's hours, deleted with its figures, are stored again at once.
	assertDayHours(t, srv, site.Site, localDay(now.UnixMilli(), site.Location()))
	// The rebuilt day agrees with the day before the edit on what the edit
	// did not touch.
	if after.Totals.Visitors != before.Totals.Visitors || after.Totals.Passersby != before.Totals.Passersby {
		t.Fatalf("visitors %d→%d, passers-by %d→%d", before.Totals.Visitors, after.Totals.Visitors, before.Totals.Passersby, after.Totals.Passersby)
	}
}

// TestReprocessWhileLive re-processes today through the API while the site
// runs: the report afterwards counts every visitor once, as before.
func TestReprocessWhileLive(t *testing.T) {
	skipNearMidnight(t)
	srv, site, stop := shopThroughMQTT(t, 40*time.Minute)
	defer stop()
	ctx := context.Background()
	now := time.Now()
	from, to := now.Add(-2*time.Hour).UnixMilli(), now.Add(time.Hour).UnixMilli()
	srv.writer.drain(ctx)
	before, err := srv.Report(ctx, site.Site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Reprocess(ctx, site.Site, from, to); err != nil {
		t.Fatal(err)
	}
	after, err := srv.Report(ctx, site.Site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	b, a := before.Totals, after.Totals
	if b.Visitors == 0 || a.Visitors != b.Visitors || a.Passersby != b.Passersby || a.Visits != b.Visits {
		t.Fatalf("before: %d visitors, %d passers-by, %d visits; after: %d, %d, %d",
			b.Visitors, b.Passersby, b.Visits, a.Visitors, a.Passersby, a.Visits)
	}
	// The re-processing deleted today's hours and stored them again.
	assertDayHours(t, srv, site.Site, localDay(now.UnixMilli(), site.Location()))
}

// TestSavedHoursAreTheReportsHours checks that the hourly aggregates the
// server stores from memory are the hours of the day's report.
func TestSavedHoursAreTheReportsHours(t *testing.T) {
	skipNearMidnight(t)
	srv, site, stop := shopThroughMQTT(t, 40*time.Minute)
	defer stop()
	ctx := context.Background()
	srv.writer.drain(ctx)
	r := srv.runner(site.Site)
	// Not saveHours: the hours loop may have saved within the minute,
	// before every batch was in. Under r.hours.mu (saveHoursNow of
	// hours_test.go): a save of the loop's begun before the last batch
	// (its first, 10 s after the start, also stores yesterday's final
	// hours from a report, which is slow under -race) could otherwise
	// write its older hours after these.
	saveHoursNow(srv, r)
	loc := site.Location()
	y, m, d := time.Now().In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMilli()
	to := time.Date(y, m, d+1, 0, 0, 0, 0, loc).UnixMilli()
	stored, err := srv.store.Hours(ctx, site.Site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := srv.Report(ctx, site.Site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(rep.Hours) || len(stored) < 23 {
		t.Fatalf("%d hours stored, %d in the report", len(stored), len(rep.Hours))
	}
	visitors := 0
	for i, h := range rep.Hours {
		s := stored[i]
		if s.Start != h.Start || s.Passersby != h.Passersby || s.Visitors != h.Visitors || s.OccupancyMax != h.OccupancyMax {
			t.Fatalf("hour %d: stored %+v, report %+v", i, s, h)
		}
		visitors += h.Visitors
	}
	if visitors == 0 {
		t.Fatal("no visitors in any hour")
	}
}

// startSite is startServer on cfg with the site's file and its data in a
// new temporary directory, which it returns.
func startSite(t testing.TB, site *wire.Site, cfg Config) (srv *Server, dir string, stop func()) {
	t.Helper()
	dir = t.TempDir()
	cfg.SiteFiles, cfg.DataDir = []string{simtest.WriteSite(t, dir, site)}, dir
	srv, stop = startServer(t, cfg)
	return srv, dir, stop
}
