package zones

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/passant/passant/wire"
)

// The contract's example site.
const demoSite = `{"site":"demo","name":"Demo Store","timezone":"Europe/Berlin",
 "bounds":[[-2,-8],[32,22]],
 "radio":{"rssi_1m":-45,"exponent":2.5,"offset_5ghz":-6},
 "sensors":[{"id":"s1","x":1,"y":1,"z":2.5},{"id":"s2","x":29,"y":1,"z":2.5}],
 "zones":[{"id":"street","kind":"outside","polygon":[[-2,-8],[32,-8],[32,0],[-2,0]]},
          {"id":"store","kind":"store","polygon":[[0,0],[30,0],[30,20],[0,20]]},
          {"id":"aisle-1","kind":"area","polygon":[[2,3],[6,3],[6,18],[2,18]]},
          {"id":"aisle-1b","kind":"area","polygon":[[2,18],[2,3],[6,3],[6,18]]},
          {"id":"till","kind":"area","polygon":[[20,2],[24,2],[24,6],[20,6]]},
          {"id":"corner","kind":"area","polygon":[[24,6],[28,6],[28,10],[24,10]]}]}`

func demoPlan(t testing.TB) *Plan {
	t.Helper()
	s, err := wire.ParseSite([]byte(demoSite), false)
	if err != nil {
		t.Fatal(err)
	}
	return NewPlan(s)
}

func TestInnermost(t *testing.T) {
	p := demoPlan(t)
	cases := []struct {
		x, y float64
		want string
	}{
		{4, 10, "aisle-1"},  // equal areas with aisle-1b: the first in the file wins
		{2, 10, "aisle-1"},  // on an edge: inside
		{2, 3, "aisle-1"},   // on a vertex: inside
		{10, 10, "store"},   // only the store holds it
		{10, 0, "store"},    // on the edge shared by store and street: the smaller (store, 600 m²) wins over street (272 m²)? no: street is smaller
		{10, -4, "street"},  // outside the store
		{31, 10, ""},        // in no zone
		{24, 6, "till"},     // the corner shared by till and corner: equal areas, till first
		{26, 8, "corner"},   //
		{30, 20, "store"},   // the store's far corner
		{30.0001, 20, ""},   // just beyond it
		{-2, -8, "street"},  // the street's corner
		{6, 18, "aisle-1"},  // aisle corner
		{6.01, 18, "store"}, // just beside it
	}
	// street is 34*8 = 272 m², store 600 m²: on the shared edge y=0 the
	// street is the smaller zone.
	cases[4].want = "street"
	for _, c := range cases {
		if got := p.Innermost(c.x, c.y); got != c.want {
			t.Errorf("Innermost(%v, %v) = %q, want %q", c.x, c.y, got, c.want)
		}
	}
	if !p.InStore(10, 0) || !p.InStore(4, 10) || p.InStore(10, -0.01) || p.InStore(31, 1) {
		t.Error("InStore wrong on the edge, in an area, or outside")
	}
	if p.Store() != "store" || !slices.Equal(p.Areas(), []string{"aisle-1", "aisle-1b", "till", "corner"}) {
		t.Errorf("Store %q Areas %v", p.Store(), p.Areas())
	}
	if p.InnermostArea(10, 10) != "" || p.InnermostArea(26, 8) != "corner" {
		t.Error("InnermostArea")
	}
}

// A concave polygon, in both orientations, against a brute-force check
// built from triangles.
func TestInPolygonConcaveBothOrientations(t *testing.T) {
	// An L shape: the union of [0,4]x[0,2] and [0,2]x[2,6].
	ccw := []wire.Point{{0, 0}, {4, 0}, {4, 2}, {2, 2}, {2, 6}, {0, 6}}
	cw := slices.Clone(ccw)
	slices.Reverse(cw)
	inL := func(x, y float64) bool {
		return (x >= 0 && x <= 4 && y >= 0 && y <= 2) || (x >= 0 && x <= 2 && y >= 0 && y <= 6)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		// Snap a third of the points to the 0.5 m grid, so edges and
		// vertices are hit often.
		x, y := r.Float64()*6-1, r.Float64()*8-1
		if r.IntN(3) == 0 {
			x, y = math.Round(x*2)/2, math.Round(y*2)/2
		}
		want := inL(x, y)
		if got := inPolygon(ccw, x, y); got != want {
			t.Fatalf("ccw (%v, %v): got %v want %v", x, y, got, want)
		}
		if got := inPolygon(cw, x, y); got != want {
			t.Fatalf("cw (%v, %v): got %v want %v", x, y, got, want)
		}
	}
}

func TestDepthAndMargin(t *testing.T) {
	p := demoPlan(t)
	for _, c := range []struct {
		id         string
		x, y, want float64
	}{
		{"store", 15, 10, 10},
		{"store", 15, 0, 0},
		{"store", 15, -1, -1},
		{"store", 33, 24, -5},
		{"aisle-1", 4, 10, 2},
		{"aisle-1", 7, 10, -1},
	} {
		if got := p.Depth(c.id, c.x, c.y); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Depth(%s, %v, %v) = %v, want %v", c.id, c.x, c.y, got, c.want)
		}
	}
	if !math.IsInf(p.Depth("nope", 0, 0), -1) {
		t.Error("unknown zone")
	}
	// A/P of the 4 x 15 aisle is 60/38.
	if m := p.Margin("aisle-1", 5); math.Abs(m-60.0/38) > 1e-12 {
		t.Errorf("margin capped at A/P: %v", m)
	}
	if p.Margin("aisle-1", 0.5) != 0.5 || p.Margin("store", 5) != MaxMargin || p.Margin("store", 0) != 0 || p.Margin("store", math.NaN()) != 0 {
		t.Error("margin")
	}
}

// A shopper standing just inside the door, whose fixes scatter across the
// store's edge with err 2 m, must not flicker in and out.
func TestPresenceHysteresisAtTheDoor(t *testing.T) {
	p := demoPlan(t)
	r := rand.New(rand.NewPCG(3, 4))
	var s Presence
	flips, inCount := 0, 0
	prev := false
	// First a confident fix inside.
	s.Step(p, 15, 3, 2, 0)
	prev = s.InStore
	for range 1000 {
		y := 0.3 + r.NormFloat64()*1.0 // true position 0.3 m inside, noisy
		st := s.Step(p, 15, y, 2, 0)
		if st.InStore != prev {
			flips++
		}
		if st.InStore {
			inCount++
		}
		prev = st.InStore
	}
	// Leaving needs a fix more than 2 m out (MaxMargin): 2.3 sigma for
	// this shopper, about 1% of fixes. The raw test flips hundreds of
	// times.
	if flips > 30 {
		t.Errorf("%d flips with hysteresis", flips)
	}
	raw := 0
	prevRaw := true
	r = rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		y := 0.3 + r.NormFloat64()*1.0
		in := p.InStore(15, y)
		if in != prevRaw {
			raw++
		}
		prevRaw = in
	}
	if raw < 5*max(flips, 1) {
		t.Errorf("raw polygon test flips %d times, hysteresis %d: expected far fewer", raw, flips)
	}

	// A passer-by standing 0.5 m outside with the same noise: the raw test
	// flips at about 40% of the fixes, the presence far less often (it
	// enters only on a fix 2 m inside).
	var out Presence
	changes, rawChanges := 0, 0
	rawWas := false
	for range 1000 {
		y := -0.5 + r.NormFloat64()*1.0
		was := out.InStore
		if out.Step(p, 15, y, 2, 0).InStore != was {
			changes++
		}
		if in := p.InStore(15, y); in != rawWas {
			rawChanges++
			rawWas = in
		}
	}
	if rawChanges < 300 || changes*3 > rawChanges {
		t.Errorf("passer-by: %d changes with hysteresis, %d raw", changes, rawChanges)
	}
}

func TestPresenceExactWithoutError(t *testing.T) {
	p := demoPlan(t)
	var s Presence
	steps := []struct {
		x, y    float64
		inStore bool
		area    string
	}{
		{10, -1, false, ""},
		{10, 0, true, ""}, // edge is inside
		{4, 10, true, "aisle-1"},
		{26, 8, true, "corner"},
		{24, 8, true, "corner"}, // on the corner's edge
		{23, 5, true, "till"},
		{10, 10, true, ""},
		{10, -0.001, false, ""},
	}
	for i, st := range steps {
		got := s.Step(p, st.x, st.y, 0, 0)
		if got.InStore != st.inStore || got.Area != st.area {
			t.Errorf("step %d (%v,%v): got %+v, want in=%v area=%q", i, st.x, st.y, got, st.inStore, st.area)
		}
	}
}

func TestPresenceAreaHysteresis(t *testing.T) {
	p := demoPlan(t)
	var s Presence
	s.Step(p, 4, 10, 1, 0) // confidently in aisle-1 (depth 2 >= 1)
	if s.Area != "aisle-1" {
		t.Fatalf("%+v", s)
	}
	// 0.5 m beside the aisle with err 1: ambiguous, stays.
	if st := s.Step(p, 6.5, 10, 1, 0); st.Area != "aisle-1" {
		t.Errorf("ambiguous fix left the aisle: %+v", st)
	}
	// 2 m beside: confidently out.
	if st := s.Step(p, 8, 10, 1, 0); st.Area != "" || !st.InStore {
		t.Errorf("confident fix did not leave: %+v", st)
	}
	// Just inside the aisle with err 1: ambiguous, stays out.
	if st := s.Step(p, 5.5, 10, 1, 0); st.Area != "" {
		t.Errorf("ambiguous fix entered: %+v", st)
	}
}

func TestOccupancy(t *testing.T) {
	edges := []int64{0, 100, 200, 300}
	spans := []Span{
		{-50, 50},   // open from before the first bin
		{20, 150},   // across two bins
		{150, 150},  // a single fix
		{200, 200},  // touching the bin edge
		{250, 400},  // past the end
		{500, 600},  // outside
		{-100, -90}, // outside
	}
	got := Occupancy(spans, edges)
	want := []Load{
		{Max: 2, Mean: (50.0 + 80) / 100},
		{Max: 2, Mean: 50.0 / 100},
		{Max: 1, Mean: 50.0 / 100},
	}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i].Max != want[i].Max || math.Abs(got[i].Mean-want[i].Mean) > 1e-12 {
			t.Errorf("bin %d: got %+v want %+v", i, got[i], want[i])
		}
	}
	if Occupancy(spans, []int64{0}) != nil {
		t.Error("one edge")
	}
}

func ExamplePlan_Innermost() {
	site := &wire.Site{Site: "demo", Zones: []wire.Zone{
		{ID: "store", Kind: wire.ZoneStore, Polygon: []wire.Point{{0, 0}, {30, 0}, {30, 20}, {0, 20}}},
		{ID: "aisle-1", Kind: wire.ZoneArea, Polygon: []wire.Point{{2, 3}, {6, 3}, {6, 18}, {2, 18}}},
	}}
	p := NewPlan(site)
	fmt.Printf("%q %q %q %v\n", p.Innermost(4, 10), p.Innermost(10, 10), p.Innermost(40, 10), p.InStore(4, 10))
	// Output: "aisle-1" "store" "" true
}

func BenchmarkInnermost(b *testing.B) {
	p := demoPlan(b)
	r := rand.New(rand.NewPCG(5, 6))
	pts := make([][2]float64, 1024)
	for i := range pts {
		pts[i] = [2]float64{r.Float64()*34 - 2, r.Float64()*30 - 8}
	}
	i := 0
	for b.Loop() {
		p.Innermost(pts[i&1023][0], pts[i&1023][1])
		i++
	}
}

// The store's rule: in with a fix at least m inside, out with a fix more
// than m outside, m = min(err, A/P, MaxMargin); between, the state holds.
func TestPresenceStoreRule(t *testing.T) {
	p := demoPlan(t)
	var s Presence
	for i, c := range []struct {
		y, err float64
		in     bool
	}{
		{0.1, 2, false},  // in the polygon but within the margin: stays out
		{2.1, 2, true},   // confidently in
		{-1.9, 2, true},  // within the margin outside: stays in
		{-1.9, 1, false}, // beyond a 1 m margin: out
		{1.9, 9, false},  // the margin is at most MaxMargin (2 m): not yet in
		{2, 9, true},     // now in
		{0, 0, true},     // the edge is inside
		{-2.1, 9, false}, // beyond MaxMargin whatever err
	} {
		if got := s.Step(p, 15, c.y, c.err, 0).InStore; got != c.in {
			t.Errorf("step %d (y %v, err %v): in %v, want %v", i, c.y, c.err, got, c.in)
		}
	}
}

// TestPresenceEnterSide checks the entry rule on the side's probability: a
// fix deep in the store brings a track in only when the locator holds the
// store's side at least MinEnterP likely (or does not say), and a track
// that is in stays in on such a fix whatever that probability.
func TestPresenceEnterSide(t *testing.T) {
	p := demoPlan(t)
	var s Presence
	for i, c := range []struct {
		y, pin float64
		in     bool
	}{
		{5, MinEnterP / 2, false},      // deep in, the street as likely: stays out
		{5, MinEnterP - 0.01, false},   // just short of the odds
		{5, MinEnterP, true},           // in
		{5, 0.05, true},                // in already: stays in
		{-5, 0.9, false},               // confidently out by the depth: out
		{5, 0, true},                   // unknown: the depth alone decides
		{-5, 0, false},                 // out again
		{5, (1 + MinEnterP) / 2, true}, // sure enough: in
	} {
		if got := s.Step(p, 15, c.y, 1, c.pin).InStore; got != c.in {
			t.Errorf("step %d (y %v, pin %v): in %v, want %v", i, c.y, c.pin, got, c.in)
		}
	}
}

// TestPresenceStepStore checks that StepStore moves the presence as Step
// does and returns the store's depth and margin (Plan.Depth, Plan.Margin)
// over a random walk in and out of the store; and -Inf, 0 without a store.
func TestPresenceStepStore(t *testing.T) {
	p := demoPlan(t)
	rng := rand.New(rand.NewPCG(3, 4))
	var a, b Presence
	for i := range 5000 {
		x, y := -3+36*rng.Float64(), -9+32*rng.Float64()
		err := 3 * rng.Float64()
		pin := rng.Float64()
		want := a.Step(p, x, y, err, pin)
		got, d, m := b.StepStore(p, x, y, err, pin)
		if got != want || a != b {
			t.Fatalf("step %d at (%v, %v): StepStore %+v, Step %+v", i, x, y, got, want)
		}
		if wd, wm := p.Depth("store", x, y), p.Margin("store", err); d != wd || m != wm {
			t.Fatalf("step %d at (%v, %v): depth and margin %v %v, want %v %v", i, x, y, d, m, wd, wm)
		}
	}
	var none Presence
	if _, d, m := none.StepStore(NewPlan(&wire.Site{}), 1, 1, 1, 0); !math.IsInf(d, -1) || m != 0 {
		t.Errorf("no store: depth %v, margin %v", d, m)
	}
}
