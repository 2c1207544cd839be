package locate

import (
	"math"

	"github.com/passant/passant/wire"
)

// maxCells bounds the cells of a Grid; the cell size grows with the site.
// Where the sensors lie on a line (within lineWidth metres of one, or
// fewer than three of them), lineCells does instead: their likelihood is
// then the same on either side of that line but for the front's loss, and
// the side decisions near the line move with the cells. Measured
// (docs/locate.md, "Sixth round"): `corner` (2 sensors on the front wall)
// and `narrow` (3 in a line) lost accuracy with cells coarser than at
// 2,500; `small` and `large` (sensors over an area) keep theirs at 1,200,
// with the front on a cell edge (frontEdge), and their replays take about
// 11% and 17% less CPU.
const (
	maxCells  = 1200
	lineCells = 2500
	lineWidth = 2.0
)

// Prior densities of the Grid, relative: where people can be.
const (
	priorZone  = 1.0  // inside the store or an outside zone
	priorOther = 0.05 // in the bounds but in no zone (walls, neighbours)
)

// Sides of a cell.
const (
	sideOther = iota
	sideStore
	sideOutside
)

// Grid is the site's bounds cut into square cells, with a prior over where
// people can be (the site's zones: the store and the street in front of it)
// and each sensor's log-distance at each cell. It serves the posterior mean
// where least squares is weak: with b ~ N(0, τ²) the transmit offset is
// integrated out in closed form, so the log posterior of cell c is
//
//	log p(c | y) = log π(c) - ½ (S₂ - S₁² / (1/τ² + S₀)),
//	S₀ = Σ w_i,  S₁ = Σ w_i r_i,  S₂ = Σ w_i r_i²,  r_i = y_i - f_i(c),  w_i = 1/σ_i².
//
// The model at a cell is f_i(c) = P_i - n_i L_i(c), L_i = 10 log10 d_i, so
// the table of L (8 bytes per cell and sensor; 2,500 cells of 8 sensors:
// 160 KB per site; sensor by sensor, so that a row of cells is a run of
// memory) is all a fix reads per cell besides its prior and side.
// A Grid is read-only after NewGrid and may be shared.
type Grid struct {
	X0, Y0  float64 // centre of cell 0
	Cell    float64 // side of a cell, metres
	NX, NY  int
	ns      int       // sensors
	prior   []float64 // log prior per cell
	side    []uint8
	area    [3]float64 // prior mass per side (in the bounds)
	far     []farPt    // the street beyond the bounds (farPoints)
	l       []float64  // l[i*n+c]: 10 log10 d of sensor i at cell c (n cells)
	farL    []float64  // farL[i*nf+f] = far[f].l[i], nf = len(farPri): farTable
	farPri  []float64  // far[f].prior, padded with 0 to a multiple of 4
	lc      []float64  // lc[c*lcLanes+i] = l[i*n+c] (0 beyond the sensors), or nil: cellMajor
	farLc   []float64  // the same of the far points (far[f].l), and
	farSide []uint8    // their side (the outside): cellMajor
	side64  []uint64   // side, for the vector code (grid_vec.go)
	xc      []float64  // x of each column's centres, X0 + i·Cell
}

// lcLanes is the cell-major table's sensors per cell (Grid.lc).
const lcLanes = 8

// cellMajor fills g.lc, the table of log-distances by cell, for weightedL's
// pass on AVX2 (weightedLCells): two vector loads per cell (eight sensors) instead
// of one per sensor and cell. Only where that pass runs (AVX2, at most lcLanes
// sensors); the solver calls it for its coarse and mid grids.
func (g *Grid) cellMajor() {
	if g == nil || !avx2 || g.ns > lcLanes {
		return
	}
	n := g.Len()
	g.lc = make([]float64, lcLanes*n)
	for i := range g.ns {
		for c, l := range g.l[i*n : i*n+n] {
			g.lc[c*lcLanes+i] = l
		}
	}
	if len(g.far) > 0 {
		g.farLc = make([]float64, lcLanes*len(g.far))
		g.farSide = make([]uint8, len(g.far))
		for f := range g.far {
			copy(g.farLc[f*lcLanes:], g.far[f].l)
			g.farSide[f] = sideOutside
		}
	}
}

// farTable fills g.farL and g.farPri, the far points' log-distances by
// sensor and their priors, padded with 0 to a multiple of 4 points, for
// farRows on AVX2; nothing without far points.
func (g *Grid) farTable() {
	if len(g.far) == 0 || !avx2 {
		return
	}
	nf := (len(g.far) + 3) &^ 3
	g.farL = make([]float64, g.ns*nf)
	g.farPri = make([]float64, nf)
	for f := range g.far {
		g.farPri[f] = g.far[f].prior
		for i := range g.ns {
			g.farL[i*nf+f] = g.far[f].l[i]
		}
	}
}

// lrow returns sensor i's log-distances at cells [ca, cb).
func (g *Grid) lrow(i, ca, cb int) []float64 {
	n := g.NX * g.NY
	return g.l[i*n+ca : i*n+cb]
}

// NewGrid builds the grid of m's bounds; nil when m has no site bounds.
func NewGrid(m *Model) *Grid {
	if sensorsWidth(m) < lineWidth {
		return newGrid(m, lineCells, false)
	}
	return newGrid(m, maxCells, true)
}

// sensorsWidth returns the width of the sensors' positions: the least, over
// the lines through two of them, of their extent across the line (0 for
// fewer than three).
func sensorsWidth(m *Model) float64 {
	se := m.Sensors
	if len(se) < 3 {
		return 0
	}
	w := math.Inf(1)
	for a := range se {
		for b := a + 1; b < len(se); b++ {
			dx, dy := se[b].X-se[a].X, se[b].Y-se[a].Y
			d := math.Hypot(dx, dy)
			if d == 0 {
				continue
			}
			lo, hi := 0.0, 0.0
			for c := range se {
				v := (dx*(se[c].Y-se[a].Y) - dy*(se[c].X-se[a].X)) / d
				lo, hi = min(lo, v), max(hi, v)
			}
			w = min(w, hi-lo)
		}
	}
	if math.IsInf(w, 1) {
		return 0
	}
	return w
}

// frontEdge returns the shop's front when it runs along an axis: a
// horizontal (y, axis 1) or vertical (x, axis 0) edge of the store's
// polygon that lies on the line of an edge of an outside zone's.
func frontEdge(m *Model) (v float64, axis int, ok bool) {
	if m.Site == nil {
		return 0, 0, false
	}
	// edges calls fn for each axis-parallel edge of the zones of kind k.
	edges := func(k string, fn func(v float64, axis int) bool) bool {
		for _, z := range m.Site.Zones {
			if z.Kind != k {
				continue
			}
			p := z.Polygon
			for i := range p {
				a, b := p[i], p[(i+1)%len(p)]
				for ax := range 2 {
					if a[ax] == b[ax] && a[1-ax] != b[1-ax] && fn(a[ax], ax) {
						return true
					}
				}
			}
		}
		return false
	}
	ok = edges(wire.ZoneStore, func(sv float64, sa int) bool {
		return edges(wire.ZoneOutside, func(ov float64, oa int) bool {
			if sv == ov && sa == oa {
				v, axis = sv, sa
				return true
			}
			return false
		})
	})
	return v, axis, ok
}

// newGrid builds the grid of m's bounds with about n cells (cells no
// smaller than 0.5 m before the resize below, which may shrink a cell by
// up to a quarter). With front, the cell is resized so that the shop's
// front (frontEdge) falls on an edge between cells, a whole number of cells
// from the bounds: the likelihood steps there by the front's loss, and a
// row of cells across the front would put street beside it in the store
// or the other way round (in TestTrackerLearnsLevel's world, 1.3% of the
// phones changed side with it, over 12 seeds). Every cell's centre is
// then in the bounds (rounded counts of cells, not the next whole
// number), as the far points need.
func newGrid(m *Model, n int, front bool) *Grid {
	b := m.Bounds
	w, h := b[1][0]-b[0][0], b[1][1]-b[0][1]
	if !(w > 0 && h > 0) || n <= 0 {
		return nil
	}
	cell := math.Max(0.5, math.Sqrt(w*h/float64(n)))
	if v, ax, ok := frontEdge(m); front && ok && v > b[0][ax] {
		d := v - b[0][ax]
		cell = d / max(1, math.Round(d/cell))
	}
	nx, ny := int(math.Ceil(w/cell)), int(math.Ceil(h/cell))
	if front {
		nx, ny = max(1, int(math.Round(w/cell))), max(1, int(math.Round(h/cell)))
	}
	g := &Grid{X0: b[0][0] + cell/2, Y0: b[0][1] + cell/2, Cell: cell, NX: nx, NY: ny,
		ns: len(m.Sensors)}
	n = nx * ny
	g.prior = make([]float64, n)
	g.side = make([]uint8, n)
	g.l = make([]float64, n*g.ns)
	var zones []wire.Zone
	if m.Site != nil {
		zones = m.Site.Zones
	}
	g.vecInit()
	g.xc = make([]float64, nx)
	for i := range g.xc {
		g.xc[i] = g.X0 + float64(i)*g.Cell
	}
	for c := 0; c < n; c++ {
		x, y := g.Center(c)
		p := wire.Point{x, y}
		dens := priorOther
		if len(zones) == 0 {
			dens = priorZone
		}
		for _, z := range zones {
			if !pointInPolygon(p, z.Polygon) {
				continue
			}
			switch z.Kind {
			case wire.ZoneStore:
				g.side[c] = sideStore
				dens = priorZone
			case wire.ZoneOutside:
				if g.side[c] != sideStore {
					g.side[c] = sideOutside
				}
				dens = priorZone
			}
		}
		if g.side64 != nil {
			g.side64[c] = uint64(g.side[c])
		}
		g.prior[c] = math.Log(dens)
		g.area[g.side[c]] += dens
		for i := range m.Sensors {
			g.l[i*n+c] = (m.Sensors[i].RSSI1m - m.Expected(i, x, y)) / m.Sensors[i].Exponent
		}
	}
	if len(m.Sensors) > 1 {
		g.farPoints(m)
		g.farTable()
	}
	return g
}

// farPt is a point of an outside zone beyond the site's bounds.
type farPt struct {
	x, y   float64   // where it is
	cx, cy float64   // where its fix lands: the centre of the edge cell
	prior  float64   // log prior mass, in cells of priorZone
	l      []float64 // 10 log10 d per sensor, as Grid.l
}

// The street beyond the bounds (farPoints): points farStep metres apart up
// to farReach metres beyond the edge, at the density priorFar per cell.
// priorFar is below the street's priorZone because the grid's likelihood
// takes a faint reading as it comes, when a phone far along the street is
// heard only when its frames happen to rise above the sensors'
// sensitivity (a selection the Gaussian per reading does not know), and so
// overrates far points; measured on corner, seeds 1-3 (docs/locate.md,
// "The street beyond the bounds"): 1 put 20-30% of the shoppers on the
// street, 0.03-0.2 trade a few visitors between seeds.
const (
	farStep  = 2.5
	farReach = 50.0
	priorFar = 0.1
)

// farPoints continues the outside zones that cross the bounds (a street
// running from the left edge to the right one, or from the bottom to the
// top) beyond them, up to farReach metres: phones are heard from far
// along the street, and a grid that ends at the bounds offers a faint
// burst only cells that are too near, on either side of the front. Each
// run of rows (columns) whose cells are outside at both edges becomes a
// line of points through the run's middle, farStep apart, each with the
// prior mass of the run's width times farStep at priorFar; their side is
// the outside, a fix there lands on the edge cell (fixes stay in the
// bounds), and the sides' areas (the side priors' scale) leave them out.
// Only on sites of two sensors or more: one sensor gives a distance alone,
// and every faint burst then fits the street far beyond the bounds in
// either direction as well as anything (the real captures of
// TestLinkRealCaptures, one sensor beside one phone: iPhone12-M's 325
// pseudonyms made 9 tracks with far points, 6 without).
func (g *Grid) farPoints(m *Model) {
	add := func(x, y, cx, cy, width float64) {
		f := farPt{x: x, y: y, cx: cx, cy: cy, prior: math.Log(priorFar * width * farStep / (g.Cell * g.Cell)),
			l: make([]float64, g.ns)}
		for i := range m.Sensors {
			f.l[i] = (m.Sensors[i].RSSI1m - m.Expected(i, x, y)) / m.Sensors[i].Exponent
		}
		g.far = append(g.far, f)
	}
	// runs calls fn(first, last) for each run of indices in [0, k) where out(i).
	runs := func(k int, out func(int) bool, fn func(a, b int)) {
		for a := 0; a < k; {
			if !out(a) {
				a++
				continue
			}
			b := a
			for b+1 < k && out(b+1) {
				b++
			}
			fn(a, b)
			a = b + 1
		}
	}
	isOut := func(i, j int) bool {
		return g.side[j*g.NX+i] == sideOutside && g.prior[j*g.NX+i] == math.Log(priorZone)
	}
	// Rows crossing from the left edge to the right one.
	runs(g.NY, func(j int) bool { return isOut(0, j) && isOut(g.NX-1, j) }, func(a, b int) {
		y := g.Y0 + float64(a+b)/2*g.Cell
		w := float64(b-a+1) * g.Cell
		xl, xr := g.X0-g.Cell/2, g.X0+float64(g.NX-1)*g.Cell+g.Cell/2
		for d := farStep / 2; d < farReach; d += farStep {
			add(xl-d, y, g.X0, y, w)
			add(xr+d, y, g.X0+float64(g.NX-1)*g.Cell, y, w)
		}
	})
	// Columns crossing from the bottom edge to the top one.
	runs(g.NX, func(i int) bool { return isOut(i, 0) && isOut(i, g.NY-1) }, func(a, b int) {
		x := g.X0 + float64(a+b)/2*g.Cell
		w := float64(b-a+1) * g.Cell
		yb, yt := g.Y0-g.Cell/2, g.Y0+float64(g.NY-1)*g.Cell+g.Cell/2
		for d := farStep / 2; d < farReach; d += farStep {
			add(x, yb-d, x, g.Y0, w)
			add(x, yt+d, x, g.Y0+float64(g.NY-1)*g.Cell, w)
		}
	})
}

// Center returns the centre of cell c.
func (g *Grid) Center(c int) (x, y float64) {
	return g.X0 + float64(c%g.NX)*g.Cell, g.Y0 + float64(c/g.NX)*g.Cell
}

// cellAt returns the cell whose centre is nearest to (x, y), the grid's
// edge cell for a point beyond it.
func (g *Grid) cellAt(x, y float64) int {
	i := int(math.Floor((x - g.X0 + g.Cell/2) / g.Cell))
	j := int(math.Floor((y - g.Y0 + g.Cell/2) / g.Cell))
	i = min(max(i, 0), g.NX-1)
	j = min(max(j, 0), g.NY-1)
	return j*g.NX + i
}

// onEdge says whether cell c lies on the grid's edge (its first or last
// row or column).
func (g *Grid) onEdge(c int) bool {
	x, y := c%g.NX, c/g.NX
	return x == 0 || y == 0 || x == g.NX-1 || y == g.NY-1
}

// Len returns the number of cells.
func (g *Grid) Len() int { return g.NX * g.NY }
