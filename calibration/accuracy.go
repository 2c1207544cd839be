package calibration

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"sort"

	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// AccuracyOptions tune the predicted accuracy map.
type AccuracyOptions struct {
	Cell float64 // metres (default 0.5)
	// SigmaDB is the noise of one burst's reading at one sensor (default:
	// the model's, √(SigmaDB² + FrameSigmaDB²/3): three frames a burst).
	SigmaDB float64
	// Sensitivity is the weakest reading a sensor hears, dBm (default
	// -90): a sensor the model puts below it does not count at a point.
	Sensitivity float64
	// Cap is the largest bound reported, metres (default 15): where fewer
	// than two sensors hear a phone, no fix is possible.
	Cap float64
}

func (o AccuracyOptions) withDefaults(m *locate.Model) AccuracyOptions {
	if o.Cell <= 0 {
		o.Cell = heatmap.DefaultCell
	}
	if o.SigmaDB <= 0 {
		o.SigmaDB = math.Sqrt(m.SigmaDB*m.SigmaDB + m.FrameSigmaDB*m.FrameSigmaDB/3)
		if o.SigmaDB == 0 {
			o.SigmaDB = 4.5
		}
	}
	if o.Sensitivity == 0 {
		o.Sensitivity = -90
	}
	if o.Cap <= 0 {
		o.Cap = 15
	}
	return o
}

// ZoneAccuracy summarises the bound over a zone's cells, metres.
type ZoneAccuracy struct {
	Zone string  `json:"zone"`
	Kind string  `json:"kind"`
	Mean float64 `json:"mean_m"`
	P90  float64 `json:"p90_m"`
	Max  float64 `json:"max_m"`
}

// AccuracyMap is the predicted accuracy of a sensor layout: at each cell
// the Cramér–Rao lower bound on the 1-sigma per-axis error of a fix
// (locate.CRLB), using the sensors that would hear a phone there.
type AccuracyMap struct {
	Grid    *heatmap.Grid
	SigmaDB float64
	Zones   []ZoneAccuracy
	// Worst is the zone (store or area) with the largest mean bound.
	Worst string
	site  *wire.Site
	opt   AccuracyOptions
}

// Accuracy computes the predicted accuracy map of site with its current
// radio values.
func Accuracy(site *wire.Site, opt AccuracyOptions) (*AccuracyMap, error) {
	m, err := locate.NewModel(site)
	if err != nil {
		return nil, fmt.Errorf("calibration: accuracy: %w", err)
	}
	opt = opt.withDefaults(m)
	am := &AccuracyMap{SigmaDB: opt.SigmaDB, site: site, opt: opt}
	am.Grid = boundGrid(m, site.Bounds, opt)
	am.Zones, am.Worst = zoneStats(am.Grid, site.Zones)
	return am, nil
}

// boundGrid evaluates the bound at every cell centre.
func boundGrid(m *locate.Model, bounds wire.Rect, opt AccuracyOptions) *heatmap.Grid {
	g := heatmap.NewGrid(bounds, opt.Cell)
	heard := &locate.Model{PhoneZ: m.PhoneZ, Bounds: m.Bounds, Site: m.Site, SigmaDB: m.SigmaDB,
		FrameSigmaDB: m.FrameSigmaDB, TxSigmaDB: m.TxSigmaDB, Sensors: make([]locate.Sensor, 0, len(m.Sensors))}
	for j := 0; j < g.NY; j++ {
		for i := 0; i < g.NX; i++ {
			x, y := g.Center(i, j)
			heard.Sensors = heard.Sensors[:0]
			for k := range m.Sensors {
				if m.Expected(k, x, y) >= opt.Sensitivity {
					heard.Sensors = append(heard.Sensors, m.Sensors[k])
				}
			}
			v := opt.Cap
			if len(heard.Sensors) >= 2 {
				v = math.Min(locate.CRLB(heard, x, y, opt.SigmaDB), opt.Cap)
			}
			g.V[j*g.NX+i] = v
		}
	}
	return g
}

// zoneStats summarises g over each zone; worst is the store or area zone
// with the largest mean.
func zoneStats(g *heatmap.Grid, zones []wire.Zone) ([]ZoneAccuracy, string) {
	var out []ZoneAccuracy
	worst, wv := "", -1.0
	for _, z := range zones {
		var vs []float64
		for j := 0; j < g.NY; j++ {
			for i := 0; i < g.NX; i++ {
				x, y := g.Center(i, j)
				if heatmap.Inside(wire.Point{x, y}, z.Polygon) {
					vs = append(vs, g.V[j*g.NX+i])
				}
			}
		}
		if len(vs) == 0 {
			continue
		}
		sort.Float64s(vs)
		var s float64
		for _, v := range vs {
			s += v
		}
		za := ZoneAccuracy{Zone: z.ID, Kind: z.Kind, Mean: round(s/float64(len(vs)), 2),
			P90: round(vs[int(math.Ceil(0.9*float64(len(vs))))-1], 2), Max: round(vs[len(vs)-1], 2)}
		out = append(out, za)
		if z.Kind != wire.ZoneOutside && za.Mean > wv {
			worst, wv = z.ID, za.Mean
		}
	}
	return out, worst
}

// At returns the bound at (x, y), metres.
func (a *AccuracyMap) At(x, y float64) float64 { return a.Grid.At(x, y) }

// Suggestion is where one more sensor helps most.
type Suggestion struct {
	X, Y, Z float64
	// Zone is the zone whose mean bound the suggestion minimises (the worst
	// store or area zone after adding it), with its mean before and after.
	Zone          string  `json:"zone"`
	Before, After float64 `json:"-"`
	// Zones are every zone's figures with the extra sensor.
	Zones []ZoneAccuracy `json:"zones"`
}

// Suggest searches positions on the site's bounds and on its zones' edges
// (walls), every metre, for the one extra sensor (at the other sensors'
// median height, with the site's default radio values) that minimises the
// largest mean bound over the store and area zones (over the whole bounds
// when there are none). It evaluates candidates on a 1 m grid.
func (a *AccuracyMap) Suggest() (*Suggestion, error) {
	site := a.site
	var cands []wire.Point
	addEdge := func(p, q wire.Point) {
		n := max(1, int(math.Ceil(math.Hypot(q[0]-p[0], q[1]-p[1]))))
		for k := 0; k < n; k++ {
			t := float64(k) / float64(n)
			cands = append(cands, wire.Point{p[0] + t*(q[0]-p[0]), p[1] + t*(q[1]-p[1])})
		}
	}
	b := site.Bounds
	corners := []wire.Point{b[0], {b[1][0], b[0][1]}, b[1], {b[0][0], b[1][1]}}
	for i := range corners {
		addEdge(corners[i], corners[(i+1)%4])
	}
	zones := site.Zones
	if len(zones) == 0 {
		zones = []wire.Zone{{ID: "floor", Kind: wire.ZoneArea, Polygon: corners}}
	}
	for _, z := range zones {
		for i := range z.Polygon {
			addEdge(z.Polygon[i], z.Polygon[(i+1)%len(z.Polygon)])
		}
	}
	var zs []float64
	for _, s := range site.Sensors {
		zs = append(zs, s.Z)
	}
	z := median(zs)
	coarse := a.opt
	coarse.Cell = math.Max(1, a.opt.Cell)
	score := func(s *wire.Site) (float64, []ZoneAccuracy, string) {
		m, err := locate.NewModel(s)
		if err != nil {
			return math.Inf(1), nil, ""
		}
		g := boundGrid(m, site.Bounds, coarse)
		st, worst := zoneStats(g, zones)
		for _, x := range st {
			if x.Zone == worst {
				return x.Mean, st, worst
			}
		}
		return math.Inf(1), st, worst
	}
	before, _, worstBefore := score(site)
	best := &Suggestion{Before: before, After: math.Inf(1)}
	seen := map[[2]int]bool{}
	for _, c := range cands {
		key := [2]int{int(math.Round(c[0] * 10)), int(math.Round(c[1] * 10))}
		if seen[key] {
			continue
		}
		seen[key] = true
		near := false
		for _, s := range site.Sensors {
			if math.Hypot(s.X-c[0], s.Y-c[1]) < 1 {
				near = true
			}
		}
		if near {
			continue
		}
		trial := cloneSite(site)
		trial.Sensors = append(trial.Sensors, wire.Sensor{ID: "suggested", X: c[0], Y: c[1], Z: z})
		v, st, _ := score(trial)
		if v < best.After-1e-9 {
			best.X, best.Y, best.Z, best.After, best.Zones = c[0], c[1], z, v, st
		}
	}
	if math.IsInf(best.After, 1) {
		return nil, fmt.Errorf("calibration: no candidate position for another sensor")
	}
	best.Zone = worstBefore
	return best, nil
}

// AppendJSON appends the map as JSON: the grid (heatmap.Grid's form, unit
// "m"), the noise assumed, the zones' figures, the worst zone and, when
// given, the suggestion.
func (a *AccuracyMap) AppendJSON(dst []byte, sug *Suggestion) []byte {
	meta := struct {
		SigmaDB    float64        `json:"sigma_db"`
		Zones      []ZoneAccuracy `json:"zones"`
		Worst      string         `json:"worst"`
		Suggestion any            `json:"suggestion,omitempty"`
	}{SigmaDB: round(a.SigmaDB, 2), Zones: a.Zones, Worst: a.Worst}
	if sug != nil {
		meta.Suggestion = map[string]any{"x": round(sug.X, 2), "y": round(sug.Y, 2), "z": sug.Z, "zone": sug.Zone,
			"before_m": round(sug.Before, 2), "after_m": round(sug.After, 2), "zones": sug.Zones}
	}
	mj, _ := json.Marshal(meta)
	dst = append(dst, `{"grid":`...)
	dst = a.Grid.AppendJSON(dst, "m", 2)
	dst = append(dst, ',')
	return append(dst, mj[1:]...)
}

// Image draws the map with the sensors and, when given, the suggestion.
func (a *AccuracyMap) Image(sug *Suggestion, plan image.Image) image.Image {
	st := heatmap.Style{Map: heatmap.Viridis.Reversed(), Min: 0, Max: math.Min(5, a.opt.Cap), Opacity: 0.8,
		Title: fmt.Sprintf("expected error (1 sigma per axis, %.1f dB)", a.SigmaDB),
		Label: func(v float64) string { return fmt.Sprintf("±%.1f m", v) }, Zones: a.site.Zones}
	if plan != nil && a.site.Plan != nil {
		st.Plan, st.PlanBounds = plan, a.site.Plan.Bounds
	}
	for _, s := range a.site.Sensors {
		st.Points = append(st.Points, wire.Point{s.X, s.Y})
	}
	if sug != nil {
		st.Mark = &wire.Point{sug.X, sug.Y}
		st.Title = fmt.Sprintf("+ sensor at (%.0f, %.0f): %s ±%.1f -> ±%.1f m", sug.X, sug.Y, sug.Zone, sug.Before, sug.After)
	}
	return heatmap.Render(a.Grid, st)
}
