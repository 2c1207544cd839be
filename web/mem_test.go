package web

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/png"
	"slices"
	"sync"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/wire"
)

// memBackend is an in-memory Backend for the web package's own tests: a
// stand-in until the server's real backend is wired (the end-to-end proof
// through the broker is the server's integration test).
type memBackend struct {
	Feed

	mu          sync.Mutex
	ready       bool
	unhealthy   error
	versions    map[string][]*wire.Site
	meta        map[string][]SiteVersion
	plans       map[string]PlanImage
	sensors     map[string][]SensorHealth
	tracks      map[string]map[string]wire.Position // site -> track -> latest
	occ         map[string]map[string]int
	reports     map[string]*wire.Report
	hours       map[string][]wire.Hour // stored hours, oldest first
	tx          map[string][]footfall.Transaction
	reproc      [][2]int64
	forgot      []wire.Dev
	reprocessed Reprocessed
	heatQ       []HeatmapQuery
	now         func() int64
	since       int64            // synthetic reports count nobody before it (the sensors' installation)
	sinceSite   map[string]int64 // the same for one site
}

func newMemBackend() *memBackend {
	return &memBackend{
		ready: true, versions: map[string][]*wire.Site{}, meta: map[string][]SiteVersion{},
		plans: map[string]PlanImage{}, sensors: map[string][]SensorHealth{},
		tracks: map[string]map[string]wire.Position{}, occ: map[string]map[string]int{},
		reports: map[string]*wire.Report{}, hours: map[string][]wire.Hour{}, tx: map[string][]footfall.Transaction{},
		now: func() int64 { return time.Now().UnixMilli() },
	}
}

func (m *memBackend) Ready() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ready
}

func (m *memBackend) Unhealthy() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.unhealthy
}

func (m *memBackend) Sites(ctx context.Context) ([]*wire.Site, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*wire.Site
	for _, vs := range m.versions {
		out = append(out, vs[len(vs)-1])
	}
	slices.SortFunc(out, func(a, b *wire.Site) int { return cmpStr(a.Site, b.Site) })
	return out, nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (m *memBackend) Site(ctx context.Context, site string) (*wire.Site, SiteVersion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.versions[site]
	if len(vs) == 0 {
		return nil, SiteVersion{}, fmt.Errorf("site %q: %w", site, ErrNotFound)
	}
	return vs[len(vs)-1], m.meta[site][len(vs)-1], nil
}

func (m *memBackend) put(s *wire.Site, source, note string) SiteVersion {
	m.versions[s.Site] = append(m.versions[s.Site], s)
	v := SiteVersion{Site: s.Site, Version: len(m.versions[s.Site]), Source: source, Note: note, Created: m.now()}
	m.meta[s.Site] = append(m.meta[s.Site], v)
	{
		var hs []SensorHealth
		for i, se := range s.Sensors {
			hs = append(hs, SensorHealth{ID: se.ID, X: se.X, Y: se.Y, Known: true, State: "online",
				Online: i%4 != 3, LastSeen: m.now(), Rate: 12.5 + float64(i), Batches: 100, Observations: 1000,
				ClockOffsetMs: float64(i*7 - 3), Clock: "ok", Version: "0.1.0"})
		}
		m.sensors[s.Site] = hs
	}
	return v
}

// PutSite stores the version and, like the pipeline, recounts the zone
// occupancy of the live tracks under the new zones.
func (m *memBackend) PutSite(ctx context.Context, s *wire.Site, note string) (SiteVersion, error) {
	m.mu.Lock()
	v := m.put(s, "api", note)
	occ := map[string]int{}
	for _, p := range m.tracks[s.Site] {
		for _, z := range s.Zones {
			if inPolygon(z.Polygon, p.X, p.Y) {
				occ[z.ID]++
			}
		}
	}
	m.mu.Unlock()
	m.setOccupancy(s.Site, occ)
	return v, nil
}

func inPolygon(poly []wire.Point, x, y float64) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a[1] > y) != (b[1] > y) && x < (b[0]-a[0])*(y-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

func (m *memBackend) RevertSite(ctx context.Context, site string, version int, note string) (SiteVersion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.versions[site]
	if version < 1 || version > len(vs) {
		return SiteVersion{}, fmt.Errorf("site %s version %d: %w", site, version, ErrNotFound)
	}
	return m.put(vs[version-1], "revert", note), nil
}

func (m *memBackend) SiteVersions(ctx context.Context, site string) ([]SiteVersion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.meta[site]) == 0 {
		return nil, fmt.Errorf("site %q: %w", site, ErrNotFound)
	}
	out := slices.Clone(m.meta[site])
	slices.Reverse(out)
	return out, nil
}

func (m *memBackend) SiteVersion(ctx context.Context, site string, version int) (*wire.Site, SiteVersion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.versions[site]
	if version < 1 || version > len(vs) {
		return nil, SiteVersion{}, fmt.Errorf("site %s version %d: %w", site, version, ErrNotFound)
	}
	return vs[version-1], m.meta[site][version-1], nil
}

func (m *memBackend) PutPlan(ctx context.Context, site string, img PlanImage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.plans[site] = img
	return nil
}

func (m *memBackend) Plan(ctx context.Context, site string) (PlanImage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.plans[site]
	if !ok {
		return PlanImage{}, fmt.Errorf("plan of %s: %w", site, ErrNotFound)
	}
	return p, nil
}

func (m *memBackend) Sensors(ctx context.Context, site string) ([]SensorHealth, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sensors[site]), nil
}

func (m *memBackend) Live(ctx context.Context, site string) (*Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.versions[site]) == 0 {
		return nil, fmt.Errorf("site %q: %w", site, ErrNotFound)
	}
	s := &Snapshot{Site: site, Occupancy: map[string]int{}}
	for _, p := range m.tracks[site] {
		s.Tracks = append(s.Tracks, p)
		s.T = max(s.T, p.T)
	}
	slices.SortFunc(s.Tracks, func(a, b wire.Position) int { return cmpStr(a.Track, b.Track) })
	for k, v := range m.occ[site] {
		s.Occupancy[k] = v
	}
	return s, nil
}

// publish records a fix as the pipeline would and publishes it.
func (m *memBackend) publish(site string, p wire.Position) {
	m.mu.Lock()
	if m.tracks[site] == nil {
		m.tracks[site] = map[string]wire.Position{}
	}
	m.tracks[site][p.Track] = p
	m.mu.Unlock()
	m.Publish(site, Event{Position: &p})
}

func (m *memBackend) setOccupancy(site string, occ map[string]int) {
	m.mu.Lock()
	m.occ[site] = occ
	m.mu.Unlock()
	m.Publish(site, Event{Occupancy: occ})
}

func (m *memBackend) gone(site, track string) {
	m.mu.Lock()
	delete(m.tracks[site], track)
	m.mu.Unlock()
	m.Publish(site, Event{Gone: track})
}

func (m *memBackend) Report(ctx context.Context, site string, from, to int64) (*wire.Report, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.versions[site]) == 0 {
		return nil, fmt.Errorf("site %q: %w", site, ErrNotFound)
	}
	if r, ok := m.reports[site]; ok {
		c := *r
		return &c, nil
	}
	r := syntheticReport(site, from, to)
	if to <= m.since || to <= m.sinceSite[site] {
		r.Hours, r.Totals, r.Zones, r.Paths = nil, wire.Totals{}, nil, nil
	}
	return r, nil
}

func (m *memBackend) Hours(ctx context.Context, site string, from, to int64) ([]wire.Hour, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.versions[site]) == 0 {
		return nil, fmt.Errorf("site %q: %w", site, ErrNotFound)
	}
	out := []wire.Hour{}
	for _, h := range m.hours[site] {
		if h.Start >= from && h.Start < to {
			out = append(out, h)
		}
	}
	return out, nil
}

// syntheticReport makes a plausible report with known numbers: hour i has
// 10*i passers-by and i visitors.
func syntheticReport(site string, from, to int64) *wire.Report {
	r := &wire.Report{Site: site, From: from, To: to}
	i := 0
	for t := from; t < to; t += 3600_000 {
		h := wire.Hour{Start: t, Passersby: 10 * i, Visitors: i, OccupancyMax: i / 2, OccupancyMean: float64(i) / 3, Open: i >= 9 && i < 20}
		h.CaptureRate = wire.Ratio(float64(h.Visitors), float64(h.Visitors+h.Passersby))
		d := 300.0 + float64(i)*10
		h.DwellMedianS = &d
		tx := i / 3
		h.Transactions = &tx
		h.Conversion = wire.Ratio(float64(tx), float64(h.Visitors))
		r.Hours = append(r.Hours, h)
		r.Totals.Passersby += h.Passersby
		r.Totals.Visitors += h.Visitors
		i++
	}
	r.Totals.CaptureRate = wire.Ratio(float64(r.Totals.Visitors), float64(r.Totals.Visitors+r.Totals.Passersby))
	r.Totals.New = r.Totals.Visitors * 3 / 4
	r.Totals.Returning = r.Totals.Visitors - r.Totals.New
	r.Totals.DwellBuckets = wire.DwellBuckets{LT5m: 20, M5to20: 41, M20to60: 30, H1to6: 6}
	med := 540.0
	r.Totals.DwellMedianS = &med
	r.Zones = []wire.ZoneStat{{Zone: "aisle-1", Visits: 40, DwellMedianS: &med}, {Zone: "checkout", Visits: 25}}
	r.Paths = []wire.PathStat{{From: "store", To: "aisle-1", Count: 31}, {From: "aisle-1", To: "checkout", Count: 17}, {From: "store", To: "checkout", Count: 9}}
	return r
}

func (m *memBackend) Heatmap(ctx context.Context, q HeatmapQuery) (*Heatmap, error) {
	m.mu.Lock()
	m.heatQ = append(m.heatQ, q)
	vs := m.versions[q.Site]
	m.mu.Unlock()
	if len(vs) == 0 {
		return nil, fmt.Errorf("site %q: %w", q.Site, ErrNotFound)
	}
	b := vs[len(vs)-1].Bounds
	g := heatmap.NewGrid(b, q.Cell)
	// An hour spent around (15, 10), spread 3 m.
	g.AddFix(15, 10, 3, 3600)
	return &Heatmap{Site: q.Site, From: q.From, To: q.To, Bounds: g.Bounds(), Cell: g.Cell, W: g.NX, H: g.NY, Values: g.V, Max: g.Max(), Staff: q.Staff}, nil
}

// HeatmapPNG renders as the server does.
func (m *memBackend) HeatmapPNG(ctx context.Context, q HeatmapQuery) ([]byte, error) {
	site, _, err := m.Site(ctx, q.Site)
	if err != nil {
		return nil, err
	}
	h, _ := m.Heatmap(ctx, q)
	g := heatmap.NewGrid(h.Bounds, h.Cell)
	copy(g.V, h.Values)
	var plan image.Image
	if p, err := m.Plan(ctx, q.Site); err == nil {
		plan, _, _ = image.Decode(bytes.NewReader(p.Data))
	}
	var buf bytes.Buffer
	err = heatmap.WritePNG(&buf, heatmap.Render(g, heatmap.SiteStyle(site, plan)))
	return buf.Bytes(), err
}

// tinyPNG is a valid 1x1 PNG.
var tinyPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

func (m *memBackend) ImportPOS(ctx context.Context, site string, tx []footfall.Transaction) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tx[site] = append(m.tx[site], tx...)
	return len(tx), nil
}

func (m *memBackend) Reprocess(ctx context.Context, site string, from, to int64) (Reprocessed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reproc = append(m.reproc, [2]int64{from, to})
	return m.reprocessed, nil
}

func (m *memBackend) Forget(ctx context.Context, site string, devs []wire.Dev) (Forgotten, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgot = append(m.forgot, devs...)
	return Forgotten{Devs: len(devs), Observations: int64(len(devs))}, nil
}

func (m *memBackend) Metrics() []Metric {
	return []Metric{
		{Name: "passant_observations_total", Help: "Observations accepted.", Kind: "counter", Value: 1234},
		{Name: "passant_rejected_total", Help: "Batches rejected.", Kind: "counter", Labels: map[string]string{"reason": "unknown_sensor"}, Value: 2},
		{Name: "passant_rejected_total", Help: "Batches rejected.", Kind: "counter", Labels: map[string]string{"reason": "bad_json"}, Value: 1},
	}
}

const demoSiteJSON = `{"site":"demo","name":"Demo Store","timezone":"Europe/Berlin",
 "bounds":[[-2,-8],[32,22]],
 "plan":{"image":"floor.png","bounds":[[0,0],[30,20]]},
 "open":{"mon-fri":["09:00","20:00"],"sat":["10:00","18:00"]},
 "radio":{"rssi_1m":-45,"exponent":2.5,"offset_5ghz":-6},
 "sensors":[{"id":"s1","x":1,"y":1,"z":2.5},{"id":"s2","x":29,"y":1,"z":2.5},
            {"id":"s3","x":29,"y":19,"z":2.5},{"id":"s4","x":1,"y":19,"z":2.5}],
 "zones":[{"id":"street","kind":"outside","polygon":[[-2,-8],[32,-8],[32,0],[-2,0]]},
          {"id":"store","kind":"store","polygon":[[0,0],[30,0],[30,20],[0,20]]},
          {"id":"aisle-1","kind":"area","polygon":[[2,3],[6,3],[6,18],[2,18]]},
          {"id":"checkout","kind":"area","polygon":[[22,2],[28,2],[28,6],[22,6]]}]}`

// newDemoBackend returns a backend with the demo site.
func newDemoBackend() *memBackend {
	m := newMemBackend()
	s, err := wire.ParseSite([]byte(demoSiteJSON), false)
	if err != nil {
		panic(err)
	}
	m.put(s, "file", "")
	return m
}
