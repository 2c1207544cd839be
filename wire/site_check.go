package wire

import (
	"errors"
	"fmt"
)

// CheckPlan reports what Validate lets pass but makes footfall figures
// wrong or meaningless; every error names the field and the reason:
//
//   - a zone id that is not 1 to 64 letters, digits, '_' or '-' (as site
//     and sensor ids must be);
//   - a timezone of "Local": the machine's zone, so that the same site gives
//     other local hours on another server;
//   - zones of kind store or area but none of kind store: nobody could
//     ever become a visitor;
//   - an area with a vertex outside the store polygon (the contract: an area
//     lies inside the store);
//   - a zone with a vertex outside the bounds, where no fix can ever be;
//   - visitor_min_dwell_s not below staff_min_dwell_s, or visit_gap_s not
//     below staff_min_dwell_s.
//
// It assumes the site passed Validate.
func (s *Site) CheckPlan() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if s.Timezone == "Local" {
		bad("timezone", `"Local" depends on the server's clock settings; name the zone, like "Europe/Berlin"`)
	}
	var store *Zone
	areas := 0
	for i := range s.Zones {
		switch s.Zones[i].Kind {
		case ZoneStore:
			if store == nil {
				store = &s.Zones[i]
			}
		case ZoneArea:
			areas++
		}
	}
	if store == nil && areas > 0 {
		bad("zones", "%d areas but no zone of kind store: no one can become a visitor", areas)
	}
	for i, z := range s.Zones {
		f := fmt.Sprintf("zones[%d]", i)
		if !ValidID(z.ID) {
			bad(f+".id", "%q is not an id of 1 to 64 letters, digits, '_' or '-' (zone ids go into URLs and reports; use name for a label)", z.ID)
		}
		for k, p := range z.Polygon {
			if !s.Bounds.Contains(p) {
				bad(fmt.Sprintf("%s.polygon[%d]", f, k), "%v lies outside the bounds %v", p, s.Bounds)
				break
			}
		}
		if z.Kind == ZoneArea && store != nil {
			for k, p := range z.Polygon {
				if !pointInPolygon(store.Polygon, p) {
					bad(fmt.Sprintf("%s.polygon[%d]", f, k), "area %q reaches outside the store %q at %v", z.ID, store.ID, p)
					break
				}
			}
		}
	}
	ff := s.Footfall
	if ff.StaffMinDwellS > 0 && ff.VisitorMinDwellS >= ff.StaffMinDwellS {
		bad("footfall.visitor_min_dwell_s", "%v is not below staff_min_dwell_s %v", ff.VisitorMinDwellS, ff.StaffMinDwellS)
	}
	if ff.StaffMinDwellS > 0 && ff.VisitGapS >= ff.StaffMinDwellS {
		bad("footfall.visit_gap_s", "%v is not below staff_min_dwell_s %v", ff.VisitGapS, ff.StaffMinDwellS)
	}
	return errors.Join(errs...)
}

// pointInPolygon is the even-odd test with points on an edge inside.
func pointInPolygon(poly []Point, p Point) bool {
	in := false
	n := len(poly)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := poly[j], poly[i]
		if onSegment(a, b, p) {
			return true
		}
		if (a[1] > p[1]) != (b[1] > p[1]) {
			if x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1]); p[0] < x {
				in = !in
			}
		}
	}
	return in
}

func onSegment(a, b, p Point) bool {
	const eps = 1e-9
	c := cross(a, b, p)
	if c > eps || c < -eps {
		return false
	}
	return p[0] >= min(a[0], b[0])-eps && p[0] <= max(a[0], b[0])+eps &&
		p[1] >= min(a[1], b[1])-eps && p[1] <= max(a[1], b[1])+eps
}
