package heatmap_test

import (
	"fmt"

	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/wire"
)

// Two fixes of one shopper 40 s apart, then the shopper leaves: the first
// fix stands for 40 s, the last for heatmap.DefaultLast.
func ExampleBuilder() {
	tiles := heatmap.NewTiles(wire.Rect{{0, 0}, {10, 8}}, 0.5)
	b := heatmap.NewBuilder(tiles)
	b.Add(&wire.Position{T: 1764849600000, Track: "k1", X: 2, Y: 3, Err: 1})
	b.Add(&wire.Position{T: 1764849640000, Track: "k1", X: 6, Y: 3, Err: 1})
	b.Flush()
	g := tiles.Range(1764849600000, 1764849600000+heatmap.Hour)
	fmt.Printf("%dx%d cells, %.0f person-seconds, more at (2, 3) than at (6, 3): %v\n",
		g.NX, g.NY, g.Total(), g.At(2, 3) > g.At(6, 3))
	// Output: 20x16 cells, 55 person-seconds, more at (2, 3) than at (6, 3): true
}
