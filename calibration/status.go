package calibration

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/passant/passant/wire"
)

// SensorStatus is the live feedback for one sensor during a walk.
type SensorStatus struct {
	ID      string  `json:"id"`
	Samples int     `json:"samples"` // frames of the phone on the walk
	Nearest float64 `json:"nearest"` // closest the walk came, metres (-1: not yet)
	OK      bool    `json:"ok"`      // enough samples, and the walk passed near it
}

// Coverage is which parts of the floor the walk has covered: cells of Cell
// metres from (X0, Y0), row-major from the bottom row, each -1 (not floor),
// 0 (still needs the walk) or 1 (covered).
type Coverage struct {
	X0    float64 `json:"x0"`
	Y0    float64 `json:"y0"`
	Cell  float64 `json:"cell"`
	NX    int     `json:"nx"`
	NY    int     `json:"ny"`
	Cells []int8  `json:"cells"`
	Share float64 `json:"share"` // covered floor cells / floor cells
}

// Status is the live feedback of a walk.
type Status struct {
	Site    string         `json:"site"`
	Version int            `json:"version"`
	Phone   *Phone         `json:"phone"`
	Started int64          `json:"started"`
	Marks   []wire.Point   `json:"marks"`
	WalkS   float64        `json:"walk_s"` // time between the first and last mark
	Frames  int            `json:"frames"` // of the phone since the start
	OnWalk  int            `json:"on_walk"`
	Sensors []SensorStatus `json:"sensors"`
	Cover   Coverage       `json:"coverage"`
	Needs   []string       `json:"needs"`
	Ready   bool           `json:"ready"` // enough to fit
	Fitted  bool           `json:"fitted"`
	Applied *Applied       `json:"applied,omitempty"`
}

// Minimums for a walk to be ready, and for a sensor to be well covered.
const (
	MinSensorSamples = 60
	NearSensor       = 3.0 // m
	CoverCell        = 2.0 // m
	coverReach       = 1.5 // m: a walk point covers cells whose centre lies this close
)

// Status returns the live feedback of the walk.
func (se *Session) Status(ctx context.Context) (*Status, error) {
	site, ver, err := se.svc.Sites.Site(ctx, se.site)
	if err != nil {
		return nil, err
	}
	se.mu.Lock()
	defer se.mu.Unlock()
	st := &Status{Site: se.site, Version: ver, Started: se.started, Frames: len(se.frames), Fitted: se.last != nil, Applied: se.applied}
	if se.phone != nil {
		p := *se.phone
		st.Phone = &p
	}
	for _, m := range se.marks {
		st.Marks = append(st.Marks, wire.Point{m.X, m.Y})
	}
	if n := len(se.marks); n > 1 {
		st.WalkS = float64(se.marks[n-1].T-se.marks[0].T) / 1000
	}
	path := walkPoints(se.marks)
	var d *Data
	if se.phone != nil && len(se.marks) > 0 {
		d, _ = se.data(site)
	}
	good := 0
	for i, s := range site.Sensors {
		ss := SensorStatus{ID: s.ID, Nearest: -1}
		if d != nil {
			ss.Samples = len(d.Samples[i])
		}
		for _, p := range path {
			dd := math.Hypot(p[0]-s.X, p[1]-s.Y)
			if ss.Nearest < 0 || dd < ss.Nearest {
				ss.Nearest = round(dd, 1)
			}
		}
		ss.OK = ss.Samples >= MinSensorSamples && ss.Nearest >= 0 && ss.Nearest <= NearSensor
		if ss.Samples >= MinSensorSamples {
			good++
		}
		if !ss.OK {
			switch {
			case ss.Nearest < 0 || ss.Nearest > NearSensor:
				st.Needs = append(st.Needs, fmt.Sprintf("walk small circles (1–2 m round) under sensor %s for 30 s", s.ID))
			default:
				st.Needs = append(st.Needs, fmt.Sprintf("sensor %s has heard only %d frames of your phone: keep walking near it", s.ID, ss.Samples))
			}
		}
		st.Sensors = append(st.Sensors, ss)
	}
	if d != nil {
		st.OnWalk = d.Frames
	}
	st.Cover = coverage(site, path)
	st.Needs = append(st.Needs, uncovered(site, &st.Cover, 3)...)
	st.Ready = len(se.marks) >= 2 && good >= min(3, len(site.Sensors)) && d != nil && len(d.Bursts) >= 10
	if se.phone == nil {
		st.Needs = append([]string{"choose your phone: hold it next to a sensor"}, st.Needs...)
	} else if len(se.marks) == 0 {
		st.Needs = append([]string{"tap where you stand on the plan, every few steps"}, st.Needs...)
	}
	return st, nil
}

// walkPoints samples where the walker was: the marks, and every 0.5 s
// between two marks less than MaxMarkGap apart.
func walkPoints(marks []wire.WalkMark) []wire.Point {
	var pts []wire.Point
	for i, m := range marks {
		pts = append(pts, wire.Point{m.X, m.Y})
		if i+1 < len(marks) && marks[i+1].T-m.T < MaxMarkGap {
			n := marks[i+1]
			steps := int((n.T - m.T) / 500)
			for k := 1; k < steps; k++ {
				f := float64(k) / float64(steps)
				pts = append(pts, wire.Point{m.X + f*(n.X-m.X), m.Y + f*(n.Y-m.Y)})
			}
		}
	}
	return pts
}

// floorPolys are the polygons that make the floor to cover: the store and
// its areas, or the bounds.
func floorPolys(site *wire.Site) [][]wire.Point {
	var ps [][]wire.Point
	for _, z := range site.Zones {
		if z.Kind == wire.ZoneStore || z.Kind == wire.ZoneArea {
			ps = append(ps, z.Polygon)
		}
	}
	if len(ps) == 0 {
		b := site.Bounds
		ps = append(ps, []wire.Point{b[0], {b[1][0], b[0][1]}, b[1], {b[0][0], b[1][1]}})
	}
	return ps
}

// coverage is the walk's coverage grid: cells of CoverCell over the floor
// (floorPolys), centred on the floor's bounding box so that its rows and
// columns start at the floor's edges (a grid from the site's corner cut
// across them: the shop's back metre in no cell, the street's first in
// one), each cell the floor's (0, or 1 once the walk came within
// coverReach of its centre) when its centre lies on the floor, −1 if not.
func coverage(site *wire.Site, path []wire.Point) Coverage {
	polys := floorPolys(site)
	lo, hi := wire.Point{math.Inf(1), math.Inf(1)}, wire.Point{math.Inf(-1), math.Inf(-1)}
	for _, p := range polys {
		for _, q := range p {
			lo = wire.Point{min(lo[0], q[0]), min(lo[1], q[1])}
			hi = wire.Point{max(hi[0], q[0]), max(hi[1], q[1])}
		}
	}
	c := Coverage{Cell: CoverCell, NX: max(1, int(math.Ceil((hi[0]-lo[0])/CoverCell-1e-9))), NY: max(1, int(math.Ceil((hi[1]-lo[1])/CoverCell-1e-9)))}
	c.X0 = lo[0] - (float64(c.NX)*CoverCell-(hi[0]-lo[0]))/2
	c.Y0 = lo[1] - (float64(c.NY)*CoverCell-(hi[1]-lo[1]))/2
	c.Cells = make([]int8, c.NX*c.NY)
	floor, covered := 0, 0
	for j := 0; j < c.NY; j++ {
		for i := 0; i < c.NX; i++ {
			x, y := c.X0+(float64(i)+0.5)*c.Cell, c.Y0+(float64(j)+0.5)*c.Cell
			in := false
			for _, p := range polys {
				if insidePoly(wire.Point{x, y}, p) {
					in = true
					break
				}
			}
			k := j*c.NX + i
			if !in {
				c.Cells[k] = -1
				continue
			}
			floor++
			for _, p := range path {
				if math.Abs(p[0]-x) <= coverReach && math.Abs(p[1]-y) <= coverReach {
					c.Cells[k] = 1
					covered++
					break
				}
			}
		}
	}
	if floor > 0 {
		c.Share = round(float64(covered)/float64(floor), 3)
	}
	return c
}

// uncovered names up to n floor cells still to walk, the ones farthest from
// anything covered first, by where they are (place).
func uncovered(site *wire.Site, c *Coverage, n int) []string {
	type cell struct {
		x, y, d float64
	}
	var cov, need []cell
	for j := 0; j < c.NY; j++ {
		for i := 0; i < c.NX; i++ {
			x, y := c.X0+(float64(i)+0.5)*c.Cell, c.Y0+(float64(j)+0.5)*c.Cell
			switch c.Cells[j*c.NX+i] {
			case 1:
				cov = append(cov, cell{x: x, y: y})
			case 0:
				need = append(need, cell{x: x, y: y})
			}
		}
	}
	if len(need) == 0 {
		return nil
	}
	for k := range need {
		need[k].d = math.Inf(1)
		for _, q := range cov {
			need[k].d = math.Min(need[k].d, math.Hypot(need[k].x-q.x, need[k].y-q.y))
		}
	}
	sort.SliceStable(need, func(i, j int) bool { return need[i].d > need[j].d })
	var out []string
	var picked []cell
	for _, p := range need {
		far := true
		for _, q := range picked {
			if math.Hypot(p.x-q.x, p.y-q.y) < 4*c.Cell {
				far = false
				break
			}
		}
		if !far {
			continue
		}
		picked = append(picked, p)
		out = append(out, fmt.Sprintf("walk to %s: not covered yet", place(site, p.x, p.y)))
		if len(out) == n {
			break
		}
	}
	return out
}

// place says where (x, y) is as an installer on the floor would look for
// it: the innermost named zone that holds it (not the whole store), the
// nearest sensor and the plan's coordinates, e.g. "rail-left, 2 m from
// sensor s3 (x 1 m, y 6 m)".
func place(site *wire.Site, x, y float64) string {
	var parts []string
	zone, best := "", math.Inf(1)
	for _, z := range site.Zones {
		if z.Kind == wire.ZoneStore || !insidePoly(wire.Point{x, y}, z.Polygon) {
			continue
		}
		if a := polyArea(z.Polygon); a < best {
			zone, best = cmp.Or(z.Name, z.ID), a
		}
	}
	if zone != "" {
		parts = append(parts, zone)
	}
	near, d := "", math.Inf(1)
	for _, s := range site.Sensors {
		if dd := math.Hypot(s.X-x, s.Y-y); dd < d {
			near, d = s.ID, dd
		}
	}
	if near != "" {
		parts = append(parts, fmt.Sprintf("%.0f m from sensor %s", d, near))
	}
	at := fmt.Sprintf("(x %.0f m, y %.0f m)", x, y)
	if len(parts) == 0 {
		return at
	}
	return strings.Join(parts, ", ") + " " + at
}

// polyArea is the area of a simple polygon (shoelace).
func polyArea(poly []wire.Point) float64 {
	a := 0.0
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a += poly[j][0]*poly[i][1] - poly[i][0]*poly[j][1]
	}
	return math.Abs(a) / 2
}

func insidePoly(p wire.Point, poly []wire.Point) bool {
	in := false
	n := len(poly)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}
