package heatmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The encoding of one tile for storage (AppendTile, AddTile), little-endian:
//
//	'H' 1                          magic and version
//	X0 Y0 Cell (float64)           the grid the tile belongs to
//	NX NY (int32)
//	I0 J0 BX BY (int32)            the box of cells the fixes reached
//	BX·BY values (float32)         row-major from the box's bottom row
//
// A tile without cells (an hour nobody was seen) has BX = BY = 0. The
// values are the tile's own float32s, so a stored tile adds up to exactly
// what the tile in memory does.
const (
	tileMagic   = 'H'
	tileVersion = 1
	tileHead    = 2 + 3*8 + 6*4
)

// ErrTile: stored bytes are not a tile of this encoding.
var ErrTile = errors.New("heatmap: not an encoded tile")

// AppendTile appends the encoding of the tile of hour h (zone "" for all
// fixes) to b; an hour without a tile is encoded as an empty one.
func (t *Tiles) AppendTile(b []byte, h int64, zone string) []byte {
	tl := t.tiles[tileKey{h, zone}]
	if tl == nil || tl.v == nil {
		tl = &tile{}
	}
	g := t.shape
	b = append(b, tileMagic, tileVersion)
	for _, f := range []float64{g.X0, g.Y0, g.Cell} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	for _, n := range []int{g.NX, g.NY, tl.i0, tl.j0, tl.nx, tl.ny} {
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(n)))
	}
	for _, v := range tl.v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// AddTile adds an encoded tile (AppendTile) into g. A tile of g's cells
// adds exactly as Tiles.Sum would; a tile of other cells (the site's
// bounds or the cell size changed since it was stored) adds each of its
// cells' time to the cell of g that holds its centre, so its total stays
// whatever lies inside g.
func AddTile(g *Grid, data []byte) error {
	if len(data) < tileHead || data[0] != tileMagic || data[1] != tileVersion {
		return ErrTile
	}
	f := func(i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(data[2+8*i:])) }
	n := func(i int) int { return int(int32(binary.LittleEndian.Uint32(data[26+4*i:]))) }
	src := Grid{X0: f(0), Y0: f(1), Cell: f(2), NX: n(0), NY: n(1)}
	i0, j0, bx, by := n(2), n(3), n(4), n(5)
	if bx < 0 || by < 0 || i0 < 0 || j0 < 0 || i0+bx > src.NX || j0+by > src.NY ||
		len(data) != tileHead+4*bx*by || !(src.Cell > 0) {
		return fmt.Errorf("%w: box %d+%d x %d+%d of %d x %d cells, %d bytes", ErrTile, i0, bx, j0, by, src.NX, src.NY, len(data))
	}
	vals := data[tileHead:]
	val := func(k int) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(vals[4*k:]))) }
	if g.sameShape(&src) {
		for j := 0; j < by; j++ {
			row := g.V[(j0+j)*g.NX+i0 : (j0+j)*g.NX+i0+bx]
			in := vals[4*j*bx : 4*(j+1)*bx]
			for i := range row {
				row[i] += float64(math.Float32frombits(binary.LittleEndian.Uint32(in[4*i:])))
			}
		}
		return nil
	}
	for j := 0; j < by; j++ {
		for i := 0; i < bx; i++ {
			v := val(j*bx + i)
			if v == 0 {
				continue
			}
			x, y := src.Center(i0+i, j0+j)
			gi, gj := int(math.Floor((x-g.X0)/g.Cell)), int(math.Floor((y-g.Y0)/g.Cell))
			if gi >= 0 && gj >= 0 && gi < g.NX && gj < g.NY {
				g.V[gj*g.NX+gi] += v
			}
		}
	}
	return nil
}
