package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/store"
)

// TestRestartKeepsPastDays: a server that starts without a checkpoint it
// can use (none, or one another build wrote, refused) replays the whole
// journal it has from yesterday's file on: on a data directory whose past
// days were journaled today (the demo's history), every past day. The
// summaries the replay makes are written over the stored ones by key
// (track and day; track, zone and start), and where the stored ones were
// made by another build (another tracker, other names, other visit
// starts) both stood side by side and the report counted both: on the
// walk's demo of 2026-12-06, 2026-11-30's visitors 380 -> 382, 2026-12-01
// 398 -> 402 (docs/reliability.md). Here the stored summaries of the days
// before the last are renamed, as another build's tracker would name
// them; a restart with the checkpoint refused must leave every past day's
// report as it was.
func TestRestartKeepsPastDays(t *testing.T) {
	site, days := mornings(t, 3, 90*time.Minute)
	loc := site.Location()
	ctx := context.Background()
	dayRange := func(d int) (int64, int64) {
		y, m, dd := time.Date(2026, 11, 11+d, 12, 0, 0, 0, time.UTC).In(loc).Date()
		return time.Date(y, m, dd, 0, 0, 0, 0, loc).UnixMilli(), time.Date(y, m, dd+1, 0, 0, 0, 0, loc).UnixMilli()
	}
	figures := func(srv *Server) [3][3]int {
		t.Helper()
		if err := srv.writer.drain(ctx); err != nil {
			t.Fatal(err)
		}
		var out [3][3]int
		for d := range 3 {
			from, to := dayRange(d)
			rep, err := srv.Report(ctx, site.Site, from, to)
			if err != nil {
				t.Fatal(err)
			}
			out[d] = [3]int{rep.Totals.Visitors, rep.Totals.Passersby, rep.Totals.Visits}
		}
		return out
	}
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, Log: log})
	for _, d := range days {
		sendStored(t, srv, site.Site, d)
	}
	first := figures(srv)
	stop()

	// Days 1 and 2 as another build stored them: the same people under
	// other track names.
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "passant.db"))
	if err != nil {
		t.Fatal(err)
	}
	from, _ := dayRange(0)
	_, to := dayRange(1)
	tds, err := st.TrackDays(ctx, site.Site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := st.Visits(ctx, site.Site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var tracks []string
	seen := map[string]bool{}
	for _, d := range tds {
		if !seen[d.Track] {
			seen[d.Track] = true
			tracks = append(tracks, d.Track)
		}
	}
	if err := st.DeleteDerivedTracks(ctx, site.Site, from, to, tracks); err != nil {
		t.Fatal(err)
	}
	other := func(track string) string { return "o" + track[1:] }
	for i := range tds {
		tds[i].Track = other(tds[i].Track)
	}
	var keep []footfall.Visit
	for _, v := range vs {
		if seen[v.Track] {
			v.Track = other(v.Track)
			keep = append(keep, v)
		}
	}
	if err := st.WriteTrackDays(ctx, tds); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteVisits(ctx, keep); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// The checkpoint as another build's: refused.
	ck := filepath.Join(dir, "journal", site.Site, checkpointFile)
	if err := os.WriteFile(ck, []byte("written by another build"), 0o600); err != nil {
		t.Fatal(err)
	}
	mark := len(logs.String())
	srv, stop = startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, Log: log})
	defer stop()
	if !strings.Contains(logs.String()[mark:], "checkpoint is refused") {
		t.Fatalf("the checkpoint was not refused:\n%s", logs.String()[mark:])
	}
	again := figures(srv)
	if again[0] != first[0] || again[1] != first[1] {
		t.Errorf("a restart changed past days' figures (visitors, passers-by, visits): day 1 %v -> %v, day 2 %v -> %v",
			first[0], again[0], first[1], again[1])
	}
	t.Logf("visitors, passers-by, visits by day: %v before the restart, %v after", first, again)
}
