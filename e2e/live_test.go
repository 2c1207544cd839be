package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/server"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// simFrom is the simulated morning the tests play: a Tuesday.
var simFrom = time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC)

func simSpan() time.Duration {
	if testing.Short() {
		return 10 * time.Minute
	}
	return 25 * time.Minute
}

// TestReplayEqualsLive runs a simulated shop through the live server over
// MQTT (the embedded broker), then replays the server's journal: the
// journal holds exactly what was sent, every position the live server
// stored is one the replay computed, and the live day's report equals the
// replay's.
func TestReplayEqualsLive(t *testing.T) {
	rec := Record(t, "small", busy(11), simFrom, simSpan())
	end := simFrom.Add(simSpan() + time.Hour)
	items := append(append([]Item(nil), rec.Items...), rec.Tail(end)...)

	dir := t.TempDir()
	srv := StartServer(t, server.Config{DataDir: dir, SiteFiles: []string{rec.WriteSite(t, t.TempDir())}})
	pub := NewPublisher(t, srv.Broker, "e2e-sensors")
	if err := pub.Send(context.Background(), rec.Site.Site, items, 16); err != nil {
		t.Fatal(err)
	}
	srv.WaitBatches(t, rec.Site.Site, int64(len(items)), time.Minute)
	if got := srv.Metric("passant_observations_total"); got != float64(rec.Obs) {
		t.Errorf("server accepted %g observations, sent %d", got, rec.Obs)
	}
	ref, refPos := ReplayItems(t, rec.Site, items)
	live, err := srv.Report(context.Background(), rec.Site.Site, ref.Report.From, ref.Report.To)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	// The journal is what was sent, in order.
	lines := JournalLines(t, dir, rec.Site.Site)
	if len(lines) != len(items) {
		t.Fatalf("journal holds %d batches, %d were sent", len(lines), len(items))
	}
	for i, l := range lines {
		if got := wire.AppendBatch(nil, &l.Batch); !bytes.Equal(got, items[i].Payload) {
			t.Fatalf("journal line %d differs from batch %d sent:\n got  %s\n sent %s", i+1, i+1, got, items[i].Payload)
		}
	}

	// Replaying the journal gives what replaying the input gives, and what
	// the live server computed.
	res, pos := ReplayJournal(t, dir, rec.Site)
	SameJSON(t, "journal replay and input replay reports", res.Report, ref.Report)
	if len(pos) != len(refPos) {
		t.Errorf("journal replay: %d positions, input replay %d", len(pos), len(refPos))
	}
	if ref.Report.Totals.Visitors == 0 || ref.Report.Totals.Passersby == 0 {
		t.Fatalf("the simulated shop had no visitors or passers-by: %+v", ref.Report.Totals)
	}
	SameJSON(t, "live and replay reports", live, ref.Report)

	st := OpenStore(t, "", dir)
	stored, err := st.Positions(context.Background(), rec.Site.Site, 0, end.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	computed := map[wire.Position]bool{}
	for _, p := range pos {
		p.PStore, p.FP, p.Rand = 0, "", false // in process only: not stored
		computed[p] = true
	}
	missing := 0
	for _, p := range stored {
		if !computed[p] {
			missing++
			if missing <= 3 {
				t.Errorf("live position %+v is not among the replay's", p)
			}
		}
	}
	if len(stored) < len(pos)/20 {
		t.Errorf("the live server stored %d positions of %d computed: fewer than one in 20", len(stored), len(pos))
	}
	n, err := st.CountObservations(context.Background(), rec.Site.Site, 0, end.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if n != rec.Obs {
		t.Errorf("stored %d observations, sent %d", n, rec.Obs)
	}
	t.Logf("%d batches, %d observations, %d positions (%d stored); visitors %d, passers-by %d",
		len(items), rec.Obs, len(pos), len(stored), ref.Report.Totals.Visitors, ref.Report.Totals.Passersby)
	_ = filepath.Join
}

// busy is the demo's busy afternoon.
func busy(seed uint64) sim.Config {
	return sim.Config{Seed: seed, PassersPerHour: 720, ShoppersPerHour: 90}
}
