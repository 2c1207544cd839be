package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

func testPositions(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ps []wire.Position
	for i := range 100 {
		ps = append(ps, wire.Position{T: Day0 + int64(i)*500, Track: "k" + string(rune('a'+i%7)),
			Dev: wire.Dev(uint64(i) * 0x9e3779b97f4a7c15), X: float64(i) / 3, Y: -float64(i) / 7, Err: 1.25,
			Zone: []string{"", "store", "aisle-1"}[i%3], N: 3 + i%4})
	}
	fatalIf(t, s.WritePositions(ctx, "demo", ps[50:]))
	fatalIf(t, s.WritePositions(ctx, "demo", ps[:50]))
	fatalIf(t, s.WritePositions(ctx, "other", ps[:10]))
	got, err := s.Positions(ctx, "demo", ps[10].T, ps[90].T)
	fatalIf(t, err)
	if !reflect.DeepEqual(got, ps[10:90]) {
		t.Fatalf("positions differ: %d, want 80", len(got))
	}
	var scanned []wire.Position
	fatalIf(t, s.ScanPositions(ctx, "demo", ps[10].T, ps[90].T, func(p *wire.Position) error {
		scanned = append(scanned, *p)
		return nil
	}))
	if !reflect.DeepEqual(scanned, ps[10:90]) {
		t.Fatalf("scanned positions differ: %d, want 80", len(scanned))
	}
	calls := 0
	if err := s.ScanPositions(ctx, "demo", 0, Day0+dayMs, func(*wire.Position) error { calls++; return context.Canceled }); err != context.Canceled || calls != 1 {
		t.Fatalf("stop: %v after %d", err, calls)
	}
	// Two earlier days (PostgreSQL: partitions dropped whole).
	fatalIf(t, s.WritePositions(ctx, "demo", []wire.Position{{T: Day0 - 2*dayMs}, {T: Day0 - dayMs + 5}, {T: Day0 - 1}}))
	n, err := s.DeletePositionsBefore(ctx, ps[20].T)
	fatalIf(t, err)
	if n != 33 {
		t.Fatalf("deleted %d positions, want 3+20+10", n)
	}
	got, err = s.Positions(ctx, "demo", 0, Day0+dayMs)
	fatalIf(t, err)
	if len(got) != 80 || got[0] != ps[20] {
		t.Fatalf("%d positions left", len(got))
	}
}

func testVisits(t *testing.T, s store.Store) {
	ctx := context.Background()
	vs := []footfall.Visit{
		{Site: "demo", Track: "k1", Zone: "store", Start: Day0 + 1000, End: Day0 + 61000, Fixes: 12,
			Before: Day0 + 200, Enter: Day0 + 700, After: Day0 + 80000},
		{Site: "demo", Track: "k1", Zone: "aisle-1", Start: Day0 + 2000, End: Day0 + 30000, Fixes: 6},
		{Site: "demo", Track: "k2", Zone: "store", Start: Day0 + 5000, End: Day0 + 5000, Fixes: 1},
		{Site: "other", Track: "k1", Zone: "store", Start: Day0 + 1000, End: Day0 + 2000, Fixes: 2},
	}
	fatalIf(t, s.WriteVisits(ctx, vs))
	// The open visit of k2 grows and is written again.
	vs[2].End, vs[2].Fixes, vs[2].After = Day0+95000, 9, Day0+99000
	fatalIf(t, s.WriteVisits(ctx, vs[2:3]))
	got, err := s.Visits(ctx, "demo", Day0, Day0+dayMs)
	fatalIf(t, err)
	if !reflect.DeepEqual(got, vs[:3]) {
		t.Fatalf("visits\n got %+v\nwant %+v", got, vs[:3])
	}
	got, err = s.Visits(ctx, "demo", Day0+1500, Day0+5000)
	fatalIf(t, err)
	if len(got) != 1 || got[0] != vs[1] {
		t.Fatalf("range: %+v", got)
	}
}

func testTrackDays(t *testing.T, s store.Store) {
	ctx := context.Background()
	ds := []footfall.TrackDay{
		{Site: "demo", Day: "2026-12-04", Track: "k2", First: Day0 + 100, Last: Day0 + 900, Fixes: 4, FP: "0a1b2c3d", Rand: true},
		{Site: "demo", Day: "2026-12-04", Track: "k1", First: Day0 + 200, Last: Day0 + 300, Fixes: 2, FP: "ffff0000"},
		{Site: "demo", Day: "2026-12-05", Track: "k1", First: Day0 + dayMs + 5, Last: Day0 + dayMs + 50, Fixes: 3},
		{Site: "other", Day: "2026-12-04", Track: "k1", First: Day0 + 1, Last: Day0 + 2, Fixes: 1},
	}
	fatalIf(t, s.WriteTrackDays(ctx, ds))
	ds[1].Last, ds[1].Fixes, ds[1].Rand = Day0+7000, 8, true
	fatalIf(t, s.WriteTrackDays(ctx, ds[1:2]))
	got, err := s.TrackDays(ctx, "demo", Day0, Day0+2*dayMs)
	fatalIf(t, err)
	want := []footfall.TrackDay{ds[1], ds[0], ds[2]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("track days\n got %+v\nwant %+v", got, want)
	}
	got, err = s.TrackDays(ctx, "demo", Day0+dayMs, Day0+2*dayMs)
	fatalIf(t, err)
	if len(got) != 1 || got[0] != ds[2] {
		t.Fatalf("second day: %+v", got)
	}
}

func testHours(t *testing.T, s store.Store) {
	ctx := context.Background()
	tr := 4
	hs := []wire.Hour{
		{Start: Day0, Passersby: 10, Visitors: 2, CaptureRate: wire.Ratio(2, 12), OccupancyMax: 3, OccupancyMean: 1.25,
			Transactions: &tr, Conversion: wire.Ratio(4, 2), Staff: 1, Open: true},
		{Start: Day0 + 3600_000}, // empty: nil ratios
	}
	fatalIf(t, s.WriteHours(ctx, "demo", hs))
	hs[1].Passersby = 5
	fatalIf(t, s.WriteHours(ctx, "demo", hs[1:]))
	fatalIf(t, s.WriteHours(ctx, "other", hs[:1]))
	got, err := s.Hours(ctx, "demo", Day0, Day0+dayMs)
	fatalIf(t, err)
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(hs)
	if string(a) != string(b) {
		t.Fatalf("hours\n got %s\nwant %s", a, b)
	}
	if got[1].CaptureRate != nil || got[0].CaptureRate == nil {
		t.Fatal("null ratios not kept")
	}
}

func testDeleteDerived(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, site := range []string{"demo", "other"} {
		fatalIf(t, s.WritePositions(ctx, site, []wire.Position{{T: Day0 + 10}, {T: Day0 + dayMs + 10}}))
		fatalIf(t, s.WriteVisits(ctx, []footfall.Visit{{Site: site, Track: "a", Zone: "store", Start: Day0 + 10},
			{Site: site, Track: "a", Zone: "store", Start: Day0 + dayMs + 10}}))
		fatalIf(t, s.WriteTrackDays(ctx, []footfall.TrackDay{{Site: site, Day: "d0", Track: "a", First: Day0 + 10},
			{Site: site, Day: "d1", Track: "a", First: Day0 + dayMs + 10}}))
		fatalIf(t, s.WriteHours(ctx, site, []wire.Hour{{Start: Day0}, {Start: Day0 + dayMs}}))
	}
	_, err := s.WriteTransactions(ctx, []footfall.Transaction{{Site: "demo", T: Day0 + 10}})
	fatalIf(t, err)
	fatalIf(t, s.DeleteDerived(ctx, "demo", Day0, Day0+dayMs))
	for _, c := range []struct {
		site string
		want int
	}{{"demo", 1}, {"other", 2}} {
		ps, _ := s.Positions(ctx, c.site, 0, Day0+9*dayMs)
		vs, _ := s.Visits(ctx, c.site, 0, Day0+9*dayMs)
		ds, _ := s.TrackDays(ctx, c.site, 0, Day0+9*dayMs)
		hs, _ := s.Hours(ctx, c.site, 0, Day0+9*dayMs)
		if len(ps) != c.want || len(vs) != c.want || len(ds) != c.want || len(hs) != c.want {
			t.Fatalf("%s: %d positions, %d visits, %d track days, %d hours left, want %d each",
				c.site, len(ps), len(vs), len(ds), len(hs), c.want)
		}
	}
	if ps, _ := s.Positions(ctx, "demo", 0, Day0+9*dayMs); ps[0].T != Day0+dayMs+10 {
		t.Fatal("the wrong position went")
	}
	if ts, _ := s.ListTransactions(ctx, "demo", 0, Day0+dayMs); len(ts) != 1 {
		t.Fatal("transactions are not derived data")
	}
}

func testDeleteTrack(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, site := range []string{"demo", "other"} {
		fatalIf(t, s.WriteVisits(ctx, []footfall.Visit{{Site: site, Track: "a", Zone: "store", Start: Day0 + 10},
			{Site: site, Track: "b", Zone: "store", Start: Day0 + 20}, {Site: site, Track: "a", Zone: "store", Start: Day0 + dayMs}}))
		fatalIf(t, s.WriteTrackDays(ctx, []footfall.TrackDay{{Site: site, Day: "d0", Track: "a", First: Day0 + 10},
			{Site: site, Day: "d0", Track: "b", First: Day0 + 20}, {Site: site, Day: "d1", Track: "a", First: Day0 + dayMs}}))
	}
	fatalIf(t, s.DeleteTrack(ctx, "demo", "a", Day0, Day0+100))
	for _, c := range []struct {
		site   string
		tracks string
	}{{"demo", "b a"}, {"other", "a b a"}} {
		vs, _ := s.Visits(ctx, c.site, 0, Day0+9*dayMs)
		ds, _ := s.TrackDays(ctx, c.site, 0, Day0+9*dayMs)
		var gv, gd []string
		for _, v := range vs {
			gv = append(gv, v.Track)
		}
		for _, d := range ds {
			gd = append(gd, d.Track)
		}
		if strings.Join(gv, " ") != c.tracks || strings.Join(gd, " ") != c.tracks {
			t.Fatalf("%s: visits of %v, track days of %v left, want %s", c.site, gv, gd, c.tracks)
		}
	}
}

func testTransactions(t *testing.T, s store.Store) {
	ctx := context.Background()
	ts := []footfall.Transaction{
		{Site: "demo", T: Day0 + 100, Amount: 12.5, HasAmount: true, ID: "r1"},
		{Site: "demo", T: Day0 + 50, ID: "r2"},
		{Site: "demo", T: Day0 + 200},
		{Site: "demo", T: Day0 + 200},               // no id: never deduped
		{Site: "other", T: Day0 + 100, ID: "r1"},    // another site's r1
		{Site: "demo", T: Day0 + 999, ID: "r1"},     // a duplicate within the import
		{Site: "demo", T: Day0 + dayMs, ID: "late"}, // out of range below
	}
	n, err := s.WriteTransactions(ctx, ts)
	fatalIf(t, err)
	if n != 6 {
		t.Fatalf("%d new, want 6", n)
	}
	// A re-import adds nothing but the receipts without id.
	n, err = s.WriteTransactions(ctx, ts[:3])
	fatalIf(t, err)
	if n != 1 {
		t.Fatalf("re-import: %d new, want 1", n)
	}
	got, err := s.ListTransactions(ctx, "demo", Day0, Day0+dayMs)
	fatalIf(t, err)
	want := []footfall.Transaction{ts[1], ts[0], ts[2], ts[3], ts[2]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("transactions\n got %+v\nwant %+v", got, want)
	}
	d, err := s.DeleteTransactions(ctx, "demo", Day0, Day0+150)
	fatalIf(t, err)
	if d != 2 {
		t.Fatalf("deleted %d", d)
	}
}

func testCalibrations(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Calibration(ctx, 42); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing calibration: %v", err)
	}
	c1 := store.Calibration{Site: "demo", T: Day0, SiteVersion: 2,
		Sensors: []store.CalibratedSensor{{Sensor: "s1", RSSI1m: -47.25, Exponent: 2.31, Samples: 120, RMSdB: 3.5}},
		Report:  json.RawMessage(`{"before_m":3.1,"after_m":1.9}`)}
	c2 := store.Calibration{Site: "demo", T: Day0 + 5000, Sensors: []store.CalibratedSensor{}}
	id1, err := s.SaveCalibration(ctx, &c1)
	fatalIf(t, err)
	id2, err := s.SaveCalibration(ctx, &c2)
	fatalIf(t, err)
	if id1 == id2 || c1.ID != id1 {
		t.Fatalf("ids %d %d", id1, id2)
	}
	got, err := s.Calibration(ctx, id1)
	fatalIf(t, err)
	if !reflect.DeepEqual(*got, c1) {
		t.Fatalf("calibration\n got %+v\nwant %+v", *got, c1)
	}
	list, err := s.ListCalibrations(ctx, "demo")
	fatalIf(t, err)
	if len(list) != 2 || list[0].ID != id2 || list[1].ID != id1 || list[0].Report != nil {
		t.Fatalf("list %+v", list)
	}
}

// testBulkUpsert writes more rows than a small upsert, with repeated keys in
// one call (the last wins) and rows already stored (updated).
func testBulkUpsert(t *testing.T, s store.Store) {
	ctx := context.Background()
	var vs []footfall.Visit
	var ds []footfall.TrackDay
	var hs []wire.Hour
	for i := range 1000 {
		k := i % 700 // keys 0..299 come twice
		vs = append(vs, footfall.Visit{Site: "demo", Track: fmt.Sprint("k", k), Zone: "store", Start: Day0 + int64(k), End: Day0 + int64(i), Fixes: i})
		ds = append(ds, footfall.TrackDay{Site: "demo", Day: "2026-12-04", Track: fmt.Sprint("k", k), First: Day0 + int64(k), Last: Day0 + int64(i), Fixes: i})
		hs = append(hs, wire.Hour{Start: Day0 + int64(k)*3600_000, Passersby: i})
	}
	fatalIf(t, s.WriteVisits(ctx, vs[:400]))
	fatalIf(t, s.WriteTrackDays(ctx, ds[:400]))
	fatalIf(t, s.WriteHours(ctx, "demo", hs[:400]))
	fatalIf(t, s.WriteVisits(ctx, vs))
	fatalIf(t, s.WriteTrackDays(ctx, ds))
	fatalIf(t, s.WriteHours(ctx, "demo", hs))
	gv, err := s.Visits(ctx, "demo", 0, Day0+dayMs)
	fatalIf(t, err)
	gd, err := s.TrackDays(ctx, "demo", 0, Day0+dayMs)
	fatalIf(t, err)
	gh, err := s.Hours(ctx, "demo", 0, Day0+1000*3600_000)
	fatalIf(t, err)
	if len(gv) != 700 || len(gd) != 700 || len(gh) != 700 {
		t.Fatalf("%d visits, %d track days, %d hours; want 700 each", len(gv), len(gd), len(gh))
	}
	for k := range 700 {
		want := k
		if k < 300 {
			want = k + 700
		}
		if gv[k].Fixes != want || gv[k].End != Day0+int64(want) || gh[k].Passersby != want {
			t.Fatalf("key %d: visit %+v, hour %+v; want the row of %d", k, gv[k], gh[k], want)
		}
	}
	for _, d := range gd {
		var k int
		fmt.Sscanf(d.Track, "k%d", &k)
		want := k
		if k < 300 {
			want = k + 700
		}
		if d.Fixes != want {
			t.Fatalf("track day %+v, want fixes %d", d, want)
		}
	}
}

// testBadValues: values one backend would take and the other not are
// refused (non-finite numbers) or cleaned (NUL, invalid UTF-8) alike.
func testBadValues(t *testing.T, s store.Store) {
	ctx := context.Background()
	nan := math.NaN()
	if err := s.WritePositions(ctx, "demo", []wire.Position{{T: 1, X: 1}, {T: 2, X: nan}}); err == nil ||
		!strings.Contains(err.Error(), "fix 1") {
		t.Fatalf("a NaN fix: %v", err)
	}
	if ps, _ := s.Positions(ctx, "demo", 0, 10); len(ps) != 0 {
		t.Fatal("a refused write stored something")
	}
	bs := Batches(1, "demo", 2, 3, 3, Day0)
	bs[1].Batch.Obs[2].RSSI = math.Inf(-1)
	if err := s.WriteBatches(ctx, bs); err == nil || !strings.Contains(err.Error(), "observation 2") {
		t.Fatalf("an infinite rssi: %v", err)
	}
	if _, err := s.WriteTransactions(ctx, []footfall.Transaction{{Site: "demo", T: 1, Amount: nan, HasAmount: true}}); err == nil {
		t.Fatal("a NaN amount was stored")
	}
	n, err := s.WriteTransactions(ctx, []footfall.Transaction{{Site: "demo", T: 1, ID: "r\x00\xff1"}, {Site: "demo", T: 2, ID: "r\xfe1"}})
	fatalIf(t, err)
	ts, _ := s.ListTransactions(ctx, "demo", 0, 10)
	if n != 1 || len(ts) != 1 || ts[0].ID != "r\uFFFD1" {
		t.Fatalf("receipt ids with NUL and invalid UTF-8: %d new, %+v", n, ts)
	}
	a, _, err := s.RaiseAlert(ctx, store.Alert{Site: "demo", Kind: "x", Message: "bad\x00\xc3", Raised: 1})
	fatalIf(t, err)
	if as, _ := s.ListAlerts(ctx, "demo", true, 0, 0); len(as) != 1 || as[0].Message != "bad\uFFFD" || as[0].ID != a.ID {
		t.Fatalf("alerts %+v", as)
	}
}

func testVisitorDevs(t *testing.T, s store.Store) {
	ctx := context.Background()
	ps := []wire.Position{
		{T: Day0 + 1, Track: "k1", Dev: 11}, {T: Day0 + 2, Track: "k1", Dev: 12}, // a visitor with two pseudonyms
		{T: Day0 + 3, Track: "k2", Dev: 21}, // a bounce
		{T: Day0 + 4, Track: "k3", Dev: 31}, // a passer-by
		{T: Day0 + 5, Track: "k4", Dev: 41}, // a visitor of an area only
	}
	fatalIf(t, s.WritePositions(ctx, "demo", ps))
	fatalIf(t, s.WritePositions(ctx, "other", []wire.Position{{T: Day0 + 1, Track: "k1", Dev: 99}}))
	fatalIf(t, s.WriteVisits(ctx, []footfall.Visit{
		{Site: "demo", Track: "k1", Zone: "store", Start: Day0 + 1, End: Day0 + 120_000},
		{Site: "demo", Track: "k2", Zone: "store", Start: Day0 + 3, End: Day0 + 30_000},
		{Site: "demo", Track: "k4", Zone: "aisle-1", Start: Day0 + 5, End: Day0 + 300_000},
	}))
	devs, err := s.VisitorDevs(ctx, "demo", Day0, Day0+dayMs, "store", 60_000)
	fatalIf(t, err)
	if !reflect.DeepEqual(devs, []wire.Dev{11, 12}) {
		t.Fatalf("visitor devices %v, want [11 12]", devs)
	}
	devs, err = s.VisitorDevs(ctx, "demo", Day0+dayMs, Day0+2*dayMs, "store", 60_000)
	fatalIf(t, err)
	if len(devs) != 0 {
		t.Fatalf("another day: %v", devs)
	}
}

func testDeleteDerivedTracks(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, site := range []string{"demo", "other"} {
		fatalIf(t, s.WritePositions(ctx, site, []wire.Position{{T: Day0 + 10, Track: "a", Dev: 1}, {T: Day0 + 20, Track: "b'x", Dev: 2},
			{T: Day0 + 30, Track: "c", Dev: 3}, {T: Day0 + dayMs + 10, Track: "a", Dev: 1}}))
		fatalIf(t, s.WriteVisits(ctx, []footfall.Visit{{Site: site, Track: "a", Zone: "store", Start: Day0 + 10},
			{Site: site, Track: "b'x", Zone: "store", Start: Day0 + 20}, {Site: site, Track: "c", Zone: "store", Start: Day0 + 30},
			{Site: site, Track: "a", Zone: "store", Start: Day0 + dayMs + 10}}))
		fatalIf(t, s.WriteTrackDays(ctx, []footfall.TrackDay{{Site: site, Day: "d0", Track: "a", First: Day0 + 10},
			{Site: site, Day: "d0", Track: "b'x", First: Day0 + 20}, {Site: site, Day: "d0", Track: "c", First: Day0 + 30},
			{Site: site, Day: "d1", Track: "a", First: Day0 + dayMs + 10}}))
		fatalIf(t, s.WriteHours(ctx, site, []wire.Hour{{Start: Day0}}))
	}
	fatalIf(t, s.DeleteDerivedTracks(ctx, "demo", Day0, Day0+dayMs, nil))
	fatalIf(t, s.DeleteDerivedTracks(ctx, "demo", Day0, Day0+dayMs, []string{"a", "b'x", "nope"}))
	for _, c := range []struct {
		site  string
		want  int
		first string
	}{{"demo", 2, "c"}, {"other", 4, "a"}} {
		ps, _ := s.Positions(ctx, c.site, 0, Day0+9*dayMs)
		vs, _ := s.Visits(ctx, c.site, 0, Day0+9*dayMs)
		ds, _ := s.TrackDays(ctx, c.site, 0, Day0+9*dayMs)
		hs, _ := s.Hours(ctx, c.site, 0, Day0+9*dayMs)
		if len(ps) != c.want || len(vs) != c.want || len(ds) != c.want || len(hs) != 1 {
			t.Fatalf("%s: %d positions, %d visits, %d track days, %d hours left, want %d each and the hour",
				c.site, len(ps), len(vs), len(ds), len(hs), c.want)
		}
		if ps[0].Track != c.first || vs[0].Track != c.first || ds[0].Track != c.first {
			t.Fatalf("%s: the wrong rows went: %+v %+v %+v", c.site, ps[0], vs[0], ds[0])
		}
	}
}
