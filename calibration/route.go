package calibration

import (
	"math"

	"github.com/passant/passant/wire"
)

// The walk protocol's route (Waypoints), measured on package sim's shops:
// the waypoints nearest a sensor tell most about its rssi_1m, the ones
// across the floor about its exponent, and shadowing decorrelates only as
// the phone moves, so the walker circles under each sensor rather than
// standing still.
const (
	// RouteLoopRadius is the radius of the circle walked round each
	// sensor, m.
	RouteLoopRadius = 1.5
	// RouteLoopPoints is how many waypoints make one circle.
	RouteLoopPoints = 6
	// RouteLoops is how many times the walker circles each sensor: at a
	// normal pace (1 m/s) about 30 s.
	RouteLoops = 3
	// RouteMaxStep is the farthest two consecutive waypoints lie apart, m:
	// even at a slow walk (0.5 m/s) they are marked less than 10 s apart (the contract's
	// straight-line gap), so every frame between them counts.
	RouteMaxStep = 4.0
)

// Waypoints returns the route of the walk protocol, for an installer to
// follow pressing "I'm here" at each point: a serpentine over the floor,
// and where it passes nearest a sensor, RouteLoops circles of radius
// RouteLoopRadius round it (clamped onto the floor's box). No two
// consecutive waypoints lie more than RouteMaxStep apart.
func Waypoints(site *wire.Site) []wire.Point {
	return waypoints(site, RouteLoops, RouteLoopRadius)
}

func waypoints(site *wire.Site, loops int, radius float64) []wire.Point {
	polys := floorPolys(site)
	lo, hi := wire.Point{math.Inf(1), math.Inf(1)}, wire.Point{math.Inf(-1), math.Inf(-1)}
	var area float64
	for _, p := range polys {
		for _, q := range p {
			lo = wire.Point{math.Min(lo[0], q[0]), math.Min(lo[1], q[1])}
			hi = wire.Point{math.Max(hi[0], q[0]), math.Max(hi[1], q[1])}
		}
		area = math.Max(area, wire.PolygonArea(p))
	}
	box := wire.Rect{lo, hi}
	step := math.Max(3, math.Sqrt(area/24))
	var pts []wire.Point
	row := 0
	for y := lo[1] + step/2; y < hi[1]; y += step {
		var line []wire.Point
		for x := lo[0] + step/2; x < hi[0]; x += step {
			for _, p := range polys {
				if insidePoly(wire.Point{x, y}, p) {
					line = append(line, wire.Point{x, y})
					break
				}
			}
		}
		if row%2 == 1 {
			for i, j := 0, len(line)-1; i < j; i, j = i+1, j-1 {
				line[i], line[j] = line[j], line[i]
			}
		}
		pts = append(pts, line...)
		row++
	}
	// After the route point nearest each sensor, circles round it.
	around := make([][]wire.Point, len(pts)+1)
	for _, s := range site.Sensors {
		c := box.Clamp(wire.Point{s.X, s.Y})
		best, bd := len(pts), math.Inf(1)
		for i, p := range pts {
			if d := math.Hypot(p[0]-c[0], p[1]-c[1]); d < bd {
				best, bd = i+1, d
			}
		}
		// Start the circle on the side facing the route point.
		a0 := 0.0
		if best > 0 {
			a0 = math.Atan2(pts[best-1][1]-c[1], pts[best-1][0]-c[0])
		}
		var loop []wire.Point
		for k := 0; k <= loops*RouteLoopPoints; k++ {
			a := a0 + 2*math.Pi*float64(k)/RouteLoopPoints
			loop = append(loop, box.Clamp(wire.Point{c[0] + radius*math.Cos(a), c[1] + radius*math.Sin(a)}))
		}
		around[best] = append(around[best], loop...)
	}
	var route []wire.Point
	add := func(p wire.Point) {
		p = wire.Point{round(p[0], 1), round(p[1], 1)}
		if n := len(route); n > 0 {
			last := route[n-1]
			d := math.Hypot(p[0]-last[0], p[1]-last[1])
			if d == 0 {
				return
			}
			for k, parts := 1, int(math.Ceil(d/RouteMaxStep)); k < parts; k++ {
				f := float64(k) / float64(parts)
				route = append(route, wire.Point{round(last[0]+f*(p[0]-last[0]), 1), round(last[1]+f*(p[1]-last[1]), 1)})
			}
		}
		route = append(route, p)
	}
	for i := 0; i <= len(pts); i++ {
		if i > 0 {
			add(pts[i-1])
		}
		for _, p := range around[i] {
			add(p)
		}
	}
	return route
}
