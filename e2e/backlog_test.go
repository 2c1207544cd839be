package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/server"
	"github.com/passant/passant/wire"
)

// TestSpooledBacklog holds back one sensor's batches for four minutes (its
// link was down; it spooled) and sends them after the rest, as a sensor does
// when its link returns: the backlog is journaled, stored and counted as
// late; live positions skip it; a re-processing of the day from the stored
// observations then gives the figures of a run in which the backlog came on
// time.
func TestSpooledBacklog(t *testing.T) {
	rec := Record(t, "small", busy(71), simFrom, simSpan())
	site := rec.Site.Site
	cutFrom, cutTo := simFrom.Add(2*time.Minute).UnixMilli(), simFrom.Add(6*time.Minute).UnixMilli()
	var onTime, backlog []Item
	var backlogObs int64
	for _, it := range rec.Items {
		if it.Sensor == "s1" && it.Batch.Sent >= cutFrom && it.Batch.Sent < cutTo {
			backlog = append(backlog, it)
			backlogObs += int64(len(it.Batch.Obs))
			continue
		}
		onTime = append(onTime, it)
	}
	tail := rec.Tail(simFrom.Add(simSpan() + time.Hour))
	dir := t.TempDir()
	srv := StartServer(t, server.Config{DataDir: dir, SiteFiles: []string{rec.WriteSite(t, t.TempDir())}})
	pub := NewPublisher(t, srv.Broker, "e2e-sensors")
	ctx := context.Background()
	// The backlog arrives after the rest, before the tail.
	late := append(append(append([]Item(nil), onTime...), backlog...), tail...)
	if err := pub.Send(ctx, site, late, 16); err != nil {
		t.Fatal(err)
	}
	srv.WaitBatches(t, site, int64(len(late)), time.Minute)
	if got := srv.Metric("passant_observations_late_total"); got < float64(backlogObs)*0.9 {
		t.Errorf("%g observations counted late, the backlog held %d", got, backlogObs)
	}
	if got := srv.Metric("passant_batches_lost_total"); got != 0 {
		t.Errorf("%g batches counted lost once the backlog came", got)
	}
	ontimeRef, _ := ReplayItems(t, rec.Site, append(append([]Item(nil), rec.Items...), tail...))
	lateRef, _ := ReplayItems(t, rec.Site, late)
	from, to := ontimeRef.Report.From, ontimeRef.Report.To
	live, err := srv.Report(ctx, site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	SameJSON(t, "live report with a late backlog, and a replay of the same arrival order", live, lateRef.Report)
	srv.WaitMetric(t, "passant_store_observations_written_total", float64(rec.Obs), time.Minute)

	srv.Stop()

	// Re-process the day from the stored observations, alone (the live
	// server's in-memory summaries of the day are not involved).
	st := OpenStore(t, "", dir)
	dayFrom, dayTo := Day(rec.Site, simFrom)
	if n, err := st.CountObservations(ctx, site, dayFrom, dayTo); err != nil || n != rec.Obs {
		t.Fatalf("stored %d observations (%v), sent %d", n, err, rec.Obs)
	}
	res, err := server.Reprocess(ctx, st, rec.Site, dayFrom, dayTo, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	days, err := st.TrackDays(ctx, site, dayFrom, dayTo)
	if err != nil {
		t.Fatal(err)
	}
	visits, err := st.Visits(ctx, site, dayFrom-24*3600_000, dayTo)
	if err != nil {
		t.Fatal(err)
	}
	again := footfall.Build(rec.Site, from, to, days, visits, nil, footfall.NewHistory(rec.Site, days, visits))
	t.Logf("backlog: %d batches, %d observations of %d; late %g; re-processed %d batches", len(backlog), backlogObs, rec.Obs, srv.Metric("passant_observations_late_total"), res.Batches)
	t.Logf("on time:     %s", totals(ontimeRef.Report))
	t.Logf("late, live:  %s", totals(live))
	t.Logf("reprocessed: %s", totals(&again))
	SameJSON(t, "re-processed report and a run with the backlog on time", &again, ontimeRef.Report)
}

func totals(r *wire.Report) string {
	b, _ := json.Marshal(r.Totals)
	return string(b)
}
