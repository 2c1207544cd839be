package heatmap

import (
	"math"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

func TestLocalPeriod(t *testing.T) {
	for _, c := range []struct {
		zone string
		want Period
	}{
		{"UTC", Period{Len: Hour}},
		{"Europe/Berlin", Period{Len: Hour}},
		{"America/St_Johns", Period{Len: Hour, Phase: 30 * 60_000}}, // UTC-3:30, -2:30 in summer
		{"Asia/Kolkata", Period{Len: Hour, Phase: 30 * 60_000}},
		{"Asia/Kathmandu", Period{Len: Hour, Phase: 15 * 60_000}},
		{"Australia/Eucla", Period{Len: Hour, Phase: 15 * 60_000}}, // UTC+8:45
		{"Australia/Lord_Howe", Period{Len: Hour / 2}},             // UTC+10:30, +11 in summer
	} {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := LocalPeriod(loc); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.zone, got, c.want)
		}
	}
}

// TestLocalTilesHoldLocalHours adds a fix every 20 s from 9:50 to 10:20,
// India time, to tiles of India's clock hours and of UTC hours: the tiles
// that start in local hours [10, 11) hold the 20 minutes from 10:00 in the
// first; in the second the tile holding 10:00 starts at 9:30 (a local
// range from 10:00 leaves it out) and the next at 10:30.
func TestLocalTilesHoldLocalHours(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	ten := time.Date(2026, 12, 3, 10, 0, 0, 0, loc).UnixMilli()
	fill := func(tl *Tiles) *Tiles {
		b := NewBuilder(tl)
		for at := ten - 10*60_000; at < ten+20*60_000; at += 20_000 {
			b.Add(&wire.Position{T: at, Track: "a", X: 5, Y: 4, Err: 1})
		}
		b.Flush()
		return tl
	}
	local := fill(NewLocalTiles(shop, 0.5, loc))
	if got := local.Range(ten, ten+Hour).Total(); math.Abs(got-(20*60-5)) > 0.01 {
		t.Errorf("local tiles: 10:00–11:00 holds %.2f s, want 1195", got)
	}
	if got := local.Range(ten-Hour, ten).Total(); math.Abs(got-10*60) > 0.01 {
		t.Errorf("local tiles: 9:00–10:00 holds %.2f s, want 600", got)
	}
	if h := local.Hours(); len(h) != 2 || h[0] != ten-Hour || h[1] != ten {
		t.Errorf("local tiles start at %v, want 9:00 and 10:00", h)
	}
	utc := fill(NewTiles(shop, 0.5))
	if got := utc.Range(ten, ten+Hour).Total(); got != 0 {
		t.Errorf("UTC tiles: the tiles starting 10:00–11:00 hold %.2f s, want none (they start at 9:30 and 10:30)", got)
	}
	if err := local.Put(ten-Hour/2, local.Grid()); err == nil {
		t.Error("a tile put at 9:30 into tiles of India's hours")
	}
}
