package heatmap

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/passant/passant/wire"
)

// TestLogLeavesOutStaff builds a day of a printer standing at one spot
// from 8:00 to 20:00 (a fix every 30 s, jittering by its error) and a
// shopper walking an aisle for 10 minutes, through a Builder with a Log.
// Once the day is over, the spans of the track the day's classification
// makes staff (the printer) move into tiles of their own: everyone's less
// the staff's has no printer left and the shopper's path whole, and the
// log is empty.
func TestLogLeavesOutStaff(t *testing.T) {
	const day = 1764802800000 // 2025-12-04 00:00 in Europe/Berlin (UTC+1)
	all, staff := NewTiles(shop, 0.5), NewTiles(shop, 0.5)
	log := NewLog()
	b := NewBuilder(all)
	b.Log = log
	rng := rand.New(rand.NewPCG(4, 1))
	var fixes []wire.Position
	for at := int64(day + 8*Hour); at < day+20*Hour; at += 30_000 {
		fixes = append(fixes, wire.Position{T: at, Track: "printer", X: 25 + 0.3*rng.NormFloat64(),
			Y: 3 + 0.3*rng.NormFloat64(), Err: 1.2, Zone: "till"})
	}
	shopper := 0.0
	for i, at := 0, int64(day+11*Hour); at < day+11*Hour+600_000; i, at = i+1, at+20_000 {
		fixes = append(fixes, wire.Position{T: at, Track: "shopper", X: 4, Y: 2 + 0.5*float64(i), Err: 1, Zone: "aisle-1"})
		shopper += 20
	}
	shopper += -20 + float64(b.Last)/1000 // the last fix stands Last
	// In time order, as a pipeline gives them.
	slices.SortStableFunc(fixes, func(a, b wire.Position) int { return cmp.Compare(a.T, b.T) })
	for i := range fixes {
		b.Expire(fixes[i].T)
		b.Add(&fixes[i])
	}
	b.Flush()
	printer := func(g *Grid) float64 { return g.At(25, 3) }
	if log.Len() != b.Counted() {
		t.Fatalf("log holds %d spans of %d counted", log.Len(), b.Counted())
	}
	everyone := all.Range(day, day+24*Hour)
	if printer(everyone) < 1000 {
		t.Fatalf("the printer's cell holds %.0f s with the staff: the test shows nothing", printer(everyone))
	}
	n := log.Move(staff, day+24*Hour, func(track string, _ int64) bool { return track == "printer" })
	if n != 12*120 || log.Len() != 0 || log.First() != math.MaxInt64 {
		t.Errorf("moved %d spans, %d left (first %d); want the printer's 1440, none left", n, log.Len(), log.First())
	}
	people := all.Range(day, day+24*Hour)
	if err := people.Sub(staff.Range(day, day+24*Hour)); err != nil {
		t.Fatal(err)
	}
	if got := printer(people); got > 0.01 {
		t.Errorf("the printer's cell still holds %.3f s of %.0f", got, printer(everyone))
	}
	if got := people.Total(); math.Abs(got-shopper) > 0.5 {
		t.Errorf("people's total %.2f s, want the shopper's %.0f", got, shopper)
	}
	for y := 2.25; y < 6.5; y += 0.5 {
		if people.At(4, y) != everyone.At(4, y) || people.At(4, y) <= 0 {
			t.Errorf("the shopper's path at (4, %.2f): %.2f s with the staff, %.2f without", y, everyone.At(4, y), people.At(4, y))
		}
	}
	if err := people.Sub(NewGrid(shop, 1)); err == nil {
		t.Error("a grid of another shape was taken away")
	}
}

// TestLogMerge checks that a track merged into another (a randomised
// address linked later) takes its spans, and those counted for it after the
// merge, along; and that Move keeps the spans from before on.
func TestLogMerge(t *testing.T) {
	const h0 = 1764849600000
	tl := NewTiles(shop, 0.5)
	log := NewLog()
	b := NewBuilder(tl)
	b.Log = log
	fix := func(t int64, track string) *wire.Position {
		return &wire.Position{T: t, Track: track, X: 10, Y: 10, Err: 1}
	}
	b.Add(fix(h0, "old"))
	b.Add(fix(h0+30_000, "old")) // old's first span
	log.Merge("old", "new")
	b.Add(fix(h0+40_000, "new"))
	b.Flush() // old's open fix is counted after the merge
	if len(log.tracks["old"]) != 0 || len(log.tracks["new"]) != 3 {
		t.Fatalf("after the merge: old %d spans, new %d; want 0 and 3", len(log.tracks["old"]), len(log.tracks["new"]))
	}
	staff := NewTiles(shop, 0.5)
	if n := log.Move(staff, h0+35_000, func(track string, _ int64) bool { return track == "new" }); n != 2 {
		t.Errorf("moved %d spans before h0+35 s, want 2", n)
	}
	if log.Len() != 1 || log.First() != h0+40_000 {
		t.Errorf("left %d spans from %d, want 1 from %d", log.Len(), log.First(), h0+40_000)
	}
	if got := staff.Range(h0, h0+Hour).Total(); math.Abs(got-45) > 1e-3 {
		t.Errorf("staff tiles hold %.3f s, want 30 + 15", got)
	}
	if log.Bytes() < 32 {
		t.Errorf("log of one span takes %d bytes", log.Bytes())
	}
}
