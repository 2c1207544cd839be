package heatmap

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"github.com/passant/passant/wire"
)

// Style says how Render draws a grid.
type Style struct {
	Map ColorMap // default Viridis
	// PxPerM is the drawing scale (default: the floor 800 px wide, at
	// least 4 and at most 40 px per metre).
	PxPerM float64
	// Plan is the floor-plan image, drawn under the field with its corners
	// at PlanBounds (site coordinates).
	Plan       image.Image
	PlanBounds wire.Rect
	Opacity    float64 // of the field over the plan (default 0.75)
	// Min and Max are the value range of the colour map (Max 0: the grid's
	// maximum).
	Min, Max float64
	// Sqrt maps values through a square root first, so that quiet areas
	// still show next to a hot spot (occupancy).
	Sqrt bool
	// Fade makes a cell's opacity grow with its value, so empty floor shows
	// the plan (occupancy); without it the field is drawn evenly (accuracy).
	Fade   bool
	Title  string
	Label  func(v float64) string // legend tick labels (default %.3g)
	Zones  []wire.Zone            // outlines drawn on top
	Points []wire.Point           // markers (sensors) drawn on top
	Mark   *wire.Point            // one highlighted marker (a suggested sensor)
}

const (
	legendW = 110
	titleH  = 26
	margin  = 8
)

// Render draws g over the floor plan with a colour bar legend.
func Render(g *Grid, st Style) *image.RGBA {
	if st.Map.Stops == nil {
		st.Map = Viridis
	}
	if st.Opacity <= 0 || st.Opacity > 1 {
		st.Opacity = 0.75
	}
	b := g.Bounds()
	wm, hm := b[1][0]-b[0][0], b[1][1]-b[0][1]
	s := st.PxPerM
	if s <= 0 {
		s = math.Min(math.Max(800/wm, 4), 40)
	}
	fw, fh := int(math.Ceil(wm*s)), int(math.Ceil(hm*s))
	W := margin + fw + margin + legendW
	H := titleH + fh + margin
	if H < titleH+200 {
		H = titleH + 200
	}
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fill(img, img.Rect, color.RGBA{255, 255, 255, 255})
	floor := image.Rect(margin, titleH, margin+fw, titleH+fh)
	fill(img, floor, color.RGBA{236, 236, 236, 255})
	toPx := func(x, y float64) (float64, float64) {
		return float64(floor.Min.X) + (x-b[0][0])*s, float64(floor.Max.Y) - (y-b[0][1])*s
	}
	if st.Plan != nil {
		drawPlan(img, floor, st.Plan, st.PlanBounds, b, s)
	}
	lo, hi := st.Min, st.Max
	if hi <= lo {
		hi = g.Max()
	}
	norm := func(v float64) float64 {
		if hi <= lo {
			return 0
		}
		f := math.Min(math.Max((v-lo)/(hi-lo), 0), 1)
		if st.Sqrt {
			f = math.Sqrt(f)
		}
		return f
	}
	const lutN = 1024
	var lut [lutN + 1]color.RGBA
	for i := range lut {
		lut[i] = st.Map.At(float64(i) / lutN)
	}
	for py := floor.Min.Y; py < floor.Max.Y; py++ {
		y := b[0][1] + (float64(floor.Max.Y-py)-0.5)/s
		for px := floor.Min.X; px < floor.Max.X; px++ {
			x := b[0][0] + (float64(px-floor.Min.X)+0.5)/s
			v := g.bilinear(x, y)
			if math.IsNaN(v) {
				continue
			}
			f := norm(v)
			a := st.Opacity
			if st.Fade {
				a *= math.Min(1, 4*f)
				if f <= 0 {
					continue
				}
			}
			blend(img, px, py, lut[int(f*lutN)], a)
		}
	}
	for _, z := range st.Zones {
		c := color.RGBA{60, 60, 60, 255}
		for i := range z.Polygon {
			p, q := z.Polygon[i], z.Polygon[(i+1)%len(z.Polygon)]
			x0, y0 := toPx(p[0], p[1])
			x1, y1 := toPx(q[0], q[1])
			line(img, x0, y0, x1, y1, c)
		}
	}
	for _, p := range st.Points {
		x, y := toPx(p[0], p[1])
		dot(img, int(x), int(y), 4, color.RGBA{255, 255, 255, 255})
		dot(img, int(x), int(y), 3, color.RGBA{20, 20, 20, 255})
	}
	if st.Mark != nil {
		x, y := toPx(st.Mark[0], st.Mark[1])
		dot(img, int(x), int(y), 7, color.RGBA{255, 255, 255, 255})
		dot(img, int(x), int(y), 5, color.RGBA{220, 20, 60, 255})
	}
	outline(img, floor, color.RGBA{90, 90, 90, 255})
	DrawText(img, margin, 7, st.Title, color.RGBA{20, 20, 20, 255}, 2)
	legend(img, image.Rect(margin+fw+margin, titleH, W-margin, H-margin), st, lo, hi)
	return img
}

// bilinear interpolates between cell centres (NaN cells are holes).
func (g *Grid) bilinear(x, y float64) float64 {
	fx := (x-g.X0)/g.Cell - 0.5
	fy := (y-g.Y0)/g.Cell - 0.5
	i0, j0 := int(math.Floor(fx)), int(math.Floor(fy))
	tx, ty := fx-float64(i0), fy-float64(j0)
	at := func(i, j int) float64 {
		i = min(max(i, 0), g.NX-1)
		j = min(max(j, 0), g.NY-1)
		return g.V[j*g.NX+i]
	}
	v00, v10, v01, v11 := at(i0, j0), at(i0+1, j0), at(i0, j0+1), at(i0+1, j0+1)
	return (v00*(1-tx)+v10*tx)*(1-ty) + (v01*(1-tx)+v11*tx)*ty
}

func legend(img *image.RGBA, r image.Rectangle, st Style, lo, hi float64) {
	label := st.Label
	if label == nil {
		label = func(v float64) string { return fmt.Sprintf("%.3g", v) }
	}
	bar := image.Rect(r.Min.X, r.Min.Y+8, r.Min.X+22, r.Max.Y-8)
	if bar.Dy() > 320 {
		bar.Max.Y = bar.Min.Y + 320
	}
	hgt := bar.Dy()
	for py := bar.Min.Y; py < bar.Max.Y; py++ {
		f := float64(bar.Max.Y-1-py) / float64(max(hgt-1, 1))
		c := st.Map.At(f)
		for px := bar.Min.X; px < bar.Max.X; px++ {
			img.SetRGBA(px, py, c)
		}
	}
	outline(img, bar, color.RGBA{60, 60, 60, 255})
	for k := 0; k <= 4; k++ {
		f := float64(k) / 4 // position on the bar
		v := lo + f*(hi-lo)
		if st.Sqrt {
			v = lo + f*f*(hi-lo)
		}
		py := bar.Max.Y - 1 - int(math.Round(f*float64(hgt-1)))
		for px := bar.Max.X; px < bar.Max.X+4; px++ {
			img.SetRGBA(px, py, color.RGBA{40, 40, 40, 255})
		}
		DrawText(img, bar.Max.X+6, py-7, label(v), color.RGBA{20, 20, 20, 255}, 2)
	}
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func outline(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for x := r.Min.X; x < r.Max.X; x++ {
		img.SetRGBA(x, r.Min.Y, c)
		img.SetRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		img.SetRGBA(r.Min.X, y, c)
		img.SetRGBA(r.Max.X-1, y, c)
	}
}

func blend(img *image.RGBA, x, y int, c color.RGBA, a float64) {
	i := img.PixOffset(x, y)
	p := img.Pix[i : i+4 : i+4]
	b := 1 - a
	p[0] = uint8(float64(p[0])*b + float64(c.R)*a + 0.5)
	p[1] = uint8(float64(p[1])*b + float64(c.G)*a + 0.5)
	p[2] = uint8(float64(p[2])*b + float64(c.B)*a + 0.5)
	p[3] = 255
}

func dot(img *image.RGBA, cx, cy, r int, c color.RGBA) {
	for y := cy - r; y <= cy+r; y++ {
		for x := cx - r; x <= cx+r; x++ {
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r && (image.Point{x, y}).In(img.Rect) {
				img.SetRGBA(x, y, c)
			}
		}
	}
}

func line(img *image.RGBA, x0, y0, x1, y1 float64, c color.RGBA) {
	n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
	for k := 0; k <= n; k++ {
		t := float64(k) / float64(n)
		x, y := int(x0+t*(x1-x0)), int(y0+t*(y1-y0))
		if (image.Point{x, y}).In(img.Rect) {
			img.SetRGBA(x, y, c)
		}
	}
}

// drawPlan draws the plan image, whose corners lie at pb in site
// coordinates, into the floor rectangle covering site bounds b at s px/m
// (nearest neighbour).
func drawPlan(img *image.RGBA, floor image.Rectangle, plan image.Image, pb, b wire.Rect, s float64) {
	pr := plan.Bounds()
	pw, ph := pb[1][0]-pb[0][0], pb[1][1]-pb[0][1]
	if pw <= 0 || ph <= 0 || pr.Dx() == 0 || pr.Dy() == 0 {
		return
	}
	for py := floor.Min.Y; py < floor.Max.Y; py++ {
		y := b[0][1] + (float64(floor.Max.Y-py)-0.5)/s
		v := (pb[1][1] - y) / ph // 0 at the plan's top
		if v < 0 || v >= 1 {
			continue
		}
		sy := pr.Min.Y + int(v*float64(pr.Dy()))
		for px := floor.Min.X; px < floor.Max.X; px++ {
			x := b[0][0] + (float64(px-floor.Min.X)+0.5)/s
			u := (x - pb[0][0]) / pw
			if u < 0 || u >= 1 {
				continue
			}
			c := color.RGBAModel.Convert(plan.At(pr.Min.X+int(u*float64(pr.Dx())), sy)).(color.RGBA)
			if c.A == 0 {
				continue
			}
			blend(img, px, py, color.RGBA{c.R, c.G, c.B, 255}, float64(c.A)/255)
		}
	}
}

// WritePNG encodes img as PNG.
func WritePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("heatmap: png: %w", err)
	}
	return nil
}

// DurationLabel formats seconds for a legend: "45s", "12min", "3.5h".
func DurationLabel(v float64) string {
	switch {
	case v < 90:
		return fmt.Sprintf("%.0fs", v)
	case v < 90*60:
		return fmt.Sprintf("%.0fmin", v/60)
	default:
		return fmt.Sprintf("%.1fh", v/3600)
	}
}

// SiteStyle is the style of an occupancy heatmap of site: its zones and
// sensors drawn on top, the floor plan (when given) under it at the site's
// plan bounds, a square-root scale and a legend in seconds, minutes or
// hours.
func SiteStyle(site *wire.Site, plan image.Image) Style {
	st := Style{Map: Viridis, Fade: true, Sqrt: true, Label: DurationLabel, Zones: site.Zones,
		Title: "time spent: " + site.Site}
	if site.Name != "" {
		st.Title = "time spent: " + site.Name
	}
	if plan != nil && site.Plan != nil {
		st.Plan, st.PlanBounds = plan, site.Plan.Bounds
	}
	for _, s := range site.Sensors {
		st.Points = append(st.Points, wire.Point{s.X, s.Y})
	}
	return st
}
