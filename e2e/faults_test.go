package e2e

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	"github.com/passant/passant/server"
	"github.com/passant/passant/wire"
)

// outage is how long the fault tests keep a service away: a few seconds in
// CI, longer from the scripts (PASSANT_E2E_OUTAGE=30s).
func outage(t testing.TB, short time.Duration) time.Duration {
	if v := os.Getenv("PASSANT_E2E_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("PASSANT_E2E_OUTAGE: %v", err)
		}
		return d
	}
	return short
}

// uniqueBatches counts the journal's batches once per (sensor, boot, id).
func uniqueBatches(lines []wire.Line) (unique int, obs int64) {
	type key struct {
		sensor   string
		boot, id int64
	}
	seen := map[key]bool{}
	for _, l := range lines {
		k := key{l.Batch.Sensor, l.Batch.Boot, l.Batch.ID}
		if seen[k] {
			continue
		}
		seen[k] = true
		unique++
		obs += int64(len(l.Batch.Obs))
	}
	return unique, obs
}

// TestBrokerRestart stops a private Mosquitto (with persistence) while the
// simulated sensors publish and the server is subscribed, then starts it
// again: the sensors resend what the broker did not acknowledge, the
// server's persistent session (clean session off, QoS 1) resumes, and what
// the server took equals what was sent, batch for batch; the day's report
// equals a replay of what was sent.
func TestBrokerRestart(t *testing.T) {
	m := StartMosquitto(t)
	rec := Record(t, "small", busy(21), simFrom, simSpan())
	items := append(append([]Item(nil), rec.Items...), rec.Tail(simFrom.Add(simSpan()+time.Hour))...)
	site := rec.Site.Site
	dir := t.TempDir()
	srv := StartServer(t, server.Config{DataDir: dir, MQTT: m.URL(), ClientID: "passant-e2e-broker-restart",
		SiteFiles: []string{rec.WriteSite(t, t.TempDir())}})
	pub := NewPublisher(t, m.URL(), "e2e-sensors")
	ctx := context.Background()

	third := len(items) / 3
	if err := pub.Send(ctx, site, items[:third], 8); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() { sent <- pub.Send(ctx, site, items[third:], 8) }()
	time.Sleep(50 * time.Millisecond) // some batches in flight
	m.Stop()
	away := outage(t, 3*time.Second)
	t.Logf("broker stopped for %s", away)
	time.Sleep(away)
	m.Start()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2*time.Minute + away):
		t.Fatal("the sensors could not send everything after the broker came back")
	}
	srv.WaitBatches(t, site, int64(len(items)), 2*time.Minute)
	ref, _ := ReplayItems(t, rec.Site, items)
	live, err := srv.Report(ctx, site, ref.Report.From, ref.Report.To)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Metric("passant_observations_total"); got < float64(rec.Obs) {
		t.Errorf("server took %g observations, %d were sent", got, rec.Obs)
	}
	resent := pub.Resent.Load()
	dupes := srv.Metric("passant_batches_duplicate_total")
	srv.Stop()

	lines := JournalLines(t, dir, site)
	unique, obs := uniqueBatches(lines)
	if unique != len(items) || obs != rec.Obs {
		t.Errorf("journal: %d distinct batches with %d observations; sent %d with %d", unique, obs, len(items), rec.Obs)
	}
	st := OpenStore(t, "", dir)
	n, err := st.CountObservations(ctx, site, 0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	if n != rec.Obs {
		t.Errorf("stored %d observations, sent %d", n, rec.Obs)
	}
	// The live server computed exactly what a replay of its journal gives
	// (the contract's promise). A replay of what was sent, in the order it
	// was sent, may differ a little: after the restart the sensors'
	// batches arrive in another interleaving, and clock alignment learns
	// from batches in arrival order; nothing may be lost.
	journaled, _ := ReplayJournal(t, dir, rec.Site)
	SameJSON(t, "reports after a broker restart and of a replay of its journal", live, journaled.Report)
	sentTot, liveTot := ref.Report.Totals, live.Totals
	if d := liveTot.Visitors - sentTot.Visitors; d < -2 || d > 2 || math.Abs(float64(liveTot.Passersby-sentTot.Passersby)) > 0.03*float64(sentTot.Passersby)+2 {
		t.Errorf("report after a broker restart: %d visitors, %d passers-by; a replay of what was sent: %d, %d",
			liveTot.Visitors, liveTot.Passersby, sentTot.Visitors, sentTot.Passersby)
	}
	t.Logf("%d batches, %d observations; broker away %s; %d publishes repeated, %d redeliveries dropped, %d journal lines",
		len(items), rec.Obs, away, resent, int(dupes), len(lines))
}
