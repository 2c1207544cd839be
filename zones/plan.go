// Package zones is the floor geometry of a site: which zone holds a point
// (point in polygon, innermost zone), how confidently a fix with a given
// error lies in a zone, and zone occupancy over time.
package zones

import (
	"math"
	"slices"

	"github.com/passant/passant/wire"
)

// Plan is a site's zones, ready for fast point queries. A Plan is read-only
// after NewPlan and safe for concurrent use.
type Plan struct {
	zones   []zone
	bySize  []int // zone indices, smallest area first; ties in file order
	store   int   // index of the store zone, -1 when the site has none
	byID    map[string]int
	areaIDs []string
	outIDs  []string
}

type zone struct {
	id, kind string
	poly     []wire.Point
	box      wire.Rect
	area     float64
	// halfWidth is A/P (area over perimeter): the inradius of a square or a
	// circle, half the width of a long aisle. Hysteresis margins never
	// exceed it, so a fix in the middle of a zone is always confidently in.
	halfWidth float64
}

// NewPlan prepares the zones of a site.
func NewPlan(site *wire.Site) *Plan {
	p := &Plan{store: -1, byID: map[string]int{}}
	for i, z := range site.Zones {
		zz := zone{id: z.ID, kind: z.Kind, poly: z.Polygon, area: wire.PolygonArea(z.Polygon)}
		zz.box = bbox(z.Polygon)
		if per := perimeter(z.Polygon); per > 0 {
			zz.halfWidth = zz.area / per
		}
		p.zones = append(p.zones, zz)
		p.bySize = append(p.bySize, i)
		if _, dup := p.byID[z.ID]; !dup {
			p.byID[z.ID] = i
		}
		if z.Kind == wire.ZoneStore && p.store < 0 {
			p.store = i
		}
		if z.Kind == wire.ZoneArea {
			p.areaIDs = append(p.areaIDs, z.ID)
		}
		if z.Kind == wire.ZoneOutside {
			p.outIDs = append(p.outIDs, z.ID)
		}
	}
	slices.SortStableFunc(p.bySize, func(a, b int) int {
		switch za, zb := p.zones[a].area, p.zones[b].area; {
		case za < zb:
			return -1
		case za > zb:
			return 1
		}
		return 0
	})
	return p
}

// Store returns the id of the store zone, "" when the site has none.
func (p *Plan) Store() string {
	if p.store < 0 {
		return ""
	}
	return p.zones[p.store].id
}

// Areas returns the ids of the zones of kind area, in file order.
func (p *Plan) Areas() []string { return slices.Clone(p.areaIDs) }

// Outside returns the ids of the zones of kind outside (the street), in
// file order.
func (p *Plan) Outside() []string { return slices.Clone(p.outIDs) }

// Kind returns the kind of the zone with the given id, "" when unknown.
func (p *Plan) Kind(id string) string {
	if i, ok := p.byID[id]; ok {
		return p.zones[i].kind
	}
	return ""
}

// Innermost returns the id of the smallest-area zone that holds (x, y), ties
// going to the zone first in the file; "" when no zone holds it. A point on
// an edge is inside.
func (p *Plan) Innermost(x, y float64) string {
	for _, i := range p.bySize {
		if p.zones[i].contains(x, y) {
			return p.zones[i].id
		}
	}
	return ""
}

// InnermostArea is Innermost restricted to zones of kind area.
func (p *Plan) InnermostArea(x, y float64) string {
	for _, i := range p.bySize {
		if z := &p.zones[i]; z.kind == wire.ZoneArea && z.contains(x, y) {
			return z.id
		}
	}
	return ""
}

// InStore reports whether the store zone holds (x, y), whatever areas hold
// it too; false when the site has no store zone.
func (p *Plan) InStore(x, y float64) bool {
	return p.store >= 0 && p.zones[p.store].contains(x, y)
}

// Contains reports whether the zone with the given id holds (x, y); false
// for an unknown id.
func (p *Plan) Contains(id string, x, y float64) bool {
	i, ok := p.byID[id]
	return ok && p.zones[i].contains(x, y)
}

// Depth returns the signed distance in metres from (x, y) to the boundary
// of the zone: positive inside, negative outside, 0 on an edge. It is -Inf
// for an unknown id.
func (p *Plan) Depth(id string, x, y float64) float64 {
	i, ok := p.byID[id]
	if !ok {
		return math.Inf(-1)
	}
	z := &p.zones[i]
	d := z.edgeDistance(x, y)
	if z.contains(x, y) {
		return d
	}
	return -d
}

// MaxMargin caps hysteresis margins, metres: a fix more than this far
// outside a zone is out of it whatever its error. Fixes outside the
// sensors' hull (on the street) have errors of several metres; without a
// cap a passer-by once placed inside a large store could never be
// confidently out again.
const MaxMargin = 2.0

// Margin returns the hysteresis margin of a zone for a fix with 1-sigma
// error err per axis: m = min(err, A/P, MaxMargin), A the zone's area and P
// its perimeter. A fix is confidently in a zone when its depth is at least
// m, confidently out when its depth is below -m, and ambiguous between.
func (p *Plan) Margin(id string, err float64) float64 {
	i, ok := p.byID[id]
	if !ok || !(err > 0) {
		return 0
	}
	return min(err, p.zones[i].halfWidth, MaxMargin)
}

func (z *zone) contains(x, y float64) bool {
	if x < z.box[0][0] || x > z.box[1][0] || y < z.box[0][1] || y > z.box[1][1] {
		return false
	}
	return inPolygon(z.poly, x, y)
}

func (z *zone) edgeDistance(x, y float64) float64 {
	d := math.Inf(1)
	n := len(z.poly)
	for i := range n {
		d = min(d, segmentDistance(z.poly[i], z.poly[(i+1)%n], x, y)) // math.Min's NaN and ±0 rules, inlined
	}
	return d
}

// inPolygon is the even-odd ray-casting test, in either orientation, with
// points on an edge (within 1e-9 m) counted inside.
func inPolygon(poly []wire.Point, x, y float64) bool {
	const eps = 1e-9
	in := false
	n := len(poly)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := poly[j], poly[i]
		if onEdge(a, b, x, y, eps) {
			return true
		}
		if (a[1] > y) != (b[1] > y) {
			xc := a[0] + (y-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if x < xc {
				in = !in
			}
		}
	}
	return in
}

// onEdge reports whether (x, y) lies within eps of the segment ab: its
// distance to the line, |ab × ap| / |ab|, is at most eps and its projection
// falls on the segment.
func onEdge(a, b wire.Point, x, y, eps float64) bool {
	dx, dy := b[0]-a[0], b[1]-a[1]
	px, py := x-a[0], y-a[1]
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return px*px+py*py <= eps*eps
	}
	c := dx*py - dy*px
	if c*c > eps*eps*l2 {
		return false
	}
	t := px*dx + py*dy
	return t >= -eps*math.Sqrt(l2) && t <= l2+eps*math.Sqrt(l2)
}

// segmentDistance is the distance from (x, y) to the segment ab.
func segmentDistance(a, b wire.Point, x, y float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = ((x-a[0])*dx + (y-a[1])*dy) / l2
		t = max(0, min(1, t)) // as math.Max and math.Min (NaN, ±0), inlined
	}
	return math.Hypot(x-(a[0]+t*dx), y-(a[1]+t*dy))
}

func bbox(poly []wire.Point) wire.Rect {
	r := wire.Rect{{math.Inf(1), math.Inf(1)}, {math.Inf(-1), math.Inf(-1)}}
	for _, p := range poly {
		r[0][0], r[0][1] = math.Min(r[0][0], p[0]), math.Min(r[0][1], p[1])
		r[1][0], r[1][1] = math.Max(r[1][0], p[0]), math.Max(r[1][1], p[1])
	}
	return r
}

func perimeter(poly []wire.Point) float64 {
	var s float64
	for i := range poly {
		p, q := poly[i], poly[(i+1)%len(poly)]
		s += math.Hypot(q[0]-p[0], q[1]-p[1])
	}
	return s
}
