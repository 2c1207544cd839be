package server

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// TestReprocessRewritesHeatTiles runs two mornings of the small shop
// through a server, then re-processes day 1 with another radio model (the
// path-loss exponent 1 higher: every fix moves): the stored tiles of day 1
// are rewritten and the heatmap follows the new fixes. With the raw
// observations whole (a passers-by retention of a year) the re-processing
// writes the tiles of its own fixes; with the default retention (24 h; day
// 1 is older) only the visitors' observations would be left, so the tiles
// of the day go and are built again from the stored positions, exactly.
func TestReprocessRewritesHeatTiles(t *testing.T) {
	for _, c := range []struct {
		name      string
		retention time.Duration
	}{{"whole", 365 * 24 * time.Hour}, {"thinned", 0}} {
		t.Run(c.name, func(t *testing.T) { reprocessHeat(t, c.retention) })
	}
}

func reprocessHeat(t *testing.T, retention time.Duration) {
	site, days := mornings(t, 2, 60*time.Minute)
	loc := site.Location()
	y, m, d := time.Date(2026, 11, 11, 12, 0, 0, 0, time.UTC).In(loc).Date()
	day1 := time.Date(y, m, d, 0, 0, 0, 0, loc)
	from, to := day1.UnixMilli(), day1.AddDate(0, 0, 1).UnixMilli()
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, Retention: retention})
	defer stop()
	ctx := context.Background()
	for _, d := range days {
		sendStored(t, srv, site.Site, d)
	}
	q := web.HeatmapQuery{Site: site.Site, From: from, To: to, Staff: true}
	heat := func() []float64 {
		t.Helper()
		h, err := srv.Heatmap(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return h.Values
	}
	stored := func() map[heatKey][]byte {
		t.Helper()
		out := map[heatKey][]byte{}
		err := srv.store.ScanHeatTiles(ctx, site.Site, from, to, func(h *store.HeatTile) error {
			out[heatKey{h.Start, h.Staff}] = append([]byte(nil), h.Data...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// What the stored fixes of day 1 give, everyone's.
	fixHeat := func() []float64 {
		t.Helper()
		tiles := siteTiles(site, defaultCell)
		b := heatmap.NewBuilder(tiles)
		err := srv.store.ScanPositions(ctx, site.Site, from, to, func(p *wire.Position) error {
			b.Add(p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		b.Flush()
		return tiles.Range(from, to).V
	}
	before := heat()
	tilesBefore := stored()
	if len(tilesBefore) < 2*20 {
		t.Fatalf("%d tiles of day 1 stored, want everyone's and the staff's of its hours after the first", len(tilesBefore))
	}

	edited := *site
	edited.Radio.Exponent += 1
	if _, err := srv.store.SaveSite(ctx, &edited, store.SourceAPI, "exponent + 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Reprocess(ctx, site.Site, from, to); err != nil {
		t.Fatal(err)
	}
	// Whole: the re-processing wrote every hour of the day; thinned: the
	// tiles went, for the next heatmap to build from the stored positions.
	want := 2 * 24
	if retention == 0 {
		want = 0
	}
	if n := len(stored()); n != want {
		t.Fatalf("%d tiles of day 1 stored after the re-processing, want %d", n, want)
	}
	after := heat()
	var moved, total float64
	for i := range after {
		moved += math.Abs(after[i] - before[i])
		total += before[i]
	}
	t.Logf("day 1: %.0f s; %.0f s moved by the re-processing", total, moved/2)
	if total < 3600 || moved < 0.05*total {
		t.Fatalf("day 1's heatmap: %.0f s, %.0f s moved by the re-processing: the tiles did not follow the new fixes", total, moved/2)
	}
	tilesAfter := stored()
	same := 0
	for k, v := range tilesAfter {
		if string(tilesBefore[k]) == string(v) && len(v) > 50 {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d stored tiles of day 1 with cells unchanged by the re-processing", same)
	}
	if retention > 0 {
		return
	}
	// Thinned: built again from the stored positions, the new ones.
	fixes := fixHeat()
	for i := range fixes {
		if math.Abs(after[i]-fixes[i]) > 1e-6 {
			t.Fatalf("cell %d: %.6f s, the re-processed fixes give %.6f s", i, after[i], fixes[i])
		}
	}
}
