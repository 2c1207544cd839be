package locate

import (
	"math"

	"github.com/passant/passant/wire"
)

// maxCells bounds the cells of a Grid; the cell size grows with the site.
const maxCells = 2500

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
	X0, Y0 float64 // centre of cell 0
	Cell   float64 // side of a cell, metres
	NX, NY int
	ns     int       // sensors
	prior  []float64 // log prior per cell
	side   []uint8
	area   [3]float64 // prior mass per side
	l      []float64  // l[i*n+c]: 10 log10 d of sensor i at cell c (n cells)
	side64 []uint64   // side, for the vector code (grid_vec.go)
}

// lrow returns sensor i's log-distances at cells [ca, cb).
func (g *Grid) lrow(i, ca, cb int) []float64 {
	n := g.NX * g.NY
	return g.l[i*n+ca : i*n+cb]
}

// NewGrid builds the grid of m's bounds; nil when m has no site bounds.
func NewGrid(m *Model) *Grid { return newGrid(m, maxCells) }

// newGrid builds the grid of m's bounds with at most about n cells.
func newGrid(m *Model, n int) *Grid {
	b := m.Bounds
	w, h := b[1][0]-b[0][0], b[1][1]-b[0][1]
	if !(w > 0 && h > 0) || n <= 0 {
		return nil
	}
	cell := math.Max(0.5, math.Sqrt(w*h/float64(n)))
	nx, ny := int(math.Ceil(w/cell)), int(math.Ceil(h/cell))
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
	return g
}

// Center returns the centre of cell c.
func (g *Grid) Center(c int) (x, y float64) {
	return g.X0 + float64(c%g.NX)*g.Cell, g.Y0 + float64(c/g.NX)*g.Cell
}

// Len returns the number of cells.
func (g *Grid) Len() int { return g.NX * g.NY }
