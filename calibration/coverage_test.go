package calibration

import (
	"testing"

	"github.com/passant/passant/wire"
)

// TestCoverageCellsFollowTheFloor: the walk's coverage grid lies on the
// shop's floor: its cells start at the floor's edge, so every part of the
// shop is in a cell to walk and no cell reaches into the street. Before,
// the grid started at the site's bounds' corner (the street's, 7 m before
// the door): with 2 m cells the demo's shop (0..10 × 0..8) was asked for
// the first metre of the street (cells −1..1) and never for its back metre
// (7..9, whose centre lies on the back wall), which the page drew as a
// band of street to walk and none at the back.
func TestCoverageCellsFollowTheFloor(t *testing.T) {
	site, err := wire.ParseSite([]byte(`{"site":"shop","bounds":[[-10,-7],[20,9]],
		"sensors":[{"id":"s1","x":0.3,"y":0.3},{"id":"s2","x":9.7,"y":0.3},{"id":"s3","x":0.3,"y":7.7}],
		"zones":[{"id":"street","kind":"outside","polygon":[[-10,-7],[20,-7],[20,0],[-10,0]]},
			{"id":"store","kind":"store","polygon":[[0,0],[10,0],[10,8],[0,8]]},
			{"id":"till","kind":"area","polygon":[[7,0.5],[9.5,0.5],[9.5,2.5],[7,2.5]]}]}`), false)
	if err != nil {
		t.Fatal(err)
	}
	c := coverage(site, nil)
	// cellAt is the grid's value at (x, y), −1 outside the grid.
	cellAt := func(x, y float64) int8 {
		i, j := int((x-c.X0)/c.Cell), int((y-c.Y0)/c.Cell)
		if x < c.X0 || y < c.Y0 || i >= c.NX || j >= c.NY {
			return -1
		}
		return c.Cells[j*c.NX+i]
	}
	floor := 0
	for j := 0; j < c.NY; j++ {
		for i := 0; i < c.NX; i++ {
			if c.Cells[j*c.NX+i] < 0 {
				continue
			}
			floor++
			x0, y0 := c.X0+float64(i)*c.Cell, c.Y0+float64(j)*c.Cell
			if x0 < 0 || y0 < 0 || x0+c.Cell > 10 || y0+c.Cell > 8 {
				t.Errorf("cell %d,%d (x %g..%g, y %g..%g) reaches out of the shop (0..10 × 0..8)", i, j, x0, x0+c.Cell, y0, y0+c.Cell)
			}
		}
	}
	if floor != 20 {
		t.Errorf("%d cells of %g m to walk, want the shop's 5 × 4", floor, c.Cell)
	}
	for _, p := range [][2]float64{{0.5, 0.5}, {5, 7.5}, {9.5, 7.9}, {9.9, 0.1}} {
		if cellAt(p[0], p[1]) < 0 {
			t.Errorf("(%g, %g), in the shop, is in no cell to walk", p[0], p[1])
		}
	}
	for _, p := range [][2]float64{{5, -0.5}, {5, -3}, {11, 4}} {
		if cellAt(p[0], p[1]) >= 0 {
			t.Errorf("(%g, %g), outside the shop, is in a cell to walk", p[0], p[1])
		}
	}
}
