package calibration

import (
	"testing"

	"github.com/passant/passant/wire"
)

// A spot still to walk is named as an installer looks for it on the floor:
// the innermost named zone (not the whole store), the nearest sensor, and
// the plan's coordinates.
func TestPlace(t *testing.T) {
	site := &wire.Site{
		Sensors: []wire.Sensor{{ID: "s1", X: 0, Y: 0}, {ID: "s3", X: 0, Y: 10}},
		Zones: []wire.Zone{
			{ID: "street", Kind: wire.ZoneOutside, Polygon: []wire.Point{{-5, -5}, {15, -5}, {15, 0}, {-5, 0}}},
			{ID: "store", Kind: wire.ZoneStore, Polygon: []wire.Point{{0, 0}, {10, 0}, {10, 10}, {0, 10}}},
			{ID: "a1", Name: "rail-left", Kind: wire.ZoneArea, Polygon: []wire.Point{{0, 5}, {3, 5}, {3, 10}, {0, 10}}},
		},
	}
	for _, c := range []struct {
		x, y float64
		want string
	}{
		{1, 8, "rail-left, 2 m from sensor s3 (x 1 m, y 8 m)"},
		{7, 3, "8 m from sensor s1 (x 7 m, y 3 m)"},
		{5, -3, "street, 6 m from sensor s1 (x 5 m, y -3 m)"},
	} {
		if got := place(site, c.x, c.y); got != c.want {
			t.Errorf("place(%g, %g) = %q, want %q", c.x, c.y, got, c.want)
		}
	}
	if got := place(&wire.Site{}, 1, 2); got != "(x 1 m, y 2 m)" {
		t.Errorf("no zones, no sensors: %q", got)
	}
}
