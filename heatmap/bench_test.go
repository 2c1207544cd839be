package heatmap

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/passant/passant/wire"
)

// BenchmarkAddFix spreads one fix (err 1.5 m, 0.5 m cells) into the tiles.
func BenchmarkAddFix(b *testing.B) {
	ps := randomFixes(4096, 9)
	tl := NewTiles(shop, 0.5)
	bl := NewBuilder(tl)
	i := 0
	for b.Loop() {
		bl.Add(&ps[i%len(ps)])
		i++
	}
}

// monthTiles builds 30 days of hourly tiles (every hour busy).
func monthTiles(b *testing.B) *Tiles {
	ps := randomFixes(2000, 10)
	tl := NewTiles(shop, 0.5)
	tl.ByZone = true
	zones := []string{"aisle-1", "aisle-2", "till", "entrance"}
	var k Kernel
	const t0 = 1764547200000
	for h := int64(0); h < 30*24; h++ {
		for j := 0; j < 50; j++ {
			p := ps[(int(h)*50+j)%len(ps)]
			if tl.shape.Spread(&k, p.X, p.Y, p.Err) {
				tl.AddSpanZone(&k, t0+h*Hour+int64(j)*60000, 30000, zones[j%len(zones)])
			}
		}
	}
	if len(tl.Hours()) != 720 {
		b.Fatalf("%d tiles", len(tl.Hours()))
	}
	return tl
}

// BenchmarkMonth sums a month of hourly tiles (720) into one heatmap.
func BenchmarkMonth(b *testing.B) {
	tl := monthTiles(b)
	for b.Loop() {
		g := tl.Range(0, math.MaxInt64)
		if g.Total() == 0 {
			b.Fatal("empty")
		}
	}
	b.ReportMetric(float64(tl.Bytes())/720, "tile-bytes/hour")
}

// BenchmarkMonthZone is BenchmarkMonth with a zone filter (fixes in two
// zones, from the zone tiles).
func BenchmarkMonthZone(b *testing.B) {
	tl := monthTiles(b)
	for b.Loop() {
		tl.Sum(Query{From: 0, To: math.MaxInt64, Zones: []string{"aisle-1", "till"}})
	}
}

// BenchmarkMonthMask is BenchmarkMonth with cells masked by a polygon.
func BenchmarkMonthMask(b *testing.B) {
	tl := monthTiles(b)
	for b.Loop() {
		tl.Range(0, math.MaxInt64, []wire.Point{{2, 3}, {6, 3}, {6, 18}, {2, 18}})
	}
}

// BenchmarkRenderPNG draws and encodes a heatmap, 800 px wide.
func BenchmarkRenderPNG(b *testing.B) {
	tl := monthTiles(b)
	g := tl.Range(0, math.MaxInt64)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WritePNG(&buf, Render(g, Style{Fade: true, Sqrt: true, Label: DurationLabel})); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "png-bytes")
}

// BenchmarkJSON encodes a heatmap grid as JSON.
func BenchmarkJSON(b *testing.B) {
	tl := monthTiles(b)
	g := tl.Range(0, math.MaxInt64)
	var dst []byte
	for b.Loop() {
		dst = g.AppendJSON(dst[:0], "s", 1)
	}
	b.ReportMetric(float64(len(dst)), "json-bytes")
}

// BenchmarkAddFixLogged is BenchmarkAddFix with a Log recording the spans
// (what a server does for the day under way).
func BenchmarkAddFixLogged(b *testing.B) {
	ps := randomFixes(4096, 9)
	tl := NewTiles(shop, 0.5)
	bl := NewBuilder(tl)
	bl.Log = NewLog()
	i := 0
	for b.Loop() {
		bl.Add(&ps[i%len(ps)])
		i++
	}
	b.ReportMetric(float64(bl.Log.Bytes())/float64(max(1, bl.Log.Len())), "log-bytes/span")
}

// logDay logs a busy day, 11 opening hours: 1000 shoppers and passers-by
// of 100 fixes each and 3 staff phones with a fix every 20 s all day.
func logDay(b *testing.B) (*Log, int64) {
	const day = 1764831600000 // 2025-12-04 08:00 in Europe/Berlin
	tl := NewTiles(shop, 0.5)
	bl := NewBuilder(tl)
	bl.Log = NewLog()
	rng := rand.New(rand.NewPCG(3, 3))
	var ps []wire.Position
	for k := 0; k < 1000; k++ {
		t0 := day + rng.Int64N(11*Hour-100*20_000)
		x, y := rng.Float64()*30, rng.Float64()*20
		for i := 0; i < 100; i++ {
			x, y = min(32, max(-2, x+rng.NormFloat64())), min(22, max(-8, y+rng.NormFloat64()))
			ps = append(ps, wire.Position{T: t0 + int64(i)*20_000, Track: fmt.Sprintf("k%d", k), X: x, Y: y, Err: 1 + rng.Float64()})
		}
	}
	for k := 0; k < 3; k++ {
		for t := int64(day); t < day+11*Hour; t += 20_000 {
			ps = append(ps, wire.Position{T: t, Track: fmt.Sprintf("staff%d", k), X: 20 + rng.NormFloat64(), Y: 3 + rng.NormFloat64(), Err: 1.5})
		}
	}
	slices.SortStableFunc(ps, func(a, b wire.Position) int { return cmp.Compare(a.T, b.T) })
	for i := range ps {
		bl.Add(&ps[i])
	}
	bl.Flush()
	return bl.Log, day
}

// BenchmarkLogStaffSoFar sums the staff's spans of a busy day's log into
// tiles of their own: what a heatmap query of the day under way adds.
func BenchmarkLogStaffSoFar(b *testing.B) {
	log, _ := logDay(b)
	staff := func(track string, _ int64) bool { return strings.HasPrefix(track, "staff") }
	for b.Loop() {
		t := NewTiles(shop, 0.5)
		if log.Sum(t, staff) != 3*11*180 {
			b.Fatal("not the staff's spans")
		}
	}
	b.ReportMetric(float64(log.Len()), "spans/day")
	b.ReportMetric(float64(log.Bytes()), "log-bytes/day")
}

// BenchmarkLogMoveDay moves a busy day's staff into their tiles and
// forgets the day: the once-a-day bake (the log rebuilt each round).
func BenchmarkLogMoveDay(b *testing.B) {
	staff := func(track string, _ int64) bool { return strings.HasPrefix(track, "staff") }
	for b.Loop() {
		b.StopTimer()
		log, day := logDay(b)
		t := NewTiles(shop, 0.5)
		b.StartTimer()
		log.Move(t, day+24*Hour, staff)
	}
}
