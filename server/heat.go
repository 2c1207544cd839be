package server

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/jpeg" // floor plans
	_ "image/png"
	"time"

	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// heat keeps a site's occupancy as hourly tiles at the default cell size:
// the live pipeline's fixes go straight in; hours from before the server
// started are built once from the stored positions and kept. A month's
// heatmap is then the sum of 720 small grids.
type heat struct {
	tiles     *heatmap.Tiles
	builder   *heatmap.Builder
	liveFrom  int64          // first hour the live builder saw from its start
	fromStore map[int64]bool // hours built from storage
}

const defaultCell = 0.5

func newHeat(site *wire.Site) *heat {
	t := heatmap.NewTiles(site.Bounds, defaultCell)
	return &heat{tiles: t, builder: heatmap.NewBuilder(t), liveFrom: -1, fromStore: map[int64]bool{}}
}

func (h *heat) add(p *wire.Position) {
	if h.liveFrom < 0 {
		h.liveFrom = heatmap.HourOf(p.T) + heatmap.Hour
	}
	h.builder.Add(p)
}

// Heatmap implements web.Backend.
func (s *Server) Heatmap(ctx context.Context, q web.HeatmapQuery) (*web.Heatmap, error) {
	site, g, err := s.heatGrid(ctx, q)
	if err != nil {
		return nil, err
	}
	return &web.Heatmap{Site: site.Site, From: q.From, To: q.To, Bounds: g.Bounds(), Cell: g.Cell,
		W: g.NX, H: g.NY, Values: g.V, Max: g.Max()}, nil
}

// HeatmapPNG implements web.Backend.
func (s *Server) HeatmapPNG(ctx context.Context, q web.HeatmapQuery) ([]byte, error) {
	site, g, err := s.heatGrid(ctx, q)
	if err != nil {
		return nil, err
	}
	st := heatmap.Style{Sqrt: true, Fade: true, Zones: site.Zones,
		Title: fmt.Sprintf("%s  %s – %s", site.Name, fmtDay(q.From, site), fmtDay(q.To-1, site)),
		Label: func(v float64) string { return fmtDuration(v) }}
	for _, se := range site.Sensors {
		st.Points = append(st.Points, wire.Point{se.X, se.Y})
	}
	if site.Plan != nil {
		if img, err := s.store.PlanImage(ctx, site.Site); err == nil {
			if pic, _, err := image.Decode(bytes.NewReader(img.Data)); err == nil {
				st.Plan, st.PlanBounds = pic, site.Plan.Bounds
			}
		}
	}
	var buf bytes.Buffer
	if err := heatmap.WritePNG(&buf, heatmap.Render(g, st)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func fmtDay(t int64, site *wire.Site) string {
	return time.UnixMilli(t).In(site.Location()).Format("2 Jan 2006 15:04")
}

func fmtDuration(sec float64) string {
	switch {
	case sec >= 3600:
		return fmt.Sprintf("%.1f h", sec/3600)
	case sec >= 60:
		return fmt.Sprintf("%.0f min", sec/60)
	}
	return fmt.Sprintf("%.0f s", sec)
}

// heatGrid sums the occupancy of q: from the tiles at the default cell size,
// or from the stored positions at any other.
func (s *Server) heatGrid(ctx context.Context, q web.HeatmapQuery) (*wire.Site, *heatmap.Grid, error) {
	site, _, err := s.store.Site(ctx, q.Site)
	if err != nil {
		return nil, nil, notFound(err)
	}
	if q.To <= q.From {
		return nil, nil, fmt.Errorf("%w: empty time range", web.ErrInvalid)
	}
	var zone []wire.Point
	if q.Zone != "" {
		z := site.Zone(q.Zone)
		if z == nil {
			return nil, nil, fmt.Errorf("%w: no zone %q", web.ErrNotFound, q.Zone)
		}
		zone = z.Polygon
	}
	keepHour := func(h int64) bool {
		if q.HourFrom <= 0 && (q.HourTo <= 0 || q.HourTo >= 24) {
			return true
		}
		lh := time.UnixMilli(h).In(site.Location()).Hour()
		return lh >= q.HourFrom && lh < q.HourTo
	}
	cell := q.Cell
	if cell <= 0 {
		cell = defaultCell
	}
	r := s.runner(q.Site)
	if cell != defaultCell || r == nil {
		tiles := heatmap.NewTiles(site.Bounds, cell)
		b := heatmap.NewBuilder(tiles)
		ps, err := s.store.Positions(ctx, q.Site, q.From, q.To)
		if err != nil {
			return nil, nil, err
		}
		for i := range ps {
			b.Add(&ps[i])
		}
		b.Flush()
		return site, sumTiles(tiles, q.From, q.To, keepHour, zone), nil
	}
	if err := r.loadHeat(ctx, s, q.From, q.To); err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return site, sumTiles(r.heat.tiles, q.From, q.To, keepHour, zone), nil
}

func sumTiles(t *heatmap.Tiles, from, to int64, keep func(int64) bool, zone []wire.Point) *heatmap.Grid {
	g := t.Grid()
	for _, h := range t.Hours() {
		if h < heatmap.HourOf(from) || h >= to || !keep(h) {
			continue
		}
		tile := t.Tile(h)
		for i, v := range tile.V {
			g.V[i] += v
		}
	}
	if zone != nil {
		g.Mask(zone)
	}
	return g
}

// loadHeat builds the tiles of the hours in [from, to) before the live
// builder's first full hour from the stored positions, once.
func (r *siteRunner) loadHeat(ctx context.Context, s *Server, from, to int64) error {
	r.mu.Lock()
	liveFrom := r.heat.liveFrom
	r.mu.Unlock()
	if liveFrom < 0 {
		liveFrom = heatmap.HourOf(time.Now().UnixMilli()) + heatmap.Hour
	}
	for h := heatmap.HourOf(from); h < to && h < liveFrom; h += heatmap.Hour {
		r.mu.Lock()
		done := r.heat.fromStore[h]
		r.mu.Unlock()
		if done {
			continue
		}
		ps, err := s.store.Positions(ctx, r.id, h, h+heatmap.Hour)
		if err != nil {
			return err
		}
		r.mu.Lock()
		bounds := r.site.Bounds
		r.mu.Unlock()
		tiles := heatmap.NewTiles(bounds, defaultCell)
		b := heatmap.NewBuilder(tiles)
		for i := range ps {
			b.Add(&ps[i])
		}
		b.Flush()
		r.mu.Lock()
		if g := tiles.Tile(h); g != nil {
			r.heat.tiles.Put(h, g)
		}
		// Only hours that are over are final.
		r.heat.fromStore[h] = h+heatmap.Hour < time.Now().UnixMilli()
		r.mu.Unlock()
	}
	return nil
}
