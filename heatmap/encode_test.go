package heatmap

import (
	"errors"
	"math"
	"testing"

	"github.com/passant/passant/wire"
)

// TestTileEncoding: a tile written with AppendTile and added back with
// AddTile gives the very sum the tiles in memory give (the float32 values
// travel whole), an empty hour encodes as an empty tile, and a tile added
// into a grid of other bounds keeps the time that lies inside them, each
// cell's where its centre falls.
func TestTileEncoding(t *testing.T) {
	bounds := wire.Rect{{-2, -8}, {32, 22}}
	tiles := NewTiles(bounds, 0.5)
	b := NewBuilder(tiles)
	h0 := int64(1_764_849_600_000)
	for i := 0; i < 600; i++ {
		b.Add(&wire.Position{T: h0 + int64(i)*7_000, Track: "a", X: 3 + 0.015*float64(i), Y: 2 + 0.01*float64(i), Err: 1.3})
		b.Add(&wire.Position{T: h0 + int64(i)*7_000 + 500, Track: "b", X: 20, Y: 10 - 0.005*float64(i), Err: 0.7})
	}
	b.Flush()
	hours := tiles.Hours()
	if len(hours) != 2 {
		t.Fatalf("%d hours, want 2 (the fixes cross an hour)", len(hours))
	}
	g := tiles.Grid()
	for _, h := range hours {
		if err := AddTile(g, tiles.AppendTile(nil, h, "")); err != nil {
			t.Fatal(err)
		}
	}
	want := tiles.Range(h0, h0+2*Hour)
	for i := range want.V {
		if g.V[i] != want.V[i] {
			t.Fatalf("cell %d: %v from the encoded tiles, %v from memory", i, g.V[i], want.V[i])
		}
	}
	if want.Total() < 1000 {
		t.Fatalf("total %.0f s: the test shows nothing", want.Total())
	}

	empty := tiles.AppendTile(nil, h0+5*Hour, "")
	if len(empty) != tileHead {
		t.Fatalf("an empty hour takes %d bytes, want the head's %d", len(empty), tileHead)
	}
	g2 := tiles.Grid()
	if err := AddTile(g2, empty); err != nil || g2.Total() != 0 {
		t.Fatalf("empty tile: total %v, %v", g2.Total(), err)
	}

	// Bounds grown by 1 m at the left and bottom (two cells), and halved
	// at the right: b's time (x = 20) falls outside.
	moved := NewGrid(wire.Rect{{-3, -9}, {15, 22}}, 0.5)
	for _, h := range hours {
		if err := AddTile(moved, tiles.AppendTile(nil, h, "")); err != nil {
			t.Fatal(err)
		}
	}
	var inside float64
	for j := 0; j < want.NY; j++ {
		for i := 0; i < want.NX; i++ {
			if x, _ := want.Center(i, j); x < 15 {
				inside += want.V[j*want.NX+i]
			}
		}
	}
	if math.Abs(moved.Total()-inside) > 1e-6*inside {
		t.Fatalf("moved bounds: %.3f s, want the %.3f s inside them", moved.Total(), inside)
	}
	if got, w := moved.At(4.25, 3.25), want.At(4.25, 3.25); got != w || w == 0 {
		t.Fatalf("cell at (4.25, 3.25): %v in the moved grid, %v", got, w)
	}

	for _, bad := range [][]byte{nil, []byte("Hx"), empty[:tileHead-1], append(tiles.AppendTile(nil, hours[0], ""), 0)} {
		if err := AddTile(tiles.Grid(), bad); !errors.Is(err, ErrTile) {
			t.Errorf("%d bytes: %v, want ErrTile", len(bad), err)
		}
	}
}
