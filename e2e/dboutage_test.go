package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/passant/passant/server"
	"github.com/passant/passant/store/storetest"
)

// TestDatabaseOutage takes PostgreSQL away (a TCP proxy in front of the test
// database cuts every connection and refuses new ones) while the shop runs:
// the server keeps locating and streaming, holds the writes within its
// bound, and writes them when the database is back. A second server that
// knows only the database (no journal) then gives the same day's report as
// a replay of what was sent.
func TestDatabaseOutage(t *testing.T) {
	pg := storetest.PostgresURL(t)
	db, proxy := storetest.Proxied(t, pg)

	rec := Record(t, "small", busy(41), simFrom, simSpan())
	items := append(append([]Item(nil), rec.Items...), rec.Tail(simFrom.Add(simSpan()+time.Hour))...)
	site := rec.Site.Site
	siteFile := rec.WriteSite(t, t.TempDir())
	srv := StartServer(t, server.Config{DB: db, Migrate: true, SiteFiles: []string{siteFile}})
	pub := NewPublisher(t, srv.Broker, "e2e-sensors")
	ctx := context.Background()

	third := len(items) / 3
	if err := pub.Send(ctx, site, items[:third], 8); err != nil {
		t.Fatal(err)
	}
	srv.WaitBatches(t, site, int64(third), time.Minute)
	proxy.Cut()
	fixes := srv.Metric("passant_fixes_total")
	if err := pub.Send(ctx, site, items[third:2*third], 8); err != nil {
		t.Fatal(err)
	}
	srv.WaitBatches(t, site, int64(2*third), time.Minute)
	if srv.Metric("passant_fixes_total") <= fixes {
		t.Error("no positions computed while the database was away")
	}
	snap, err := srv.Live(ctx, site)
	if err != nil || len(snap.Tracks) == 0 {
		t.Errorf("live map during the outage: %v, %d tracks", err, len(snap.Tracks))
	}
	srv.WaitMetric(t, "passant_store_pending_observations", 1, time.Minute)
	// The writer found the database away.
	deadline := time.Now().Add(time.Minute)
	for srv.Metric("passant_store_up") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("passant_store_up stayed 1 with the database away")
		}
		time.Sleep(50 * time.Millisecond)
	}
	held := srv.Metric("passant_store_pending_observations")
	away := outage(t, 3*time.Second)
	time.Sleep(away)
	proxy.Restore()
	if err := pub.Send(ctx, site, items[2*third:], 8); err != nil {
		t.Fatal(err)
	}
	srv.WaitBatches(t, site, int64(len(items)), time.Minute)
	deadline = time.Now().Add(2 * time.Minute)
	for srv.Metric("passant_store_pending_observations") != 0 || srv.Metric("passant_store_up") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("writes not resumed 2 min after the database came back: %g pending", srv.Metric("passant_store_pending_observations"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if d := srv.Metric("passant_store_observations_dropped_total"); d != 0 {
		t.Errorf("%g observations dropped over the write buffer's bound", d)
	}
	srv.Stop()

	ref, _ := ReplayItems(t, rec.Site, items)
	// A server with a fresh data directory: it knows only the database.
	again := StartServer(t, server.Config{DB: pg, SiteFiles: []string{siteFile}})
	stored, err := again.Report(ctx, site, ref.Report.From, ref.Report.To)
	if err != nil {
		t.Fatal(err)
	}
	SameJSON(t, "report from the database after an outage, and of a replay", stored, ref.Report)
	st := OpenStore(t, pg, "")
	n, err := st.CountObservations(ctx, site, 0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	if n != rec.Obs {
		t.Errorf("stored %d observations, sent %d", n, rec.Obs)
	}
	t.Logf("database away %s; %g observations held at the cut; %d stored of %d sent", away, held, n, rec.Obs)
}
