package sim

import (
	"fmt"
	"sort"

	"github.com/passant/passant/wire"
)

// Layout is a simulated shop's floor: the site file the server is given and
// what the simulated people need to walk it. The store's front lies on the
// line y = 0, the street in front of it at y < 0.
type Layout struct {
	Name    string
	Summary string
	Site    wire.Site
	Store   wire.Rect    // the store's floor
	Doors   []wire.Point // on the front, y = 0
	Spots   []wire.Rect  // where shoppers linger (aisles, shelves)
	Till    wire.Point   // where staff mostly stand and shoppers pay
	Street  [2]float64   // the street's walking lanes, y from..to (< 0)
	WalkX   [2]float64   // where passers-by come from and go to, x
	FrontDB float64      // extra loss of a path through the shop's front, dB
}

// mkSite builds a site with the radio defaults of the contract.
func mkSite(id, name string, bounds wire.Rect, sensors []wire.Sensor, zones []wire.Zone) wire.Site {
	return wire.Site{Site: id, Name: name, Timezone: "Europe/Berlin", Bounds: bounds,
		Open:    wire.OpenHours{"mon-sat": {"09:00", "20:00"}},
		Radio:   wire.Radio{RSSI1m: wire.DefaultRSSI1m, Exponent: wire.DefaultExponent, Offset5GHz: -6, PhoneZ: wire.DefaultPhoneZ},
		Sensors: sensors, Zones: zones,
		Footfall: wire.Footfall{VisitorMinDwellS: wire.DefaultVisitorDwell, VisitGapS: wire.DefaultVisitGap,
			StaffMinDwellS: wire.DefaultStaffDwell, HistoryDays: wire.DefaultHistoryDays}}
}

func rect(x0, y0, x1, y1 float64) []wire.Point {
	return []wire.Point{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
}

func sensorAt(id string, x, y float64, label string) wire.Sensor {
	return wire.Sensor{ID: id, X: x, Y: y, Z: 2.5, Label: label}
}

// layouts are the built-in shops.
var layouts = map[string]func() *Layout{
	"small": func() *Layout {
		// A 10×8 m boutique ringed by four sensors in its corners.
		return &Layout{Name: "small", Summary: "10×8 m boutique, 4 sensors in the corners (ringed)",
			Site: mkSite("sim-small", "Simulated boutique", wire.Rect{{-10, -7}, {20, 9}},
				[]wire.Sensor{sensorAt("s1", 0.3, 0.3, "door-left"), sensorAt("s2", 9.7, 0.3, "door-right"),
					sensorAt("s3", 0.3, 7.7, "back-left"), sensorAt("s4", 9.7, 7.7, "back-right")},
				[]wire.Zone{
					{ID: "street", Kind: wire.ZoneOutside, Polygon: rect(-10, -7, 20, 0)},
					{ID: "store", Kind: wire.ZoneStore, Polygon: rect(0, 0, 10, 8)},
					{ID: "rail-left", Kind: wire.ZoneArea, Polygon: rect(0.5, 2, 3, 7.5)},
					{ID: "rail-right", Kind: wire.ZoneArea, Polygon: rect(6, 3, 9.5, 7.5)},
					{ID: "till", Kind: wire.ZoneArea, Polygon: rect(7, 0.5, 9.5, 2.5)},
				}),
			Store: wire.Rect{{0, 0}, {10, 8}}, Doors: []wire.Point{{5, 0}},
			Spots: []wire.Rect{{{0.8, 2}, {3, 7.5}}, {{6, 3}, {9.5, 7.5}}, {{3.5, 4}, {5.5, 7.5}}},
			Till:  wire.Point{8.5, 1.5}, Street: [2]float64{-5.5, -1}, WalkX: [2]float64{-45, 55}, FrontDB: 3}
	},
	"large": func() *Layout {
		// A 40×25 m supermarket; six sensors 13 m apart cover it from
		// inside, so the floor is larger than the sensors' spacing.
		l := &Layout{Name: "large", Summary: "40×25 m supermarket, 6 sensors 13 m apart inside",
			Store: wire.Rect{{0, 0}, {40, 25}}, Doors: []wire.Point{{6, 0}, {34, 0}},
			Till: wire.Point{20, 3}, Street: [2]float64{-6.5, -1}, WalkX: [2]float64{-40, 80}, FrontDB: 4}
		zones := []wire.Zone{
			{ID: "street", Kind: wire.ZoneOutside, Polygon: rect(-10, -8, 50, 0)},
			{ID: "store", Kind: wire.ZoneStore, Polygon: rect(0, 0, 40, 25)},
			{ID: "checkout", Kind: wire.ZoneArea, Polygon: rect(12, 1, 28, 5)},
		}
		for i := 0; i < 5; i++ {
			x := 4 + float64(i)*7.5
			id := fmt.Sprintf("aisle-%d", i+1)
			zones = append(zones, wire.Zone{ID: id, Kind: wire.ZoneArea, Polygon: rect(x, 8, x+4, 23)})
			l.Spots = append(l.Spots, wire.Rect{{x, 8}, {x + 4, 23}})
		}
		l.Spots = append(l.Spots, wire.Rect{{2, 2}, {10, 6}}, wire.Rect{{30, 2}, {38, 6}})
		l.Site = mkSite("sim-large", "Simulated supermarket", wire.Rect{{-10, -8}, {50, 26}},
			[]wire.Sensor{sensorAt("s1", 7, 6, ""), sensorAt("s2", 20, 6, ""), sensorAt("s3", 33, 6, ""),
				sensorAt("s4", 7, 19, ""), sensorAt("s5", 20, 19, ""), sensorAt("s6", 33, 19, "")}, zones)
		return l
	},
	"narrow": func() *Layout {
		// A 5 m wide, 30 m deep shop with three sensors down its middle:
		// collinear sensors, a narrow front.
		return &Layout{Name: "narrow", Summary: "5×30 m long narrow shop, 3 sensors in a line",
			Site: mkSite("sim-narrow", "Simulated narrow shop", wire.Rect{{-12, -7}, {17, 31}},
				[]wire.Sensor{sensorAt("s1", 2.5, 1.5, "door"), sensorAt("s2", 2.5, 15, "middle"), sensorAt("s3", 2.5, 28.5, "back")},
				[]wire.Zone{
					{ID: "street", Kind: wire.ZoneOutside, Polygon: rect(-12, -7, 17, 0)},
					{ID: "store", Kind: wire.ZoneStore, Polygon: rect(0, 0, 5, 30)},
					{ID: "front", Kind: wire.ZoneArea, Polygon: rect(0, 0, 5, 10)},
					{ID: "back", Kind: wire.ZoneArea, Polygon: rect(0, 20, 5, 30)},
				}),
			Store: wire.Rect{{0, 0}, {5, 30}}, Doors: []wire.Point{{2.5, 0}},
			Spots: []wire.Rect{{{0.5, 3}, {4.5, 10}}, {{0.5, 10}, {4.5, 20}}, {{0.5, 20}, {4.5, 29}}},
			Till:  wire.Point{2.5, 26}, Street: [2]float64{-6, -1}, WalkX: [2]float64{-45, 50}, FrontDB: 3}
	},
	"corner": func() *Layout {
		// A 16×10 m shop with only two sensors, both on the front wall.
		return &Layout{Name: "corner", Summary: "16×10 m shop, 2 sensors on the front wall (sparse)",
			Site: mkSite("sim-corner", "Simulated corner shop", wire.Rect{{-10, -7}, {26, 11}},
				[]wire.Sensor{sensorAt("s1", 4, 0.3, "front-left"), sensorAt("s2", 12, 0.3, "front-right")},
				[]wire.Zone{
					{ID: "street", Kind: wire.ZoneOutside, Polygon: rect(-10, -7, 26, 0)},
					{ID: "store", Kind: wire.ZoneStore, Polygon: rect(0, 0, 16, 10)},
					{ID: "shelves", Kind: wire.ZoneArea, Polygon: rect(1, 4, 15, 9.5)},
				}),
			Store: wire.Rect{{0, 0}, {16, 10}}, Doors: []wire.Point{{8, 0}},
			Spots: []wire.Rect{{{1, 4}, {15, 9.5}}, {{1, 1}, {6, 4}}},
			Till:  wire.Point{13, 2}, Street: [2]float64{-5.5, -1}, WalkX: [2]float64{-45, 60}, FrontDB: 3}
	},
}

// Layouts returns the names of the built-in layouts, sorted.
func Layouts() []string {
	names := make([]string, 0, len(layouts))
	for n := range layouts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LayoutNamed returns a fresh copy of a built-in layout.
func LayoutNamed(name string) (*Layout, error) {
	f, ok := layouts[name]
	if !ok {
		return nil, fmt.Errorf("sim: unknown layout %q (have %v)", name, Layouts())
	}
	l := f()
	if err := l.Site.Validate(); err != nil {
		panic(fmt.Sprintf("sim: layout %s: %v", name, err))
	}
	return l, nil
}
