package footfall

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

const testSite = `{"site":"demo","timezone":"Europe/Berlin",
 "bounds":[[-2,-8],[32,22]],
 "open":{"mon-fri":["09:00","20:00"],"sat":["10:00","18:00"]},
 "sensors":[{"id":"s1","x":1,"y":1,"z":2.5}],
 "zones":[{"id":"street","kind":"outside","polygon":[[-2,-8],[32,-8],[32,0],[-2,0]]},
          {"id":"store","kind":"store","polygon":[[0,0],[30,0],[30,20],[0,20]]},
          {"id":"aisle-1","kind":"area","polygon":[[2,3],[6,3],[6,18],[2,18]]},
          {"id":"till","kind":"area","polygon":[[20,2],[24,2],[24,6],[20,6]]}],
 "footfall":{"visitor_min_dwell_s":60,"visit_gap_s":900,"staff_min_dwell_s":14400}}`

func loadSite(t testing.TB) *wire.Site {
	t.Helper()
	s, err := wire.ParseSite([]byte(testSite), false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

// at returns the Unix ms of a local Berlin time.
func at(y int, m time.Month, d, hh, mm, ss int) int64 {
	return time.Date(y, m, d, hh, mm, ss, 0, berlin).UnixMilli()
}

// Places of the test site.
var (
	street = [2]float64{15, -4}
	floor  = [2]float64{15, 10}
	aisle  = [2]float64{4, 10}
	till   = [2]float64{22, 4}
)

// stay returns fixes of a track at one place every step seconds over
// [t0, t1].
func stay(track string, t0, t1 int64, step int, at [2]float64) []wire.Position {
	var out []wire.Position
	for t := t0; t <= t1; t += int64(step) * 1000 {
		out = append(out, wire.Position{T: t, Track: track, X: at[0], Y: at[1], N: 3})
	}
	return out
}

// run feeds the positions in time order (stable for equal times) and
// flushes.
func run(t testing.TB, site *wire.Site, streams ...[]wire.Position) *Counter {
	t.Helper()
	var all []wire.Position
	for _, s := range streams {
		all = append(all, s...)
	}
	slices.SortStableFunc(all, func(a, b wire.Position) int { return int(a.T - b.T) })
	c := NewCounter(site, zones.NewPlan(site))
	for _, p := range all {
		c.Add(p)
	}
	c.Flush()
	return c
}

func storeVisits(vs []Visit) []Visit {
	return slices.DeleteFunc(slices.Clone(vs), func(v Visit) bool { return v.Zone != "store" })
}

func TestCounterVisitGap(t *testing.T) {
	site := loadSite(t)
	t0 := at(2026, 12, 4, 10, 0, 0)
	// a: in the store 2 min, on the street for 14:59 (no store fix), back:
	// one visit. b: the same with a gap of exactly 15 min: two visits.
	a := slices.Concat(
		stay("a", t0, t0+120_000, 10, floor),
		stay("a", t0+130_000, t0+1_010_000, 60, street),
		stay("a", t0+120_000+899_000, t0+1_500_000, 10, floor))
	b := slices.Concat(
		stay("b", t0, t0+120_000, 10, floor),
		stay("b", t0+120_000+900_000, t0+1_500_000, 10, floor))
	c := run(t, site, a, b)
	got := map[string][]Visit{}
	for _, v := range storeVisits(c.Visits()) {
		got[v.Track] = append(got[v.Track], v)
		if v.Open {
			t.Errorf("open visit after Flush: %+v", v)
		}
	}
	if len(got["a"]) != 1 || got["a"][0].Start != t0 || got["a"][0].End != t0+1_499_000 {
		t.Errorf("a: %+v", got["a"])
	}
	if len(got["b"]) != 2 || got["b"][0].End != t0+120_000 || got["b"][1].Start != t0+1_020_000 {
		t.Errorf("b: %+v", got["b"])
	}
}

func TestCounterAdvanceClosesVisits(t *testing.T) {
	site := loadSite(t)
	c := NewCounter(site, zones.NewPlan(site))
	t0 := at(2026, 12, 4, 10, 0, 0)
	for _, p := range stay("a", t0, t0+300_000, 10, aisle) {
		c.Add(p)
	}
	occ := c.Occupancy()
	if occ["store"] != 1 || occ["aisle-1"] != 1 || occ["till"] != 0 {
		t.Errorf("live occupancy %v", occ)
	}
	vs := c.Visits()
	if len(vs) != 2 || !vs[0].Open || !vs[1].Open {
		t.Fatalf("open visits %+v", vs)
	}
	c.Advance(t0 + 300_000 + 899_999)
	if len(c.Visits()) != 2 || !c.Visits()[0].Open {
		t.Fatal("closed before the gap passed")
	}
	c.Advance(t0 + 300_000 + 900_000)
	for _, v := range c.Visits() {
		if v.Open || v.End != t0+300_000 {
			t.Errorf("after the gap: %+v", v)
		}
	}
	if c.Occupancy()["store"] != 0 {
		t.Error("occupancy after close")
	}
	// An older watermark changes nothing.
	c.Advance(t0)
	days := c.TrackDays()
	if len(days) != 1 || !days[0].Open || days[0].Fixes != 31 || days[0].Day != "2026-12-04" {
		t.Errorf("days %+v", days)
	}
	c.Advance(at(2026, 12, 5, 0, 0, 0))
	if c.TrackDays()[0].Open {
		t.Error("day still open after midnight")
	}
	c.Prune(at(2026, 12, 5, 0, 0, 0))
	if len(c.Visits()) != 0 || len(c.TrackDays()) != 0 {
		t.Errorf("prune left %v %v", c.Visits(), c.TrackDays())
	}
}

func TestCounterAreasAndPaths(t *testing.T) {
	site := loadSite(t)
	t0 := at(2026, 12, 4, 10, 0, 0)
	s := slices.Concat(
		stay("a", t0, t0+60_000, 10, street),
		stay("a", t0+70_000, t0+120_000, 10, floor),
		stay("a", t0+130_000, t0+400_000, 10, aisle),
		stay("a", t0+410_000, t0+600_000, 10, till),
		stay("a", t0+610_000, t0+620_000, 10, floor),
		stay("a", t0+630_000, t0+700_000, 10, street))
	c := run(t, site, s)
	vs := c.Visits()
	var zs []string
	for _, v := range vs {
		zs = append(zs, v.Zone)
	}
	if !slices.Equal(zs, []string{"store", "aisle-1", "till"}) {
		t.Fatalf("visits %+v", vs)
	}
	// The aisle from halfway between the last floor fix (120 s) and its
	// first (130 s) to halfway between its last (400 s) and the till's
	// first (410 s); the till until halfway to the next floor fix.
	if vs[0].Start != t0+70_000 || vs[0].End != t0+620_000 || vs[1].Start != t0+125_000 || vs[1].Dwell() != 280 || vs[2].Dwell() != 200 {
		t.Errorf("visits %+v", vs)
	}
	rep := Build(site, at(2026, 12, 4, 10, 0, 0), at(2026, 12, 4, 11, 0, 0), c.TrackDays(), vs, nil, History{})
	wantPaths := []wire.PathStat{{From: "aisle-1", To: "till", Count: 1}, {From: "store", To: "aisle-1", Count: 1}, {From: "till", To: "store", Count: 1}}
	if !slices.Equal(rep.Paths, wantPaths) {
		t.Errorf("paths %+v", rep.Paths)
	}
	if len(rep.Zones) != 2 || rep.Zones[0].Zone != "aisle-1" || rep.Zones[0].Visits != 1 || *rep.Zones[0].DwellMedianS != 280 || rep.Zones[1].Visits != 1 {
		t.Errorf("zones %+v", rep.Zones)
	}
	if rep.Extra == nil || len(rep.Extra.Sequences) != 1 || !slices.Equal(rep.Extra.Sequences[0].Zones, []string{"aisle-1", "till"}) {
		t.Errorf("sequences %+v", rep.Extra)
	}
}

// A shopper browsing 0.5 m inside the door with noisy fixes (err 2 m) is
// one visit, and does not flicker between aisle and floor.
func TestCounterNoisyDoorIsOneVisit(t *testing.T) {
	site := loadSite(t)
	t0 := at(2026, 12, 4, 10, 0, 0)
	var ps []wire.Position
	for i := range 120 {
		y := 0.5
		switch i % 4 { // scatter across the edge: -1.5 .. 2.5
		case 0:
			y = -1.5
		case 1:
			y = 2.5
		case 2:
			y = -0.5
		}
		ps = append(ps, wire.Position{T: t0 + int64(i)*10_000, Track: "a", X: 15, Y: y, Err: 2})
	}
	// Enter confidently first.
	ps = append([]wire.Position{{T: t0 - 10_000, Track: "a", X: 15, Y: 5, Err: 2}}, ps...)
	c := run(t, site, ps)
	sv := storeVisits(c.Visits())
	if len(sv) != 1 || sv[0].Fixes != len(ps) {
		t.Errorf("visits %+v", sv)
	}
	// Without err (the raw polygon test) the same stream still makes one
	// visit, since the gap is 15 min, but with fewer in-store fixes.
	for i := range ps {
		ps[i].Err = 0
	}
	c = run(t, site, ps)
	sv = storeVisits(c.Visits())
	if len(sv) != 1 || sv[0].Fixes >= len(ps) {
		t.Errorf("raw: %+v", sv)
	}
}

// Fixes of a track in the store with the store's side under
// zones.MinEnterP keep it in but are not fixes in the store: a
// window-shopper placed inside the front once with the side sure and then
// three times with the street as likely stays a bounce (0 s, not 90 s); a
// shopper's unsure fixes amid sure ones neither end nor extend the visit.
func TestCounterUnsureFixesAreNotInStore(t *testing.T) {
	site := loadSite(t)
	t0 := at(2026, 12, 4, 10, 0, 0)
	fix := func(track string, s int, y, pin float64) wire.Position {
		return wire.Position{T: t0 + int64(s)*1000, Track: track, X: 15, Y: y, Err: 1, PStore: pin}
	}
	window := []wire.Position{fix("w", 0, 2, 0.9), fix("w", 30, 2, 0.4), fix("w", 60, 2.5, 0.3), fix("w", 90, 2, 0.45), fix("w", 120, -4, 0.05)}
	shopper := []wire.Position{fix("s", 0, 5, 0.9), fix("s", 40, 5, 0.5), fix("s", 80, 8, 0.95), fix("s", 120, 8, 0.3), fix("s", 160, 2, 0.2), fix("s", 200, -4, 0.02)}
	c := run(t, site, window, shopper)
	sv := storeVisits(c.Visits())
	if len(sv) != 2 {
		t.Fatalf("visits %+v", sv)
	}
	for _, v := range sv {
		want := map[string][2]int64{"w": {t0, t0}, "s": {t0, t0 + 80_000}}[v.Track]
		if v.Start != want[0] || v.End != want[1] {
			t.Errorf("%s: visit %d-%d s, want %d-%d s", v.Track, (v.Start-t0)/1000, (v.End-t0)/1000, (want[0]-t0)/1000, (want[1]-t0)/1000)
		}
	}
	if cl := Classes(site, c.TrackDays(), c.Visits()); cl["w"] != Passerby || cl["s"] != Visitor {
		t.Errorf("classes %v", cl)
	}
}

// A track with no store zone in the site is only ever a passer-by.
func TestCounterNoStore(t *testing.T) {
	site := loadSite(t)
	site.Zones = site.Zones[:1]
	c := run(t, site, stay("a", 0, 600_000, 10, floor))
	if len(c.Visits()) != 0 || len(c.TrackDays()) != 1 {
		t.Errorf("%v %v", c.Visits(), c.TrackDays())
	}
	if len(c.Occupancy()) != 0 {
		t.Error("occupancy without store")
	}
}

func TestCounterDayRollover(t *testing.T) {
	site := loadSite(t)
	// A night shift from 23:00 to 01:00 local: two track-days.
	c := run(t, site, stay("n", at(2026, 12, 4, 23, 0, 0), at(2026, 12, 5, 1, 0, 0), 60, street))
	days := c.TrackDays()
	if len(days) != 2 || days[0].Day != "2026-12-04" || days[1].Day != "2026-12-05" ||
		days[0].Last != at(2026, 12, 4, 23, 59, 0) || days[1].First != at(2026, 12, 5, 0, 0, 0) || days[0].Open {
		t.Errorf("%+v", days)
	}
}

// A device in the store for more than staff_min_dwell_s drops out of the
// live occupancy; a shopper beside it counts.
func TestCounterOccupancyWithoutStaff(t *testing.T) {
	site := loadSite(t)
	c := NewCounter(site, zones.NewPlan(site))
	t0 := at(2026, 12, 4, 8, 0, 0)
	for _, p := range stay("printer", t0, t0+3*3600_000, 600, till) {
		c.Position(p)
	}
	if got := c.Occupancy(); got["store"] != 1 || got["till"] != 1 {
		t.Errorf("printer before the staff threshold: %v", got)
	}
	ps := slices.Concat(stay("printer", t0+3*3600_000+600_000, t0+5*3600_000, 600, till),
		stay("shopper", t0+5*3600_000-60_000, t0+5*3600_000, 10, aisle))
	slices.SortStableFunc(ps, func(a, b wire.Position) int { return int(a.T - b.T) })
	for _, p := range ps {
		c.Position(p)
	}
	if got := c.Occupancy(); got["store"] != 1 || got["till"] != 0 || got["aisle-1"] != 1 {
		t.Errorf("after the staff threshold: %v", got)
	}
}

func ExampleCounter() {
	site := &wire.Site{Site: "demo", Timezone: "UTC",
		Zones: []wire.Zone{
			{ID: "street", Kind: wire.ZoneOutside, Polygon: []wire.Point{{0, -5}, {10, -5}, {10, 0}, {0, 0}}},
			{ID: "store", Kind: wire.ZoneStore, Polygon: []wire.Point{{0, 0}, {10, 0}, {10, 10}, {0, 10}}},
		},
		Footfall: wire.Footfall{VisitorMinDwellS: 60, VisitGapS: 900, StaffMinDwellS: 14400}}
	c := NewCounter(site, zones.NewPlan(site))
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).UnixMilli()
	// k1 walks in and stays 3 minutes; k2 walks by.
	for i := range 10 {
		t := t0 + int64(i)*20_000
		c.Add(wire.Position{T: t, Track: "k1", X: 5, Y: 5, Err: 1})
		c.Add(wire.Position{T: t + 1, Track: "k2", X: float64(i), Y: -3, Err: 1})
	}
	fmt.Println("live:", c.Occupancy()["store"])
	c.Advance(t0 + 180_000 + 900_000) // 15 minutes without a fix: the visit ends
	for _, v := range c.Visits() {
		fmt.Println(v.Track, v.Zone, v.Dwell(), v.Open)
	}
	// Output:
	// live: 1
	// k1 store 180 false
}

func TestCounterLatePosition(t *testing.T) {
	site := loadSite(t)
	c := NewCounter(site, zones.NewPlan(site))
	t0 := at(2026, 12, 4, 10, 0, 0)
	for _, p := range stay("a", t0, t0+300_000, 10, floor) {
		c.Add(p)
	}
	c.Add(wire.Position{T: t0 + 100_000, Track: "a", X: floor[0], Y: floor[1]})
	vs, ds := c.Visits(), c.TrackDays()
	if len(vs) != 1 || vs[0].Start != t0 || vs[0].End != t0+300_000 || vs[0].Fixes != 32 {
		t.Errorf("visits %+v", vs)
	}
	if len(ds) != 1 || ds[0].First != t0 || ds[0].Last != t0+300_000 || ds[0].Fixes != 32 {
		t.Errorf("days %+v", ds)
	}
}
