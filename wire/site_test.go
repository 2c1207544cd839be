package wire

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The contract's example site, verbatim.
const contractSite = `{"site":"demo","name":"Demo Store","timezone":"Europe/Berlin",
 "bounds":[[-2,-8],[32,22]],
 "plan":{"image":"floor.png","bounds":[[0,0],[30,20]]},
 "open":{"mon-fri":["09:00","20:00"],"sat":["10:00","18:00"]},
 "radio":{"rssi_1m":-45,"exponent":2.5,"offset_5ghz":-6},
 "sensors":[{"id":"s1","x":1,"y":1,"z":2.5},
            {"id":"s2","x":29,"y":1,"z":2.5,"rssi_1m":-47,"exponent":2.3}],
 "zones":[{"id":"street","kind":"outside","polygon":[[-2,-8],[32,-8],[32,0],[-2,0]]},
          {"id":"store","kind":"store","polygon":[[0,0],[30,0],[30,20],[0,20]]},
          {"id":"aisle-1","kind":"area","polygon":[[2,3],[6,3],[6,18],[2,18]]}],
 "footfall":{"visitor_min_dwell_s":60,"visit_gap_s":900,"staff_min_dwell_s":14400}}`

// The same site in YAML, with unquoted times and numbers as YAML writes them.
const contractSiteYAML = `
site: demo
name: Demo Store
timezone: Europe/Berlin
bounds: [[-2, -8], [32, 22]]
plan: {image: floor.png, bounds: [[0, 0], [30, 20]]}
open:
  mon-fri: ["09:00", "20:00"]
  sat: ["10:00", "18:00"]
radio: {rssi_1m: -45, exponent: 2.5, offset_5ghz: -6}
sensors:
  - {id: s1, x: 1, y: 1, z: 2.5}
  - {id: s2, x: 29, y: 1, z: 2.5, rssi_1m: -47, exponent: 2.3}
zones:
  - id: street
    kind: outside
    polygon: [[-2, -8], [32, -8], [32, 0], [-2, 0]]
  - {id: store, kind: store, polygon: [[0, 0], [30, 0], [30, 20], [0, 20]]}
  - {id: aisle-1, kind: area, polygon: [[2, 3], [6, 3], [6, 18], [2, 18]]}
footfall: {visitor_min_dwell_s: 60, visit_gap_s: 900, staff_min_dwell_s: 14400}
`

func checkContractSite(t *testing.T, s *Site) {
	t.Helper()
	if s.Site != "demo" || s.Name != "Demo Store" || s.Location().String() != "Europe/Berlin" {
		t.Errorf("header %+v", s)
	}
	if s.Bounds != (Rect{{-2, -8}, {32, 22}}) || s.Plan == nil || s.Plan.Image != "floor.png" || s.Plan.Bounds != (Rect{{0, 0}, {30, 20}}) {
		t.Errorf("bounds %v plan %+v", s.Bounds, s.Plan)
	}
	if len(s.Sensors) != 2 || s.SensorIndex("s2") != 1 || s.SensorIndex("s9") != -1 {
		t.Fatalf("sensors %+v", s.Sensors)
	}
	r1, r2 := s.SensorRadio(0), s.SensorRadio(1)
	if r1.RSSI1m != -45 || r1.Exponent != 2.5 || r1.Offset5GHz != -6 || r2.RSSI1m != -47 || r2.Exponent != 2.3 || r2.Offset5GHz != -6 {
		t.Errorf("radio %+v %+v", r1, r2)
	}
	if len(s.Zones) != 3 || s.Zone("aisle-1") == nil || s.Zone("aisle-1").Kind != ZoneArea || s.Zone("nope") != nil {
		t.Errorf("zones %+v", s.Zones)
	}
	if s.Footfall != (Footfall{VisitorMinDwellS: 60, VisitGapS: 900, StaffMinDwellS: 14400, HistoryDays: DefaultHistoryDays}) {
		t.Errorf("footfall %+v", s.Footfall)
	}
	// Friday 2026-12-04 19:59 open, 20:00 closed; Saturday 09:59 closed;
	// Sunday closed.
	for _, c := range []struct {
		t    time.Time
		open bool
	}{
		{time.Date(2026, 12, 4, 19, 59, 0, 0, s.Location()), true},
		{time.Date(2026, 12, 4, 20, 0, 0, 0, s.Location()), false},
		{time.Date(2026, 12, 4, 9, 0, 0, 0, s.Location()), true},
		{time.Date(2026, 12, 5, 9, 59, 0, 0, s.Location()), false},
		{time.Date(2026, 12, 5, 10, 0, 0, 0, s.Location()), true},
		{time.Date(2026, 12, 6, 12, 0, 0, 0, s.Location()), false},
	} {
		if got := s.Open.IsOpen(c.t); got != c.open {
			t.Errorf("IsOpen(%v) = %v", c.t, got)
		}
	}
}

func TestParseSiteContractExample(t *testing.T) {
	s, err := ParseSite([]byte(contractSite), false)
	if err != nil {
		t.Fatal(err)
	}
	checkContractSite(t, s)
}

func TestLoadSiteJSONAndYAML(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"site.json": contractSite,
		"site.yaml": contractSiteYAML,
		"site.yml":  contractSiteYAML,
		"site.conf": contractSiteYAML, // YAML by content
		"site.txt":  contractSite,     // JSON by content
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadSite(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		t.Run(name, func(t *testing.T) { checkContractSite(t, s) })
	}
	_, err := LoadSite(filepath.Join(dir, "missing.json"))
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	// An error names the file and the field.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(strings.Replace(contractSite, `"kind":"area"`, `"kind":"aisle"`, 1)), 0o644)
	_, err = LoadSite(bad)
	if err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "zones[2].kind") {
		t.Errorf("bad file: %v", err)
	}
}

func TestMarshalSiteRoundTrip(t *testing.T) {
	s, err := ParseSite([]byte(contractSite), false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalSite(s)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseSite(b, false)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	checkContractSite(t, s2)
}

func TestSiteDefaults(t *testing.T) {
	s, err := ParseSite([]byte(`{"site":"x","bounds":[[0,0],[10,10]],"sensors":[{"id":"a","x":1,"y":1,"z":2}],"zones":[]}`), false)
	if err != nil {
		t.Fatal(err)
	}
	if s.Radio.RSSI1m != DefaultRSSI1m || s.Radio.Exponent != DefaultExponent || s.Radio.PhoneZ != DefaultPhoneZ {
		t.Errorf("radio %+v", s.Radio)
	}
	if s.Footfall != (Footfall{DefaultVisitorDwell, DefaultVisitGap, DefaultStaffDwell, DefaultHistoryDays}) {
		t.Errorf("footfall %+v", s.Footfall)
	}
	if s.Location() != time.UTC {
		t.Errorf("no timezone: %v", s.Location())
	}
	if s.Open.IsOpen(time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)) != true {
		t.Error("no opening hours means always open")
	}
}

// edit returns the contract site with one JSON edit applied.
func edit(t *testing.T, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(contractSite), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func zone(m map[string]any, i int) map[string]any {
	return m["zones"].([]any)[i].(map[string]any)
}

func sensor(m map[string]any, i int) map[string]any {
	return m["sensors"].([]any)[i].(map[string]any)
}

// Every validation error names the field and the reason.
func TestValidateErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name string
		edit func(m map[string]any)
		want []string // all must appear in the error
	}{
		{"polygon with 2 points", func(m map[string]any) {
			zone(m, 2)["polygon"] = []any{[]any{0, 0}, []any{1, 1}}
		}, []string{"zones[2].polygon", "2 points, want 3 to 1000"}},
		{"sensor outside the bounds", func(m map[string]any) { sensor(m, 1)["x"] = 40 }, []string{"sensors[1]", "outside the bounds"}},
		{"duplicate sensor id", func(m map[string]any) { sensor(m, 1)["id"] = "s1" }, []string{"sensors[1].id", `duplicate id "s1"`, "sensors[0]"}},
		{"duplicate zone id", func(m map[string]any) { zone(m, 2)["id"] = "street" }, []string{"zones[2].id", `duplicate id "street"`}},
		{"unknown zone kind", func(m map[string]any) { zone(m, 0)["kind"] = "pavement" }, []string{"zones[0].kind", `unknown zone kind "pavement"`}},
		{"two store zones", func(m map[string]any) { zone(m, 2)["kind"] = "store" }, []string{"zones[2].kind", "second zone of kind store"}},
		{"self-crossing polygon", func(m map[string]any) {
			zone(m, 2)["polygon"] = []any{[]any{0, 0}, []any{4, 4}, []any{4, 0}, []any{0, 6}}
		}, []string{"zones[2].polygon", "not simple"}},
		{"polygon without area", func(m map[string]any) {
			zone(m, 2)["polygon"] = []any{[]any{2, 3}, []any{4, 3}, []any{6, 3}}
		}, []string{"zones[2].polygon", "no area"}},
		{"empty zone id", func(m map[string]any) { zone(m, 1)["id"] = "" }, []string{"zones[1].id"}},
		{"bad site id", func(m map[string]any) { m["site"] = "my shop" }, []string{"site:", `"my shop"`}},
		{"unknown time zone", func(m map[string]any) { m["timezone"] = "Europe/Atlantis" }, []string{"timezone", "Europe/Atlantis"}},
		{"bounds of 10,000 km", func(m map[string]any) { m["bounds"] = []any{[]any{-2, -8}, []any{1e7, 22}} }, []string{"bounds", "at most 1000 m a side"}},
		{"bounds inverted", func(m map[string]any) { m["bounds"] = []any{[]any{32, 22}, []any{-2, -8}} }, []string{"bounds", "xmin<xmax"}},
		{"plan bounds", func(m map[string]any) {
			m["plan"].(map[string]any)["bounds"] = []any{[]any{0, 0}, []any{0, 20}}
		}, []string{"plan.bounds"}},
		{"open weekday", func(m map[string]any) { m["open"].(map[string]any)["sunday"] = []any{"10:00", "12:00"} }, []string{"open", `"sunday"`, "weekday"}},
		{"open hours reversed", func(m map[string]any) { m["open"].(map[string]any)["sat"] = []any{"18:00", "10:00"} }, []string{"open", `"sat"`, "opening before closing"}},
		{"exponent", func(m map[string]any) { m["radio"].(map[string]any)["exponent"] = 9 }, []string{"radio.exponent", "outside [1, 6]"}},
		{"rssi_1m", func(m map[string]any) { m["radio"].(map[string]any)["rssi_1m"] = 30 }, []string{"radio.rssi_1m"}},
		{"sensor exponent", func(m map[string]any) { sensor(m, 1)["exponent"] = 0.5 }, []string{"sensors[1].exponent"}},
		{"sensor height", func(m map[string]any) { sensor(m, 0)["z"] = -1 }, []string{"sensors[0].z"}},
		{"no sensors", func(m map[string]any) { m["sensors"] = []any{} }, []string{"sensors", "none given"}},
		{"negative gap", func(m map[string]any) { m["footfall"].(map[string]any)["visit_gap_s"] = -5 }, []string{"footfall", "positive"}},
		{"negative history", func(m map[string]any) { m["footfall"].(map[string]any)["history_days"] = -1 }, []string{"footfall.history_days"}},
	}
	for _, c := range cases {
		_, err := ParseSite(edit(t, c.edit), false)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
}

// Several errors are all reported, not just the first.
func TestValidateReportsAllErrors(t *testing.T) {
	_, err := ParseSite(edit(t, func(m map[string]any) {
		sensor(m, 1)["id"] = "s1"
		zone(m, 0)["kind"] = "pavement"
		zone(m, 2)["polygon"] = []any{[]any{0, 0}}
	}), false)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{"sensors[1].id", "zones[0].kind", "zones[2].polygon"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
}

func TestParseSiteDecodeErrors(t *testing.T) {
	cases := []struct {
		in   string
		yaml bool
		want string
	}{
		{`{"site":"demo","sensors":[{"id":"a","x":"one"}]}`, false, "sensors.x"},
		{`{"site":"demo",]`, false, "not valid JSON"},
		{`{"site":"demo",`, false, "EOF"}, // gap: a truncated file says only "unexpected EOF"
		{`{"site":"demo"} {"site":"again"}`, false, "data after the site object"},
		{"site: demo\nbounds: [[0,0],[1,1]]\n  bad indent: [", true, "yaml"},
	}
	for _, c := range cases {
		_, err := ParseSite([]byte(c.in), c.yaml)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}

// TestParseSiteIgnoresUnknownFields: a field the site does not know is
// ignored and named (another tool may add fields of its own, as the
// contract lets a calibration do), in JSON and YAML, at any depth; the
// opening hours' day keys are the map's, not fields; encoding/json's
// case-insensitive match is no unknown field.
func TestParseSiteIgnoresUnknownFields(t *testing.T) {
	in := strings.Replace(contractSite, `"site":"demo",`, `"site":"demo","address":"Main St 1","Radio":{"rssi_1m":-45,"exponent":2.5,"offset_5ghz":-6,"tx":"x"},`, 1)
	in = strings.Replace(in, `"radio":{"rssi_1m":-45,"exponent":2.5,"offset_5ghz":-6},`, ``, 1)
	in = strings.Replace(in, `{"id":"s1",`, `{"id":"s1","mount":"ceiling",`, 1)
	in = strings.Replace(in, `"kind":"area",`, `"kind":"area","colour":"red",`, 1)
	s, err := ParseSite([]byte(in), false)
	if err != nil {
		t.Fatalf("%v\n%s", err, in)
	}
	want := []string{"Radio.tx", "address", "sensors[0].mount", "zones[2].colour"}
	if fmt.Sprint(s.Ignored) != fmt.Sprint(want) {
		t.Errorf("ignored %q, want %q", s.Ignored, want)
	}
	if s.Radio.RSSI1m != -45 || len(s.Sensors) != 2 || s.Zones[2].ID != "aisle-1" {
		t.Errorf("the known fields were not all taken: %+v", s)
	}
	y, err := ParseSite([]byte("site: demo\nbounds: [[0,0],[10,10]]\nnote: hi\nsensors: [{id: a, x: 1, y: 1, z: 2}]\nzones:\n  - {id: s, kind: store, polygon: [[0,0],[10,0],[10,10]], colour: red}\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"note", "zones[0].colour"}; fmt.Sprint(y.Ignored) != fmt.Sprint(want) {
		t.Errorf("yaml: ignored %q, want %q", y.Ignored, want)
	}
	c, err := ParseSite([]byte(contractSite), false)
	if err != nil || c.Ignored != nil {
		t.Errorf("the contract's example: %v, ignored %q", err, c.Ignored)
	}
	b, _ := MarshalSite(s)
	if strings.Contains(string(b), "colour") || strings.Contains(string(b), "Ignored") {
		t.Errorf("ignored fields written: %s", b)
	}
}

func TestPolygonArea(t *testing.T) {
	sq := []Point{{0, 0}, {4, 0}, {4, 3}, {0, 3}}
	cw := []Point{{0, 3}, {4, 3}, {4, 0}, {0, 0}}
	if PolygonArea(sq) != 12 || PolygonArea(cw) != 12 {
		t.Error("area in either orientation")
	}
	l := []Point{{0, 0}, {4, 0}, {4, 2}, {2, 2}, {2, 6}, {0, 6}}
	if PolygonArea(l) != 16 {
		t.Errorf("L area %v", PolygonArea(l))
	}
}

func FuzzParseSite(f *testing.F) {
	f.Add([]byte(contractSite), false)
	f.Add([]byte(contractSiteYAML), true)
	f.Fuzz(func(t *testing.T, data []byte, yamlIn bool) {
		s, err := ParseSite(data, yamlIn)
		if err != nil {
			return
		}
		// A site that passed validation survives a round trip.
		b, err := MarshalSite(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseSite(b, false); err != nil {
			t.Fatalf("valid site fails after a round trip: %v\n%s", err, b)
		}
	})
}

func TestCheckPlan(t *testing.T) {
	s, err := ParseSite([]byte(contractSite), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckPlan(); err != nil {
		t.Fatalf("the contract's site: %v", err)
	}
	cases := []struct {
		name string
		edit func(m map[string]any)
		want []string
	}{
		{"Local time zone", func(m map[string]any) { m["timezone"] = "Local" }, []string{"timezone", `"Local"`}},
		{"zone id with a space", func(m map[string]any) { zone(m, 2)["id"] = "aisle 1" }, []string{"zones[2].id", `"aisle 1"`}},
		{"area outside the store", func(m map[string]any) {
			zone(m, 2)["polygon"] = []any{[]any{2, 3}, []any{6, 3}, []any{6, 21}, []any{2, 21}}
		}, []string{"zones[2].polygon[2]", `area "aisle-1" reaches outside the store "store"`}},
		{"zone outside the bounds", func(m map[string]any) {
			zone(m, 0)["polygon"] = []any{[]any{-2, -9}, []any{32, -8}, []any{32, 0}, []any{-2, 0}}
		}, []string{"zones[0].polygon[0]", "outside the bounds"}},
		{"no store", func(m map[string]any) { zone(m, 1)["kind"] = "outside" }, []string{"zones:", "no zone of kind store"}},
		{"visitor dwell above staff", func(m map[string]any) { m["footfall"].(map[string]any)["visitor_min_dwell_s"] = 20000 }, []string{"footfall.visitor_min_dwell_s"}},
		{"gap above staff", func(m map[string]any) { m["footfall"].(map[string]any)["visit_gap_s"] = 20000 }, []string{"footfall.visit_gap_s"}},
	}
	for _, c := range cases {
		// ParseSite runs CheckPlan after Validate: the file is refused
		// with the field named.
		_, err := ParseSite(edit(t, c.edit), false)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
	// An area touching the store's edge from inside is fine; a concave
	// store holds an area in its inner corner.
	s2, err := ParseSite(edit(t, func(m map[string]any) {
		zone(m, 1)["polygon"] = []any{[]any{0, 0}, []any{30, 0}, []any{30, 10}, []any{10, 10}, []any{10, 20}, []any{0, 20}}
		zone(m, 2)["polygon"] = []any{[]any{0, 0}, []any{10, 0}, []any{10, 20}, []any{0, 20}}
	}), false)
	if err != nil || s2.CheckPlan() != nil {
		t.Errorf("area on the store's edges: %v %v", err, s2.CheckPlan())
	}
}

// YAML writers leave times unquoted; they must stay "HH:MM" strings.
func TestParseSiteYAMLUnquotedTimes(t *testing.T) {
	s, err := ParseSite([]byte("site: demo\nbounds: [[0,0],[10,10]]\nsensors: [{id: s1, x: 1, y: 1, z: 2}]\nzones: []\nopen: {mon-fri: [09:00, 20:00], sat: [10:00, 18:00]}\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	if s.Open["mon-fri"] != [2]string{"09:00", "20:00"} || !s.Open.IsOpen(time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("open %v", s.Open)
	}
}

// TestSiteExplicitZeros: a value the file gives is the site's, also 0.
// visitor_min_dwell_s 0 (every visit counts; Validate allows it) was
// replaced by the default 60 s without a word, as was rssi_1m 0 dBm by
// -45; an exponent or a visit gap of 0 became the default instead of the
// clear error an impossible value gets.
func TestSiteExplicitZeros(t *testing.T) {
	base := `{"site":"z","bounds":[[0,0],[10,10]],"sensors":[{"id":"s1","x":1,"y":1,"z":2}],"zones":[]`
	s, err := ParseSite([]byte(base+`,"radio":{"rssi_1m":0},"footfall":{"visitor_min_dwell_s":0}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	if s.Footfall.VisitorMinDwellS != 0 || s.Radio.RSSI1m != 0 {
		t.Errorf("visitor_min_dwell_s 0 read as %v, rssi_1m 0 as %v", s.Footfall.VisitorMinDwellS, s.Radio.RSSI1m)
	}
	if s.Footfall.VisitGapS != DefaultVisitGap || s.Radio.Exponent != DefaultExponent {
		t.Errorf("absent fields: visit_gap_s %v, exponent %v", s.Footfall.VisitGapS, s.Radio.Exponent)
	}
	for _, bad := range []string{`,"radio":{"exponent":0}}`, `,"footfall":{"visit_gap_s":0}}`, `,"footfall":{"staff_min_dwell_s":0}}`} {
		if _, err := ParseSite([]byte(base+bad), false); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	y := "site: z\nbounds: [[0,0],[10,10]]\nsensors: [{id: s1, x: 1, y: 1, z: 2}]\nzones: []\nfootfall: {visitor_min_dwell_s: 0}\n"
	if s, err := ParseSite([]byte(y), true); err != nil || s.Footfall.VisitorMinDwellS != 0 {
		t.Errorf("YAML visitor_min_dwell_s 0: %v, %v", s, err)
	}
}
