package server

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// TestHeatmapHoursInOddZones asks for the heatmap of local hours 10 to 14,
// and of a whole local day, in zones whose clock hours do not start on a
// UTC hour: India (UTC+5:30), Nepal (UTC+5:45), and Berlin as the control.
// A shopper stands in the store from 9:50 to 10:20 local time, and another
// from 23:40 to 23:55 the evening before: hours 10–14 hold the first's 20
// minutes from 10:00, the day all of its 30 and nothing of the evening
// before. With tiles of UTC hours, India's 10–14 selected 10:30–14:30 (none
// of the shopper) and its day began at 23:30 the evening before. Both the
// live tiles and the stored positions (another cell size) are asked. The
// day is yesterday, and Berlin's two days of a change of clocks (23 and 25
// hours): the test took 9:50 as midnight plus 9 h 50 min, 10:50 or 8:50 on
// those days, and failed on the Monday after each change (1795 s for 1195).
func TestHeatmapHoursInOddZones(t *testing.T) {
	for _, tz := range []string{"Asia/Kolkata", "Asia/Kathmandu", "Europe/Berlin"} {
		for _, date := range []string{"yesterday", "2026-03-29", "2026-10-25"} {
			t.Run(tz+"/"+date, func(t *testing.T) { heatmapHoursOn(t, tz, date) })
		}
	}
}

// heatmapHoursOn is TestHeatmapHoursInOddZones in zone tz on date (or
// yesterday).
func heatmapHoursOn(t *testing.T, tz, date string) {
	site := simtest.Shop(t, "small", sim.Config{Seed: 1}).Site()
	site.Timezone = tz
	loc := site.Location()
	srv, _, stop := startSite(t, site, Config{})
	defer stop()
	ctx := context.Background()
	y, m, d := time.Now().In(loc).AddDate(0, 0, -1).Date()
	if date != "yesterday" {
		at, err := time.ParseInLocation(time.DateOnly, date, loc)
		if err != nil {
			t.Fatal(err)
		}
		y, m, d = at.Date()
	}
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	at := func(h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, loc) }
	var ps []wire.Position
	stand := func(track string, from, to time.Time) {
		for at := from; at.Before(to); at = at.Add(20 * time.Second) {
			ps = append(ps, wire.Position{T: at.UnixMilli(), Track: track, X: 5, Y: 4, Err: 1, PStore: 1, N: 4, Zone: "store"})
		}
	}
	stand("evening", day.Add(-20*time.Minute), day.Add(-5*time.Minute))
	stand("morning", at(9, 50), at(10, 20))
	r := srv.runner(site.Site)
	r.mu.Lock()
	r.heat.liveFrom = 0 // a runner that was running before: the live tiles hold every hour
	for i := range ps {
		r.heat.add(&ps[i])
	}
	r.heat.builder.Flush()
	r.mu.Unlock()
	if err := srv.store.WritePositions(ctx, site.Site, ps); err != nil {
		t.Fatal(err)
	}
	// Each fix counts 20 s, a track's last one 15 s.
	for _, c := range []struct {
		from, to int
		want     float64
	}{
		{10, 14, 20*60 - 5},
		{0, 24, 30*60 - 5},
	} {
		for _, cell := range []float64{defaultCell, 1} {
			q := web.HeatmapQuery{Site: site.Site, From: day.UnixMilli(), To: day.AddDate(0, 0, 1).UnixMilli(),
				HourFrom: c.from, HourTo: c.to, Cell: cell, Staff: true}
			h, err := srv.Heatmap(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var got float64
			for _, v := range h.Values {
				got += v
			}
			if math.Abs(got-c.want) > 1 {
				t.Errorf("hours %d–%d, %g m cells: %.0f s, want %.0f", c.from, c.to, cell, got, c.want)
			}
		}
	}
}
