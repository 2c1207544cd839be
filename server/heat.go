package server

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// heat keeps a site's occupancy as hourly tiles at the default cell size:
// the live pipeline's fixes go straight in; hours from before the server
// started are built once from the stored positions and kept. A month's
// heatmap is then the sum of 720 small grids. The tiles are the site's
// clock hours (heatmap.LocalPeriod): in India or Nepal they start at 30 or
// 15 minutes past the UTC hour, so that hours 10 to 14 are 10:00–14:00
// there and a local day is a sum of whole tiles.
//
// The heatmap shows people, not staff: the staff's occupancy is kept apart
// and taken out. A track is staff by its day's classification (the
// contract's: seen for longer than staff_min_dwell_s that day, or a piece
// of a staff chain), which is known only hours into the day; so the live
// fixes' spans are logged by track (heatmap.Log) until their day is over,
// then the staff's move into their own tiles and the log forgets the day.
// For the day under way, a query takes out the spans of the tracks that
// are staff so far, and of those known as staff from earlier days.
type heat struct {
	tiles *heatmap.Tiles // everyone's occupancy
	// staff is the staff's occupancy: of the live days the log moved out
	// (bake), and of the hours built from storage.
	staff    *heatmap.Tiles
	log      *heatmap.Log // the live spans of the days not yet baked
	builder  *heatmap.Builder
	liveFrom int64 // first hour the live builder saw from its start
	// fromStore: hours built from storage that are final (their day is
	// over, so its classification too).
	fromStore map[int64]bool
	// known are the tracks known as staff from the days before knownDay
	// (refreshKnownStaff): staff on knownDay from its first fix.
	known    map[string]bool
	knownDay string
}

const defaultCell = 0.5

func newHeat(site *wire.Site) *heat {
	t := siteTiles(site, defaultCell)
	h := &heat{tiles: t, staff: heatmap.NewPeriodTiles(site.Bounds, defaultCell, t.Period()), log: heatmap.NewLog(),
		builder: heatmap.NewBuilder(t), liveFrom: -1, fromStore: map[int64]bool{}}
	h.builder.Log = h.log
	return h
}

// siteTiles returns empty tiles of the site's clock hours with cells of
// cell metres.
func siteTiles(site *wire.Site, cell float64) *heatmap.Tiles {
	return heatmap.NewLocalTiles(site.Bounds, cell, site.Location())
}

func (h *heat) add(p *wire.Position) {
	if h.liveFrom < 0 {
		h.liveFrom = h.tiles.Start(p.T) + h.tiles.Period().Len
	}
	h.builder.Add(p)
}

// forget drops the tiles of the hours before cut, everyone's and the
// staff's, live or built from storage: the runner keeps hours no longer
// than the stored fixes they can be built again from (Config.RetainAll),
// so its memory does not grow with its uptime. An hour forgotten counts as
// one from before the live builder's start: a query builds it from
// storage again (loadHeat), as after a restart.
func (h *heat) forget(cut int64) {
	cut = h.tiles.Start(cut)
	h.tiles.DropBefore(cut)
	h.staff.DropBefore(cut)
	for hr := range h.fromStore {
		if hr < cut {
			delete(h.fromStore, hr)
		}
	}
	if h.liveFrom >= 0 {
		h.liveFrom = max(h.liveFrom, cut)
	}
}

// live reports whether the live tiles hold the hour of t (hours before are
// built from storage, the staff's with them).
func (h *heat) live(t int64) bool { return h.liveFrom >= 0 && h.tiles.Start(t) >= h.liveFrom }

// bake moves the logged spans of the days that are over, by event time now
// (and the builder's Cap, within which it may still count a fix of the
// day), into the staff's tiles when the day's final classification makes
// their track staff (the counter's summaries), and forgets them. It runs
// under the runner's lock, from Advance: once a day, a classification of
// the counter's summaries and the spreading of the staff's spans.
func (h *heat) bake(now int64, site *wire.Site, c *footfall.Counter) {
	if h.log.Len() == 0 {
		return
	}
	loc := site.Location()
	cut := dayStart(now-h.builder.Cap, loc)
	if h.log.First() >= cut {
		return
	}
	st := footfall.NewStaffOn(loc, footfall.StaffDays(site, c.TrackDays(), c.Visits()), nil, "")
	h.log.Move(h.staff, cut, func(track string, t int64) bool { return h.live(t) && st.Is(track, t) })
}

// takeStaff takes the staff's occupancy of the hours of [from, to) that
// keep keeps from g (everyone's): the days baked and the hours built from
// storage by their tiles; the days under way by the log's spans of the
// tracks that are staff so far (the counter's summaries) or known as staff
// from the days before. It runs under the runner's lock.
func (h *heat) takeStaff(g *heatmap.Grid, site *wire.Site, c *footfall.Counter, from, to int64, keep func(int64) bool) {
	g.Sub(sumTiles(h.staff, from, to, keep))
	if h.log.Len() == 0 || h.log.First() >= to {
		return
	}
	st := footfall.NewStaffOn(site.Location(), footfall.StaffDays(site, c.TrackDays(), c.Visits()), h.known, h.knownDay)
	open := heatmap.NewPeriodTiles(site.Bounds, defaultCell, h.tiles.Period())
	lo := h.tiles.Start(from) - h.builder.Cap
	h.log.Sum(open, func(track string, t int64) bool { return t >= lo && t < to && h.live(t) && st.Is(track, t) })
	g.Sub(sumTiles(open, from, to, keep))
}

// dayStart returns the start of the local day holding t.
func dayStart(t int64, loc *time.Location) int64 {
	y, m, d := time.UnixMilli(t).In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMilli()
}

// dayEnd returns the end of the local day holding t.
func dayEnd(t int64, loc *time.Location) int64 {
	y, m, d := time.UnixMilli(t).In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc).UnixMilli()
}

// Heatmap implements web.Backend.
func (s *Server) Heatmap(ctx context.Context, q web.HeatmapQuery) (*web.Heatmap, error) {
	site, g, err := s.heatGrid(ctx, q)
	if err != nil {
		return nil, err
	}
	return &web.Heatmap{Site: site.Site, From: q.From, To: q.To, Bounds: g.Bounds(), Cell: g.Cell,
		W: g.NX, H: g.NY, Values: g.V, Max: g.Max(), Staff: q.Staff}, nil
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
	if q.Staff {
		st.Title += "  (staff included)"
	}
	for _, se := range site.Sensors {
		st.Points = append(st.Points, wire.Point{se.X, se.Y})
	}
	if site.Plan != nil {
		if img, err := s.store.PlanImage(ctx, site.Site); err == nil {
			if pic, err := web.DecodePlan(img.Data); err == nil {
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
// or from the stored positions at any other. Unless q.Staff, the staff's
// occupancy is left out (heat).
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
		g, err := s.storedHeat(ctx, r, site, q, cell, keepHour)
		if err != nil {
			return nil, nil, err
		}
		if zone != nil {
			g.Mask(zone)
		}
		return site, g, nil
	}
	if err := r.loadHeat(ctx, s, q.From, q.To); err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	g := sumTiles(r.heat.tiles, q.From, q.To, keepHour)
	if !q.Staff {
		r.heat.takeStaff(g, r.site, r.counter, q.From, q.To, keepHour)
	}
	if zone != nil {
		g.Mask(zone)
	}
	return site, g, nil
}

// storedHeat sums the occupancy of q from the stored positions at cell,
// leaving out the staff of each day (and, on the runner's day, those known
// from the days before) unless q.Staff.
func (s *Server) storedHeat(ctx context.Context, r *siteRunner, site *wire.Site, q web.HeatmapQuery, cell float64, keepHour func(int64) bool) (*heatmap.Grid, error) {
	tiles := siteTiles(site, cell)
	b := heatmap.NewBuilder(tiles)
	if !q.Staff {
		st, err := s.staffOn(ctx, r, site, q.From, q.To)
		if err != nil {
			return nil, err
		}
		b.Keep = func(p *wire.Position) bool { return !st.Is(p.Track, p.T) }
	}
	ps, err := s.store.Positions(ctx, q.Site, q.From, q.To)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		b.Add(&ps[i])
	}
	b.Flush()
	return sumTiles(tiles, q.From, q.To, keepHour), nil
}

// staffOn returns who was staff in [from, to): each local day's
// classification by the summaries (stored, the writer's and the runner's,
// as a report takes them) and, with a runner, the tracks it knows as staff
// from earlier days on its day.
func (s *Server) staffOn(ctx context.Context, r *siteRunner, site *wire.Site, from, to int64) (*footfall.StaffOn, error) {
	loc := site.Location()
	from, to = dayStart(from, loc), dayEnd(to-1, loc)
	if r == nil {
		days, visits, err := s.summaries(ctx, site.Site, from, to)
		if err != nil {
			return nil, err
		}
		return footfall.NewStaffOn(loc, footfall.StaffDays(site, days, visits), nil, ""), nil
	}
	days, err := r.earlierStaff(ctx, site, from, to)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	known, knownDay := r.heat.known, r.heat.knownDay
	r.mu.Unlock()
	return footfall.NewStaffOn(loc, days, known, knownDay), nil
}

// sumTiles sums the tiles of the hours in [Start(from), to) that keep
// keeps.
func sumTiles(t *heatmap.Tiles, from, to int64, keep func(int64) bool) *heatmap.Grid {
	return t.Sum(heatmap.Query{From: t.Start(from), To: to, Hour: keep})
}

// loadHeat builds the tiles of the hours in [from, to) before the live
// builder's first full hour from the stored positions: everyone's, and the
// staff's by the classification of their day; once when that day is over,
// at every query before.
func (r *siteRunner) loadHeat(ctx context.Context, s *Server, from, to int64) error {
	r.mu.Lock()
	liveFrom, now, site, period := r.heat.liveFrom, r.now, r.site, r.heat.tiles.Period()
	var todo []int64
	for h := period.Start(from); h < to; h += period.Len {
		if (liveFrom < 0 || h < liveFrom) && !r.heat.fromStore[h] {
			todo = append(todo, h)
		}
	}
	r.mu.Unlock()
	if liveFrom < 0 {
		liveFrom = period.Start(time.Now().UnixMilli()) + period.Len
	}
	if now == 0 {
		now = time.Now().UnixMilli()
	}
	todo = slices.DeleteFunc(todo, func(h int64) bool { return h >= liveFrom })
	if len(todo) == 0 {
		return nil
	}
	st, err := s.staffOn(ctx, r, site, todo[0], todo[len(todo)-1]+period.Len)
	if err != nil {
		return err
	}
	loc := site.Location()
	for _, h := range todo {
		ps, err := s.store.Positions(ctx, r.id, h, h+period.Len)
		if err != nil {
			return err
		}
		tiles := heatmap.NewPeriodTiles(site.Bounds, defaultCell, period)
		staff := heatmap.NewPeriodTiles(site.Bounds, defaultCell, period)
		b, bs := heatmap.NewBuilder(tiles), heatmap.NewBuilder(staff)
		bs.Keep = func(p *wire.Position) bool { return st.Is(p.Track, p.T) }
		for i := range ps {
			b.Add(&ps[i])
			bs.Add(&ps[i])
		}
		b.Flush()
		bs.Flush()
		r.mu.Lock()
		if r.site == site {
			if g := tiles.Tile(h); g != nil {
				r.heat.tiles.Put(h, g)
			}
			g := staff.Tile(h)
			if g == nil {
				g = staff.Grid()
			}
			r.heat.staff.Put(h, g)
			// Final once the hour's day is over: its classification is.
			r.heat.fromStore[h] = dayStart(now, loc) >= h+period.Len
		}
		r.mu.Unlock()
	}
	return nil
}
