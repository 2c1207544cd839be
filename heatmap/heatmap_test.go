package heatmap

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/passant/passant/wire"
)

var shop = wire.Rect{{-2, -8}, {32, 22}}

func TestSpreadKeepsMass(t *testing.T) {
	g := NewGrid(shop, 0.5)
	if g.NX != 68 || g.NY != 60 {
		t.Fatalf("grid %dx%d", g.NX, g.NY)
	}
	g.AddFix(10.1, 5.2, 1.5, 30)
	g.AddFix(31.9, 21.9, 3, 10) // in a corner: truncated, renormalised
	g.AddFix(100, 100, 1, 5)    // outside: clamped onto the edge
	if tot := g.Total(); math.Abs(tot-45) > 1e-9 {
		t.Errorf("total %v, want 45", tot)
	}
	if g.At(10.1, 5.2) <= g.At(12, 5.2) || g.At(12, 5.2) <= g.At(14.5, 5.2) {
		t.Errorf("not peaked at the fix: %v %v %v", g.At(10.1, 5.2), g.At(12, 5.2), g.At(14.5, 5.2))
	}
	if g.At(16, 5.2) != 0 {
		t.Errorf("the kernel is truncated at 3 sigma")
	}
	// A wider error spreads the same time thinner.
	h := NewGrid(shop, 0.5)
	h.AddFix(10.1, 5.2, 4, 30)
	if h.At(10.1, 5.2) >= g.At(10.1, 5.2)/2 {
		t.Errorf("wide %v, narrow %v", h.At(10.1, 5.2), g.At(10.1, 5.2))
	}
	if g.AddFix(math.NaN(), 1, 1, 1); math.Abs(g.Total()-45) > 1e-9 {
		t.Error("a NaN fix added time")
	}
}

func TestBuilderWeights(t *testing.T) {
	tl := NewTiles(shop, 0.5)
	b := NewBuilder(tl)
	const h0 = 1764849600000 // on an hour
	fix := func(t int64, track string, x float64) *wire.Position {
		return &wire.Position{T: t, Track: track, X: x, Y: 5, Err: 1}
	}
	b.Add(fix(h0+1000, "a", 2))
	b.Add(fix(h0+31000, "a", 4))     // a's first fix stands 30 s
	b.Add(fix(h0+400000, "a", 6))    // the second 6.5 min: capped at 60 s
	b.Add(fix(h0+Hour-5000, "b", 8)) // b's only fix: Last (15 s), 5 s in hour 0, 10 s in hour 1
	b.Flush()                        // a's third: 15 s
	all := tl.Range(h0, h0+2*Hour)
	if got := all.Total(); math.Abs(got-(30+60+15+15)) > 1e-3 {
		t.Errorf("total %v s, want 120", got)
	}
	if got := tl.Range(h0+Hour, h0+2*Hour).Total(); math.Abs(got-10) > 1e-3 {
		t.Errorf("second hour %v s, want 10", got)
	}
	if len(tl.Hours()) != 2 || b.Counted() != 4 {
		t.Errorf("hours %v counted %d", tl.Hours(), b.Counted())
	}
	// Zone filter: only the cells left of x=5.
	left := []wire.Point{{-2, -8}, {5, -8}, {5, 22}, {-2, 22}}
	z := tl.Range(h0, h0+2*Hour, left)
	if z.Total() >= all.Total() || z.At(2, 5) != all.At(2, 5) || z.At(8, 5) != 0 {
		t.Errorf("zone mask: %v of %v", z.Total(), all.Total())
	}
	// Put/Tile round trip.
	t2 := NewTiles(shop, 0.5)
	for _, h := range tl.Hours() {
		if err := t2.Put(h, tl.Tile(h)); err != nil {
			t.Fatal(err)
		}
	}
	if math.Abs(t2.Range(0, math.MaxInt64).Total()-all.Total()) > 1e-6 {
		t.Error("tiles do not round trip")
	}
	if err := t2.Put(h0+1, tl.Tile(h0)); err == nil {
		t.Error("a tile off the hour was accepted")
	}
	if err := t2.Put(h0, NewGrid(shop, 1)); err == nil {
		t.Error("a tile of another shape was accepted")
	}
}

// Tiles sum to the same grid as adding every fix directly.
func TestTilesSumToDirect(t *testing.T) {
	ps := randomFixes(5000, 3)
	tl := NewTiles(shop, 0.5)
	b := NewBuilder(tl)
	for i := range ps {
		b.Add(&ps[i])
	}
	b.Flush()
	direct := NewGrid(shop, 0.5)
	last := map[string]int{}
	for i := range ps {
		if j, ok := last[ps[i].Track]; ok {
			direct.AddFix(ps[j].X, ps[j].Y, ps[j].Err, float64(min(ps[i].T-ps[j].T, DefaultCap))/1000)
		}
		last[ps[i].Track] = i
	}
	for _, j := range last {
		direct.AddFix(ps[j].X, ps[j].Y, ps[j].Err, DefaultLast/1000)
	}
	sum := tl.Range(0, math.MaxInt64)
	var maxd float64
	for i := range sum.V {
		maxd = math.Max(maxd, math.Abs(sum.V[i]-direct.V[i]))
	}
	if maxd > 1e-3*direct.Max() || math.Abs(sum.Total()-direct.Total()) > 1e-4*direct.Total() {
		t.Errorf("tiles differ from direct by %v (max %v), totals %v %v", maxd, direct.Max(), sum.Total(), direct.Total())
	}
}

func randomFixes(n int, seed uint64) []wire.Position {
	rng := rand.New(rand.NewPCG(seed, 1))
	ps := make([]wire.Position, n)
	t := int64(1764849600000)
	tracks := []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"}
	for i := range ps {
		t += int64(rng.IntN(4000))
		// A hot aisle at x≈4.
		x := 4 + rng.NormFloat64()
		if rng.IntN(3) == 0 {
			x = rng.Float64() * 30
		}
		ps[i] = wire.Position{T: t, Track: tracks[rng.IntN(len(tracks))], X: x, Y: rng.Float64() * 20, Err: 0.5 + 2*rng.Float64()}
	}
	return ps
}

func TestJSON(t *testing.T) {
	g := NewGrid(wire.Rect{{0, 0}, {3, 2}}, 1)
	g.AddFix(0.5, 0.5, 0.1, 10)
	var v struct {
		Bounds [2][2]float64
		Cell   float64
		NX, NY int
		Unit   string
		Total  float64
		Values []float64
	}
	if err := json.Unmarshal(g.AppendJSON(nil, "s", 1), &v); err != nil {
		t.Fatal(err)
	}
	if v.NX != 3 || v.NY != 2 || len(v.Values) != 6 || v.Values[0] < 6 || v.Values[0] < v.Values[1] || v.Total != 10 || v.Bounds[1][0] != 3 || v.Unit != "s" {
		t.Errorf("%+v", v)
	}
}

func TestRender(t *testing.T) {
	ps := randomFixes(3000, 4)
	tl := NewTiles(shop, 0.5)
	b := NewBuilder(tl)
	for i := range ps {
		b.Add(&ps[i])
	}
	b.Flush()
	g := tl.Range(0, math.MaxInt64)
	// A plan: solid light blue over the store.
	plan := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 300; x++ {
			plan.SetRGBA(x, y, color.RGBA{200, 220, 255, 255})
		}
	}
	img := Render(g, Style{Plan: plan, PlanBounds: wire.Rect{{0, 0}, {30, 20}}, Fade: true, Sqrt: true,
		Title: "occupancy", Label: DurationLabel, Points: []wire.Point{{1, 1}, {29, 19}},
		Zones: []wire.Zone{{ID: "store", Polygon: []wire.Point{{0, 0}, {30, 0}, {30, 20}, {0, 20}}}}})
	px := func(x, y float64) color.RGBA { // site → image
		s := 800 / 34.0
		return img.RGBAAt(margin+int((x+2)*s), titleH+int((22-y)*s))
	}
	// The hot aisle is drawn in the map's upper colours; the empty street
	// shows the bare floor; an empty part of the store shows the plan.
	hot := px(4, 10)
	if hot.G < 150 {
		t.Errorf("hot aisle drawn %v", hot)
	}
	if c := px(15, -7.7); c != (color.RGBA{236, 236, 236, 255}) {
		t.Errorf("empty street drawn %v", c)
	}
	if c := px(20, 10); c.B < c.R+40 {
		t.Errorf("plan not under the map: %v", c)
	}
	empty := Render(NewGrid(shop, 0.5), Style{Plan: plan, PlanBounds: wire.Rect{{0, 0}, {30, 20}}, Fade: true})
	if c := empty.RGBAAt(margin+517, titleH+282); c != (color.RGBA{200, 220, 255, 255}) {
		t.Errorf("plan pixel %v", c)
	}
	// The legend bar runs from the map's first to its last colour.
	lx := margin + 800 + margin + 10
	top, bottom := img.RGBAAt(lx, titleH+8+1), img.RGBAAt(lx, titleH+8+318)
	if dist(top, Viridis.At(1)) > 12 || dist(bottom, Viridis.At(0)) > 12 {
		t.Errorf("legend top %v bottom %v", top, bottom)
	}
	var buf bytes.Buffer
	if err := WritePNG(&buf, img); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("PASSANT_ARTEFACTS"); dir != "" {
		os.WriteFile(filepath.Join(dir, "heatmap.png"), buf.Bytes(), 0o644)
	}
}

func dist(a, b color.RGBA) float64 {
	return math.Abs(float64(a.R)-float64(b.R)) + math.Abs(float64(a.G)-float64(b.G)) + math.Abs(float64(a.B)-float64(b.B))
}

func TestColorMapAndText(t *testing.T) {
	if Viridis.At(0) != (color.RGBA{0x44, 0x01, 0x54, 255}) || Viridis.At(1) != (color.RGBA{0xfd, 0xe7, 0x25, 255}) {
		t.Error("viridis ends")
	}
	if Inferno.Reversed().At(0) != Inferno.At(1) {
		t.Error("reversed")
	}
	// Viridis gets lighter all the way (perceptual: monotone lightness).
	prev := -1.0
	for f := 0.0; f <= 1; f += 0.05 {
		c := Viridis.At(f)
		l := 0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)
		if l <= prev {
			t.Errorf("lightness falls at %v", f)
		}
		prev = l
	}
	img := image.NewRGBA(image.Rect(0, 0, 100, 20))
	DrawText(img, 1, 1, "±1.8 m", color.Black, 2)
	n := 0
	for _, p := range img.Pix {
		if p != 0 {
			n++
		}
	}
	if n == 0 || TextWidth("±1.8 m", 2) != 70 {
		t.Errorf("text: %d pixels set, width %d", n, TextWidth("±1.8 m", 2))
	}
}

// With ByZone a zone filter selects fixes, not cells: a fix in zone a near
// the border of b counts for a only, wherever its spread falls.
func TestZoneTiles(t *testing.T) {
	tl := NewTiles(shop, 0.5)
	tl.ByZone = true
	b := NewBuilder(tl)
	const h0 = 1764849600000
	b.Add(&wire.Position{T: h0, Track: "x", X: 10, Y: 10, Err: 2, Zone: "a"})
	b.Add(&wire.Position{T: h0 + 20000, Track: "x", X: 10.5, Y: 10, Err: 2, Zone: "b"})
	b.Add(&wire.Position{T: h0 + 50000, Track: "x", X: 11, Y: 10, Err: 2, Zone: ""})
	b.Flush()
	all := tl.Sum(Query{From: h0, To: h0 + Hour})
	a := tl.Sum(Query{From: h0, To: h0 + Hour, Zones: []string{"a"}})
	ab := tl.Sum(Query{From: h0, To: h0 + Hour, Zones: []string{"a", "b"}})
	if math.Abs(all.Total()-(20+30+15)) > 1e-3 || math.Abs(a.Total()-20) > 1e-3 || math.Abs(ab.Total()-50) > 1e-3 {
		t.Errorf("all %v a %v a+b %v", all.Total(), a.Total(), ab.Total())
	}
	if got := tl.Zones(h0); len(got) != 2 || got[0] != "a" {
		t.Errorf("zones %v", got)
	}
	night := tl.Sum(Query{From: h0, To: h0 + Hour, Hour: func(h int64) bool { return false }})
	if night.Total() != 0 {
		t.Error("hour filter")
	}
	// Sparse: three fixes in one spot take a few hundred cells, not 4080.
	if tl.Bytes() > 3*4*30*30 {
		t.Errorf("tiles take %d bytes", tl.Bytes())
	}
	t2 := NewTiles(shop, 0.5)
	t2.ByZone = true
	for _, h := range tl.Hours() {
		for _, z := range append([]string{""}, tl.Zones(h)...) {
			t2.PutZone(h, z, tl.TileZone(h, z))
		}
	}
	if got := t2.Sum(Query{From: h0, To: h0 + Hour, Zones: []string{"b"}}); math.Abs(got.Total()-30) > 1e-3 {
		t.Errorf("round trip b %v", got.Total())
	}
}

// TestDrawTextFoldsAccentsAndDashes: a shop name with accents and the
// title's en dash are drawn as their plain letters and a hyphen, not as
// '?' (the downloaded heatmap's title read "30 nov 2026 00:00 ? 6 dec").
func TestDrawTextFoldsAccentsAndDashes(t *testing.T) {
	draw := func(s string) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, 200, 20))
		DrawText(img, 1, 1, s, color.Black, 1)
		return img
	}
	for _, c := range [][2]string{
		{"Café Müller – Façade", "cafe muller - facade"},
		{"Ångström—Øre", "angstrom-ore"},
	} {
		if got, want := draw(c[0]), draw(c[1]); !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("%q is not drawn as %q", c[0], c[1])
		}
	}
	if bytes.Equal(draw("é").Pix, draw("?").Pix) {
		t.Error("é drawn as '?'")
	}
}
