package heatmap

import (
	"bytes"
	"math"
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
