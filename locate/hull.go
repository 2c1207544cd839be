package locate

import (
	"math"

	"github.com/passant/passant/wire"
)

// pointInPolygon reports whether p lies inside poly or on its edge.
func pointInPolygon(p wire.Point, poly []wire.Point) bool {
	n := len(poly)
	if n < 3 {
		return false
	}
	in := false
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := poly[i], poly[j]
		// on the edge
		cr := (b[0]-a[0])*(p[1]-a[1]) - (b[1]-a[1])*(p[0]-a[0])
		if math.Abs(cr) < 1e-9 && p[0] >= math.Min(a[0], b[0])-1e-9 && p[0] <= math.Max(a[0], b[0])+1e-9 &&
			p[1] >= math.Min(a[1], b[1])-1e-9 && p[1] <= math.Max(a[1], b[1])+1e-9 {
			return true
		}
		if (a[1] > p[1]) != (b[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if p[0] < x {
				in = !in
			}
		}
	}
	return in
}

// convexHull returns the convex hull of pts, counter-clockwise, grown
// outward by hullMargin (Andrew's monotone chain). Fewer than 3 distinct
// points give nil.
func convexHull(pts []wire.Point) []wire.Point {
	p := append([]wire.Point(nil), pts...)
	// insertion sort by x, then y: a site has few sensors
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && (p[j][0] < p[j-1][0] || (p[j][0] == p[j-1][0] && p[j][1] < p[j-1][1])); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
	cr := func(o, a, b wire.Point) float64 {
		return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
	}
	var h []wire.Point
	for _, q := range p {
		for len(h) >= 2 && cr(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	lo := len(h) + 1
	for i := len(p) - 2; i >= 0; i-- {
		q := p[i]
		for len(h) >= lo && cr(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	h = h[:len(h)-1]
	if len(h) < 3 {
		return nil
	}
	// grow: move each vertex outward from the centroid by hullMargin
	var cx, cy float64
	for _, q := range h {
		cx += q[0]
		cy += q[1]
	}
	cx /= float64(len(h))
	cy /= float64(len(h))
	for i, q := range h {
		dx, dy := q[0]-cx, q[1]-cy
		l := math.Hypot(dx, dy)
		if l > 0 {
			h[i] = wire.Point{q[0] + hullMargin*dx/l*math.Sqrt2, q[1] + hullMargin*dy/l*math.Sqrt2}
		}
	}
	return h
}
