package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// TestForecastFromStoredHours: GET /api/sites/{site}/forecast reads the
// hours table of the embedded store and of PostgreSQL: two weeks of
// stored hours (each open hour 10 visitors and 50 passers-by, 20 and 90
// from 16:00 to 18:00) and a day whose sensors were off (stored zeros)
// give a week ahead at those figures, with the dark day named and left
// out; an unknown site is 404.
func TestForecastFromStoredHours(t *testing.T) {
	onBothStores(t, func(t *testing.T, db string) {
		ctx := context.Background()
		site := simtest.Shop(t, "small", sim.Config{Seed: 1}).Site()
		loc := site.Location()
		srv, _, stop := startSite(t, site, Config{DB: db, Migrate: true})
		defer stop()
		today := localDay(time.Now().UnixMilli(), loc)
		from := today.AddDate(0, 0, -14)
		dark := today.AddDate(0, 0, -3)
		if !site.Open.IsOpen(dark.Add(12 * time.Hour)) {
			dark = dark.AddDate(0, 0, -1) // a Sunday: the Saturday before
		}
		var hs []wire.Hour
		for _, h := range footfall.Hours(from.UnixMilli(), today.UnixMilli(), loc) {
			lt := time.UnixMilli(h).In(loc)
			wh := wire.Hour{Start: h, Open: site.Open.IsOpen(lt)}
			if wh.Open && lt.YearDay() != dark.YearDay() {
				wh.Visitors, wh.Passersby = 10, 50
				if lt.Hour() == 16 || lt.Hour() == 17 {
					wh.Visitors, wh.Passersby = 20, 90
				}
			}
			hs = append(hs, wh)
		}
		if err := srv.store.WriteHours(ctx, site.Site, hs); err != nil {
			t.Fatal(err)
		}
		res, err := http.Get("http://" + srv.HTTPAddr() + "/api/sites/" + site.Site + "/forecast")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var fc footfall.Forecast
		if err := json.Unmarshal(body, &fc); err != nil || res.StatusCode != 200 {
			t.Fatalf("%d %s: %v", res.StatusCode, body, err)
		}
		if fc.From != today.UnixMilli() || len(fc.Basis.LeftOut) != 1 || fc.Basis.LeftOut[0] != dark.Format(time.DateOnly) ||
			fc.Basis.Days != 11 || fc.Basis.Backtest == nil {
			t.Fatalf("from %d (today %d), basis %+v", fc.From, today.UnixMilli(), fc.Basis)
		}
		open := 0
		for _, h := range fc.Hours {
			lt := time.UnixMilli(h.Start).In(loc)
			if !h.Open {
				if h.Visitors.Expected != 0 {
					t.Fatalf("%s closed expects %v", lt, h.Visitors)
				}
				continue
			}
			open++
			want, pb := 10.0, 50.0
			if lt.Hour() == 16 || lt.Hour() == 17 {
				want, pb = 20, 90
			}
			if h.Visitors.Expected != want || h.Passersby.Expected != pb {
				t.Fatalf("%s expects %v visitors and %v passers-by, want %v and %v", lt, h.Visitors, h.Passersby, want, pb)
			}
		}
		if open != 6*11 {
			t.Fatalf("%d open hours in the week ahead, want 66", open)
		}
		if res, err := http.Get("http://" + srv.HTTPAddr() + "/api/sites/nowhere/forecast"); err != nil || res.StatusCode != 404 {
			t.Fatalf("unknown site: %v %v", err, res)
		}
	})
}
