package server

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/checkpoint"
	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
)

// heatBytes returns the bytes the runner's heat takes in its checkpoint.
func heatBytes(t *testing.T, r *siteRunner) int {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var meta ckMeta
	sizes, err := checkpoint.Sizes(pipeline.CheckpointKeep, 1, r.ckState(&meta)...)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range sizes {
		if root, _, _ := strings.Cut(s.Path, "."); root == "4" { // ckNames: heat
			n += s.Bytes
		}
	}
	return n
}

// TestHeatMemoryBounded runs ten days of a shop (20 shoppers an hour and a
// phone at the till, 10:00-18:00) through a runner as the pipeline's
// Position and Advance feed it: after each day the runner's heat holds
// only that day's tiles and log (the days that are over are in the store),
// and its part of the checkpoint does not grow with the days. Before, the
// tiles of every hour stayed for the fixes' retention (31 days): the heat
// was the largest part of a site's checkpoint (1.08 MB of 3.30 MB after 30
// days of the small simulated shop, TestCheckpointSizeDiag), growing by
// about 37 kB a day.
func TestHeatMemoryBounded(t *testing.T) {
	srv, r, day0, stop := heatServer(t, Config{}, 12)
	defer stop()
	ctx := context.Background()
	site := r.site
	loc := site.Location()
	var sizes []int
	for d := 0; d < 10; d++ {
		last := feedHeatDays(r, day0.AddDate(0, 0, d), 1, uint64(d))
		r.persist(ctx)
		today := dayStart(last, loc)
		r.mu.Lock()
		hours, first := r.heat.tiles.Hours(), r.heat.log.First()
		r.mu.Unlock()
		if len(hours) == 0 || hours[0] < today || first < today {
			t.Fatalf("day %d: the runner holds %d hours of tiles from %s, its log from %s; the day began %s", d+1,
				len(hours), time.UnixMilli(hours[0]).In(loc), time.UnixMilli(first).In(loc), time.UnixMilli(today).In(loc))
		}
		sizes = append(sizes, heatBytes(t, r))
	}
	t.Logf("the heat's checkpoint bytes after each day: %v", sizes)
	for d := 2; d < len(sizes); d++ {
		if sizes[d] > sizes[1]*3/2 {
			t.Fatalf("the heat takes %d bytes after day %d, %d after day 2: it grows with the days", sizes[d], d+1, sizes[1])
		}
	}
	// The days that are over are in the store: all ten.
	if err := srv.writer.drain(ctx); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := srv.store.ScanHeatTiles(ctx, site.Site, day0.UnixMilli(), day0.AddDate(0, 0, 10).UnixMilli(), func(*store.HeatTile) error {
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Day 1 from 11:00, the first hour the runner saw whole; days 2 to 9
	// whole; everyone's and the staff's.
	if want := 2 * (13 + 24*8); n != want {
		t.Fatalf("%d tiles stored of the nine days that are over, want %d", n, want)
	}
}

// TestHeatForgetsOldHours runs 30 days of shoppers through a runner with
// fixes kept 7 days (RetainAll): the heatmap of a day that is over, read
// from the stored tiles, is the one the fixes give (a heatmap.Builder over
// them), and after the retention the stored tiles reach back no further
// than the fixes: a day before is empty, a day after the same. Before, the
// runner kept the tiles of the retention's 31 days in memory.
func TestHeatForgetsOldHours(t *testing.T) {
	const keep = 7 * 24 * time.Hour
	srv, r, day0, stop := heatServer(t, Config{RetainAll: keep}, 30)
	defer stop()
	ctx := context.Background()
	site := r.site
	loc := site.Location()
	storeHeatDays(t, srv, r, day0, 30, 7)
	heatOf := func(day time.Time) *web.Heatmap {
		t.Helper()
		q := web.HeatmapQuery{Site: site.Site, From: day.UnixMilli(), To: day.AddDate(0, 0, 1).UnixMilli(), Staff: true}
		h, err := srv.Heatmap(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// What the day's fixes give, everyone's.
	fixHeat := func(day time.Time) *heatmap.Grid {
		t.Helper()
		ps, err := srv.store.Positions(ctx, site.Site, day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		tiles := siteTiles(site, defaultCell)
		b := heatmap.NewBuilder(tiles)
		for i := range ps {
			b.Add(&ps[i])
		}
		b.Flush()
		return tiles.Range(day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli())
	}
	same := func(what string, got *web.Heatmap, want *heatmap.Grid) {
		t.Helper()
		if want.Total() < 1000 {
			t.Fatalf("%s: %.0f s: the test shows nothing", what, want.Total())
		}
		var gt float64
		for _, v := range got.Values {
			gt += v
		}
		t.Logf("%s: %.1f s stored, %.1f s from the fixes", what, gt, want.Total())
		for i := range want.V {
			if math.Abs(got.Values[i]-want.V[i]) > 1e-3 {
				t.Fatalf("%s: cell %d: %.4f s from the stored tiles, %.4f s from the fixes", what, i, got.Values[i], want.V[i])
			}
		}
	}
	old, recent := day0.AddDate(0, 0, 10), day0.AddDate(0, 0, 27)
	same("day 11", heatOf(old), fixHeat(old))
	wantRecent := fixHeat(recent)
	same("day 28", heatOf(recent), wantRecent)

	srv.retain(ctx)
	var first int64 = -1
	err := srv.store.ScanHeatTiles(ctx, site.Site, 0, math.MaxInt64, func(h *store.HeatTile) error {
		if first < 0 {
			first = h.Start
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cut := time.Now().Add(-keep).UnixMilli()
	if first < heatmap.HourOf(cut)-heatmap.Hour {
		t.Fatalf("after the retention the stored tiles begin %s; fixes are kept from %s",
			time.UnixMilli(first).In(loc), time.UnixMilli(cut).In(loc))
	}
	if h := heatOf(old); h.Max != 0 {
		t.Errorf("day 11 after the retention: max %.1f s, want nothing", h.Max)
	}
	same("day 28 after the retention", heatOf(recent), wantRecent)
}
