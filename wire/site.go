package wire

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// Point is a position on the floor, metres, in the site's frame.
type Point [2]float64

// Rect is [[xmin,ymin],[xmax,ymax]].
type Rect [2]Point

// Contains reports whether p lies in r, edges included.
func (r Rect) Contains(p Point) bool {
	return p[0] >= r[0][0] && p[0] <= r[1][0] && p[1] >= r[0][1] && p[1] <= r[1][1]
}

// Clamp returns the point of r nearest to p.
func (r Rect) Clamp(p Point) Point {
	// The builtins: math.Min and math.Max's NaN and ±0 rules, inlined.
	return Point{min(max(p[0], r[0][0]), r[1][0]), min(max(p[1], r[0][1]), r[1][1])}
}

// Site is one floor of one shop: the contract's site file.
type Site struct {
	Site     string    `json:"site"`
	Name     string    `json:"name,omitempty"`
	Timezone string    `json:"timezone,omitempty"`
	Bounds   Rect      `json:"bounds"`
	Plan     *Plan     `json:"plan,omitempty"`
	Open     OpenHours `json:"open,omitempty"`
	Radio    Radio     `json:"radio"`
	Sensors  []Sensor  `json:"sensors"`
	Zones    []Zone    `json:"zones"`
	Footfall Footfall  `json:"footfall"`

	// Ignored names the fields of the file that the site does not know
	// (paths like "zones[0].colour"): they are ignored, not refused, since
	// other tools may add fields of their own (the contract lets a
	// calibration do so); whoever loads a file should warn of them, as a
	// typo ("expnent") lands here too. Never written.
	Ignored []string `json:"-"`
}

// Plan is the floor-plan image and where its corners lie.
type Plan struct {
	Image  string `json:"image"`
	Bounds Rect   `json:"bounds"`
}

// Radio is a path-loss model: rssi = RSSI1m - 10*Exponent*log10(d) (+
// Offset5GHz above channel 14), d the 3-D distance in metres.
type Radio struct {
	RSSI1m     float64 `json:"rssi_1m"`
	Exponent   float64 `json:"exponent"`
	Offset5GHz float64 `json:"offset_5ghz"`
	// PhoneZ is the height of a carried phone above the floor, metres
	// (extension; default 1.2).
	PhoneZ float64 `json:"phone_z,omitempty"`
	// FrontDB is the extra loss of a path through the shop's front, dB
	// (extension; nil: the locator's default, 3 dB).
	FrontDB *float64 `json:"front_db,omitempty"`
}

// Sensor is a sniffer node at a known position. Nil radio fields take the
// site's defaults.
type Sensor struct {
	ID         string   `json:"id"`
	X          float64  `json:"x"`
	Y          float64  `json:"y"`
	Z          float64  `json:"z"`
	RSSI1m     *float64 `json:"rssi_1m,omitempty"`
	Exponent   *float64 `json:"exponent,omitempty"`
	Offset5GHz *float64 `json:"offset_5ghz,omitempty"`
	// Label is a human name ("door", "till") (extension).
	Label string `json:"label,omitempty"`
}

// Zone kinds.
const (
	ZoneOutside = "outside"
	ZoneStore   = "store"
	ZoneArea    = "area"
)

// Zone is a polygon on the floor.
type Zone struct {
	ID      string  `json:"id"`
	Kind    string  `json:"kind"`
	Name    string  `json:"name,omitempty"` // extension
	Polygon []Point `json:"polygon"`
}

// Footfall holds the thresholds of the footfall definitions, seconds.
type Footfall struct {
	VisitorMinDwellS float64 `json:"visitor_min_dwell_s"`
	VisitGapS        float64 `json:"visit_gap_s"`
	StaffMinDwellS   float64 `json:"staff_min_dwell_s"`
	// HistoryDays is how far back a visitor counts as returning (extension;
	// default 30).
	HistoryDays int `json:"history_days,omitempty"`
}

// Defaults of the contract's optional settings.
const (
	DefaultRSSI1m       = -45.0
	DefaultExponent     = 2.5
	DefaultPhoneZ       = 1.2
	DefaultVisitorDwell = 60.0
	DefaultVisitGap     = 900.0
	DefaultStaffDwell   = 14400.0
	DefaultHistoryDays  = 30
)

// SensorRadio returns the path-loss model in force for sensor i.
func (s *Site) SensorRadio(i int) Radio {
	r := s.Radio
	se := &s.Sensors[i]
	if se.RSSI1m != nil {
		r.RSSI1m = *se.RSSI1m
	}
	if se.Exponent != nil {
		r.Exponent = *se.Exponent
	}
	if se.Offset5GHz != nil {
		r.Offset5GHz = *se.Offset5GHz
	}
	return r
}

// SensorIndex returns the index of the sensor with the given id, or -1.
func (s *Site) SensorIndex(id string) int {
	for i := range s.Sensors {
		if s.Sensors[i].ID == id {
			return i
		}
	}
	return -1
}

// Zone returns the zone with the given id, or nil.
func (s *Site) Zone(id string) *Zone {
	for i := range s.Zones {
		if s.Zones[i].ID == id {
			return &s.Zones[i]
		}
	}
	return nil
}

// Location returns the site's time zone (UTC when none is set or it is
// unknown). It is safe for concurrent use.
func (s *Site) Location() *time.Location {
	if s.Timezone == "" {
		return time.UTC
	}
	if l, ok := zoneCache.Load(s.Timezone); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		loc = time.UTC
	}
	zoneCache.Store(s.Timezone, loc)
	return loc
}

// zoneCache holds the time zones loaded, by name.
var zoneCache sync.Map

// MaxBoundsSide is the largest side of a site's bounds, metres. Heatmaps,
// their tiles and the accuracy map are grids over the bounds: a site of
// 10,000 km at 0.5 m cells would be 4 x 10^14 cells, and the server that
// loaded it crashed.
const MaxBoundsSide = 1000.0

// Limits of a site's lists. Validation checks each polygon for crossing
// edges (quadratic in its points) and each area against the store; the
// pipeline tests every fix against the zones, and the locator measures the
// sensors' spread (cubic in them) and keeps a grid per sensor: a site body
// of 672 KB with one polygon of 32,000 points took 6.5 s of CPU to
// validate (a 32 MiB one hours), one of 1,000 sensors 5.5 s to apply.
const (
	MaxSensors       = 256
	MaxZones         = 200
	MaxPolygonPoints = 1000
)

// Validate checks the site; every error names the field and the reason.
func (s *Site) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !ValidID(s.Site) {
		bad("site", "%q is not an id of 1 to 64 letters, digits, '_' or '-'", s.Site)
	}
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			bad("timezone", "%q is not a known time zone", s.Timezone)
		}
	}
	b := s.Bounds
	if !finite(b[0][0], b[0][1], b[1][0], b[1][1]) || b[1][0] <= b[0][0] || b[1][1] <= b[0][1] {
		bad("bounds", "want [[xmin,ymin],[xmax,ymax]] with xmin<xmax and ymin<ymax, got %v", b)
	} else if w, h := b[1][0]-b[0][0], b[1][1]-b[0][1]; w > MaxBoundsSide || h > MaxBoundsSide {
		bad("bounds", "%g x %g m; at most %g m a side (a shop and its street, or a mall)", w, h, MaxBoundsSide)
	}
	if p := s.Plan; p != nil {
		pb := p.Bounds
		if !finite(pb[0][0], pb[0][1], pb[1][0], pb[1][1]) || pb[1][0] <= pb[0][0] || pb[1][1] <= pb[0][1] {
			bad("plan.bounds", "want [[xmin,ymin],[xmax,ymax]] with xmin<xmax and ymin<ymax, got %v", pb)
		}
	}
	if err := s.Open.validate(); err != nil {
		errs = append(errs, fmt.Errorf("open: %w", err))
	}
	r := s.Radio
	if !finite(r.RSSI1m, r.Exponent, r.Offset5GHz, r.PhoneZ) || r.RSSI1m > 20 || r.RSSI1m < -120 {
		bad("radio.rssi_1m", "%v is not a plausible dBm value", r.RSSI1m)
	}
	if r.Exponent < 1 || r.Exponent > 6 {
		bad("radio.exponent", "%v is outside [1, 6]", r.Exponent)
	}
	if r.PhoneZ < 0 || r.PhoneZ > 5 {
		bad("radio.phone_z", "%v is outside [0, 5] m", r.PhoneZ)
	}
	if f := r.FrontDB; f != nil && !(*f >= 0 && *f <= 30) {
		bad("radio.front_db", "%v is outside [0, 30] dB", *f)
	}
	if len(s.Sensors) == 0 {
		bad("sensors", "none given")
	}
	if len(s.Sensors) > MaxSensors {
		bad("sensors", "%d; at most %d", len(s.Sensors), MaxSensors)
		return errors.Join(errs...)
	}
	if len(s.Zones) > MaxZones {
		bad("zones", "%d; at most %d", len(s.Zones), MaxZones)
		return errors.Join(errs...)
	}
	ids := map[string]int{}
	for i, se := range s.Sensors {
		f := fmt.Sprintf("sensors[%d]", i)
		if !ValidID(se.ID) {
			bad(f+".id", "%q is not an id of 1 to 64 letters, digits, '_' or '-'", se.ID)
		} else if j, dup := ids[se.ID]; dup {
			bad(f+".id", "duplicate id %q (also sensors[%d])", se.ID, j)
		} else {
			ids[se.ID] = i
		}
		if !finite(se.X, se.Y, se.Z) || !b.Contains(Point{se.X, se.Y}) {
			bad(f, "sensor %q at (%v, %v) lies outside the bounds", se.ID, se.X, se.Y)
		}
		if se.Z < 0 || se.Z > 20 {
			bad(f+".z", "%v is outside [0, 20] m", se.Z)
		}
		if se.RSSI1m != nil && (!finite(*se.RSSI1m) || *se.RSSI1m > 20 || *se.RSSI1m < -120) {
			bad(f+".rssi_1m", "%v is not a plausible dBm value", *se.RSSI1m)
		}
		if se.Exponent != nil && (!finite(*se.Exponent) || *se.Exponent < 1 || *se.Exponent > 6) {
			bad(f+".exponent", "%v is outside [1, 6]", *se.Exponent)
		}
		if se.Offset5GHz != nil && !finite(*se.Offset5GHz) {
			bad(f+".offset_5ghz", "not a finite number")
		}
	}
	zids := map[string]int{}
	stores := 0
	for i, z := range s.Zones {
		f := fmt.Sprintf("zones[%d]", i)
		if z.ID == "" || len(z.ID) > 64 {
			bad(f+".id", "want 1 to 64 characters, got %q", z.ID)
		} else if j, dup := zids[z.ID]; dup {
			bad(f+".id", "duplicate id %q (also zones[%d])", z.ID, j)
		} else {
			zids[z.ID] = i
		}
		switch z.Kind {
		case ZoneOutside, ZoneArea:
		case ZoneStore:
			stores++
			if stores == 2 {
				bad(f+".kind", "a second zone of kind store; a site has one store zone")
			}
		default:
			bad(f+".kind", "unknown zone kind %q (want outside, store or area)", z.Kind)
		}
		if len(z.Polygon) < 3 || len(z.Polygon) > MaxPolygonPoints {
			bad(f+".polygon", "%d points, want 3 to %d", len(z.Polygon), MaxPolygonPoints)
			continue
		}
		for k, p := range z.Polygon {
			if !finite(p[0], p[1]) {
				bad(fmt.Sprintf("%s.polygon[%d]", f, k), "not a finite point")
			}
		}
		if PolygonArea(z.Polygon) == 0 {
			bad(f+".polygon", "the polygon has no area")
		} else if i, j, ok := selfIntersection(z.Polygon); ok {
			bad(f+".polygon", "edges %d and %d cross: the polygon is not simple", i, j)
		}
	}
	ff := s.Footfall
	if !finite(ff.VisitorMinDwellS, ff.VisitGapS, ff.StaffMinDwellS) || ff.VisitorMinDwellS < 0 || ff.VisitGapS <= 0 || ff.StaffMinDwellS <= 0 {
		bad("footfall", "thresholds must be positive numbers of seconds")
	}
	if ff.HistoryDays < 0 {
		bad("footfall.history_days", "%d is negative", ff.HistoryDays)
	}
	return errors.Join(errs...)
}

func finite(v ...float64) bool {
	for _, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

// PolygonArea returns the unsigned area of a simple polygon (shoelace
// formula: A = |Σ (x_i y_{i+1} - x_{i+1} y_i)| / 2).
func PolygonArea(poly []Point) float64 {
	var a float64
	for i := range poly {
		p, q := poly[i], poly[(i+1)%len(poly)]
		a += p[0]*q[1] - q[0]*p[1]
	}
	return math.Abs(a) / 2
}

// selfIntersection finds two non-adjacent edges that cross.
func selfIntersection(poly []Point) (int, int, bool) {
	n := len(poly)
	for i := 0; i < n; i++ {
		a, b := poly[i], poly[(i+1)%n]
		for j := i + 2; j < n; j++ {
			if i == 0 && j == n-1 {
				continue
			}
			c, d := poly[j], poly[(j+1)%n]
			if segmentsCross(a, b, c, d) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

func cross(o, a, b Point) float64 {
	return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
}

func segmentsCross(a, b, c, d Point) bool {
	d1, d2 := cross(c, d, a), cross(c, d, b)
	d3, d4 := cross(a, b, c), cross(a, b, d)
	return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))
}
