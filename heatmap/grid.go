// Package heatmap turns position fixes into occupancy-time grids over a
// site's floor — how many person-seconds were spent in each cell — summed
// from hourly tiles so that any range (a day, a month) is quick, and draws
// them, and any other scalar field over the floor, as pictures with a
// perceptual colour map and a legend.
package heatmap

import (
	"fmt"
	"math"

	"github.com/passant/passant/wire"
)

// DefaultCell is the default cell size, metres.
const DefaultCell = 0.5

// Grid is a scalar field over a rectangle of the floor, cell (i, j) covering
// x in [X0+i·Cell, X0+(i+1)·Cell) and y in [Y0+j·Cell, Y0+(j+1)·Cell). V is
// row-major from the bottom row: V[j·NX+i]. For occupancy the unit is
// person-seconds.
type Grid struct {
	X0, Y0 float64
	Cell   float64
	NX, NY int
	V      []float64
}

// NewGrid returns an empty grid covering bounds with cells of cell metres
// (DefaultCell when cell <= 0).
func NewGrid(bounds wire.Rect, cell float64) *Grid {
	g := newShape(bounds, cell)
	g.V = make([]float64, g.NX*g.NY)
	return g
}

// newShape is NewGrid without the cells' values.
func newShape(bounds wire.Rect, cell float64) *Grid {
	if cell <= 0 {
		cell = DefaultCell
	}
	nx := max(1, int(math.Ceil((bounds[1][0]-bounds[0][0])/cell-1e-9)))
	ny := max(1, int(math.Ceil((bounds[1][1]-bounds[0][1])/cell-1e-9)))
	return &Grid{X0: bounds[0][0], Y0: bounds[0][1], Cell: cell, NX: nx, NY: ny}
}

// Cells returns the number of cells of a grid over bounds at cell metres
// (DefaultCell when cell <= 0), allocating none.
func Cells(bounds wire.Rect, cell float64) int {
	g := newShape(bounds, cell)
	return g.NX * g.NY
}

// Bounds returns the rectangle the grid covers.
func (g *Grid) Bounds() wire.Rect {
	return wire.Rect{{g.X0, g.Y0}, {g.X0 + float64(g.NX)*g.Cell, g.Y0 + float64(g.NY)*g.Cell}}
}

// Center returns the centre of cell (i, j).
func (g *Grid) Center(i, j int) (x, y float64) {
	return g.X0 + (float64(i)+0.5)*g.Cell, g.Y0 + (float64(j)+0.5)*g.Cell
}

// At returns the value of the cell holding (x, y), 0 outside.
func (g *Grid) At(x, y float64) float64 {
	i := int(math.Floor((x - g.X0) / g.Cell))
	j := int(math.Floor((y - g.Y0) / g.Cell))
	if i < 0 || j < 0 || i >= g.NX || j >= g.NY {
		return 0
	}
	return g.V[j*g.NX+i]
}

// Total returns the sum of all cells.
func (g *Grid) Total() float64 {
	var s float64
	for _, v := range g.V {
		s += v
	}
	return s
}

// Max returns the largest cell value (0 for an empty grid).
func (g *Grid) Max() float64 {
	var m float64
	for _, v := range g.V {
		m = math.Max(m, v)
	}
	return m
}

// sameShape reports whether g and h have the same cells.
func (g *Grid) sameShape(h *Grid) bool {
	return g.NX == h.NX && g.NY == h.NY && g.X0 == h.X0 && g.Y0 == h.Y0 && g.Cell == h.Cell
}

// Kernel is a fix spread over cells: separable weights over the column
// range [I0, I0+len(WX)) and row range [J0, J0+len(WY)), summing to 1.
type Kernel struct {
	I0, J0 int
	WX, WY []float64
}

// Spread returns the kernel of a fix at (x, y) with 1-sigma error sigma per
// axis: a Gaussian integrated over each cell,
//
//	w_i = Φ((x_{i+1}-x)/σ) - Φ((x_i-x)/σ)
//
// truncated at 3σ and at the grid's edges and renormalised, so the fix's
// whole weight stays on the floor. σ is at least half a cell. The kernel
// reuses k's slices.
func (g *Grid) Spread(k *Kernel, x, y, sigma float64) bool {
	if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return false
	}
	if math.IsNaN(sigma) || sigma < g.Cell/2 {
		sigma = g.Cell / 2
	}
	var ok bool
	k.I0, k.WX, ok = axis(k.WX[:0], g.X0, g.Cell, g.NX, x, sigma)
	if !ok {
		return false
	}
	k.J0, k.WY, ok = axis(k.WY[:0], g.Y0, g.Cell, g.NY, y, sigma)
	return ok
}

func axis(w []float64, o, cell float64, n int, mu, sigma float64) (int, []float64, bool) {
	// Clamp the centre onto the grid: a fix just outside still counts at the edge.
	mu = math.Min(math.Max(mu, o), o+float64(n)*cell)
	lo := max(0, int(math.Floor((mu-3*sigma-o)/cell)))
	hi := min(n-1, int(math.Floor((mu+3*sigma-o)/cell)))
	if hi < lo {
		return 0, w, false
	}
	var sum float64
	s := 1 / (sigma * math.Sqrt2)
	prev := math.Erf((o + float64(lo)*cell - mu) * s)
	for i := lo; i <= hi; i++ {
		next := math.Erf((o + float64(i+1)*cell - mu) * s)
		v := (next - prev) / 2
		w = append(w, v)
		sum += v
		prev = next
	}
	if sum <= 0 {
		return 0, w, false
	}
	for i := range w {
		w[i] /= sum
	}
	return lo, w, true
}

// AddKernel adds weight·k to the grid.
func (g *Grid) AddKernel(k *Kernel, weight float64) {
	for jj, wy := range k.WY {
		row := g.V[(k.J0+jj)*g.NX+k.I0:]
		f := weight * wy
		for ii, wx := range k.WX {
			row[ii] += f * wx
		}
	}
}

// AddFix spreads weight (seconds) of a fix at (x, y) with error sigma.
func (g *Grid) AddFix(x, y, sigma, weight float64) {
	var k Kernel
	if g.Spread(&k, x, y, sigma) {
		g.AddKernel(&k, weight)
	}
}

// Add adds h cell by cell; both must have the same cells.
func (g *Grid) Add(h *Grid) error {
	if !g.sameShape(h) {
		return fmt.Errorf("heatmap: adding a %dx%d grid to a %dx%d one", h.NX, h.NY, g.NX, g.NY)
	}
	for i, v := range h.V {
		g.V[i] += v
	}
	return nil
}

// Mask zeroes every cell whose centre lies outside all of the polygons.
func (g *Grid) Mask(polys ...[]wire.Point) {
	if len(polys) == 0 {
		return
	}
	for j := 0; j < g.NY; j++ {
		for i := 0; i < g.NX; i++ {
			x, y := g.Center(i, j)
			in := false
			for _, p := range polys {
				if Inside(wire.Point{x, y}, p) {
					in = true
					break
				}
			}
			if !in {
				g.V[j*g.NX+i] = 0
			}
		}
	}
}

// Inside reports whether p lies in the simple polygon poly (even-odd rule;
// points on an edge count as inside).
func Inside(p wire.Point, poly []wire.Point) bool {
	in := false
	n := len(poly)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := poly[i], poly[j]
		// On the edge?
		cross := (b[0]-a[0])*(p[1]-a[1]) - (b[1]-a[1])*(p[0]-a[0])
		if math.Abs(cross) < 1e-12 && p[0] >= math.Min(a[0], b[0]) && p[0] <= math.Max(a[0], b[0]) &&
			p[1] >= math.Min(a[1], b[1]) && p[1] <= math.Max(a[1], b[1]) {
			return true
		}
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

// AppendJSON appends the grid as a JSON object:
//
//	{"bounds":[[x0,y0],[x1,y1]],"cell":0.5,"nx":68,"ny":60,"unit":"s",
//	 "total":1234.5,"max":12.3,"values":[...]}
//
// values row-major from the bottom row (y = y0 upwards), each rounded to
// decimals places.
func (g *Grid) AppendJSON(dst []byte, unit string, decimals int) []byte {
	b := g.Bounds()
	dst = append(dst, `{"bounds":[[`...)
	dst = wire.AppendNumber(dst, b[0][0])
	dst = append(dst, ',')
	dst = wire.AppendNumber(dst, b[0][1])
	dst = append(dst, "],["...)
	dst = wire.AppendNumber(dst, b[1][0])
	dst = append(dst, ',')
	dst = wire.AppendNumber(dst, b[1][1])
	dst = append(dst, `]],"cell":`...)
	dst = wire.AppendNumber(dst, g.Cell)
	dst = fmt.Appendf(dst, `,"nx":%d,"ny":%d,"unit":%q,"total":`, g.NX, g.NY, unit)
	dst = wire.AppendRounded(dst, g.Total(), decimals)
	dst = append(dst, `,"max":`...)
	dst = wire.AppendRounded(dst, g.Max(), decimals)
	dst = append(dst, `,"values":[`...)
	for i, v := range g.V {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = wire.AppendRounded(dst, v, decimals)
	}
	return append(dst, "]}"...)
}
