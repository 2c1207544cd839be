package server

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// TestHeatForgetsOldHours runs 30 days of a shopper an hour through a
// runner (as the pipeline's Position and Advance feed it) with fixes kept
// 7 days (RetainAll): after persist the runner's hourly heat tiles reach
// back no further than the fixes' retention, and a heatmap of a day it
// forgot is built again from the stored fixes, equal to the one it held.
// Before, the tiles of every hour since the start stayed in memory for
// good (about 10-60 kB an open hour per site: months of uptime of a chain
// grow without bound), and heatmaps of old hours depended on how long
// the server had been up.
func TestHeatForgetsOldHours(t *testing.T) {
	site := simtest.Shop(t, "small", sim.Config{Seed: 1}).Site()
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	const keep = 7 * 24 * time.Hour
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, RetainAll: keep})
	defer stop()
	ctx := context.Background()
	r := srv.runner(site.Site)
	loc := site.Location()
	start := time.Now().In(loc).AddDate(0, 0, -30)
	day0 := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc)
	const days = 30
	var last int64
	r.mu.Lock()
	for d := 0; d < days; d++ {
		for h := 10; h < 18; h++ {
			at := day0.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour).UnixMilli()
			track := fmt.Sprintf("k%d-%d", d, h)
			for i := 0; i < 12; i++ {
				p := wire.Position{T: at + int64(i)*10_000, Dev: wire.Dev(d*100 + h), Track: track,
					X: 2 + 0.3*float64(i), Y: 3, Err: 1, PStore: 1, N: 4}
				p.Zone = r.plan.Innermost(p.X, p.Y)
				r.Position(p)
				r.Advance(p.T)
				last = p.T
			}
		}
	}
	r.Advance(last + 3_600_000)
	r.mu.Unlock()

	// A day in the middle, while the runner still holds it.
	old := day0.AddDate(0, 0, 10)
	q := web.HeatmapQuery{Site: site.Site, From: old.UnixMilli(), To: old.AddDate(0, 0, 1).UnixMilli(), Staff: true}
	before, err := srv.Heatmap(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if before.Max <= 0 {
		t.Fatal("the day's heatmap is empty: the test shows nothing")
	}

	r.persist(ctx)
	if err := srv.writer.drain(ctx); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	hours := r.heat.tiles.Hours()
	staff := r.heat.staff.Hours()
	r.mu.Unlock()
	cut := heatmap.HourOf(last - keep.Milliseconds())
	if len(hours) == 0 || hours[0] < cut || len(staff) > 0 && staff[0] < cut {
		first := int64(0)
		if len(hours) > 0 {
			first = hours[0]
		}
		t.Fatalf("the runner holds %d hourly tiles from %s (%d staff tiles); fixes are kept from %s",
			len(hours), time.UnixMilli(first).In(loc), len(staff), time.UnixMilli(cut).In(loc))
	}

	after, err := srv.Heatmap(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Values) != len(before.Values) {
		t.Fatalf("%d cells, %d before", len(after.Values), len(before.Values))
	}
	for i := range before.Values {
		if math.Abs(after.Values[i]-before.Values[i]) > 1e-3 {
			t.Fatalf("cell %d: %.4f s from the stored fixes, %.4f s from memory", i, after.Values[i], before.Values[i])
		}
	}
}
