package server

// The heatmap's queries: the hours of the day under way from the runner's
// live tiles, the days that are over from the stored tiles (heat.go), and
// the hours nothing stored from the stored positions.

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

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
	var g *heatmap.Grid
	if cell != defaultCell {
		g, err = s.storedHeat(ctx, r, site, q, cell, keepHour)
	} else {
		g, err = s.tileHeat(ctx, r, site, q, keepHour)
	}
	if err != nil {
		return nil, nil, err
	}
	if zone != nil {
		g.Mask(zone)
	}
	return site, g, nil
}

// heatKey names a tile: its hour and kind.
type heatKey struct {
	start int64
	staff bool
}

// tileHeat sums the default cell size's tiles of the hours of q that keep
// keeps, everyone's less (unless q.Staff) the staff's: the runner's live
// hours from its memory (the staff so far taken out), the hours before
// from the tiles it baked and has not handed on, the writer's and the
// store's, read in that order, which is the order a tile goes, so that
// none is missed on its way; the hours none of them holds from the stored
// positions (fromPositions).
func (s *Server) tileHeat(ctx context.Context, r *siteRunner, site *wire.Site, q web.HeatmapQuery, keep func(int64) bool) (*heatmap.Grid, error) {
	tiles := siteTiles(site, defaultCell)
	memFrom := int64(math.MaxInt64)
	now := time.Now().UnixMilli()
	all, staff := tiles.Grid(), tiles.Grid()
	// Tiles on their way to the store: the runner's (newer) over the
	// writer's.
	moving := map[heatKey]heatOut{}
	if r != nil {
		r.mu.Lock()
		tiles = r.heat.tiles
		all, staff = tiles.Grid(), tiles.Grid()
		memFrom = r.heat.memFrom()
		if r.now > 0 {
			now = r.now
		}
		if q.To > memFrom {
			from := max(q.From, memFrom)
			all.Add(sumTiles(tiles, from, q.To, keep))
			if !q.Staff {
				r.heat.staffSoFar(staff, r.site, r.counter, from, q.To, keep)
			}
		}
		for _, t := range r.heat.baked {
			moving[heatKey{t.Start, t.Staff}] = t
		}
		r.mu.Unlock()
	}
	period := tiles.Period()
	lo, hi := period.Start(q.From), min(q.To, memFrom)
	if lo >= hi {
		return finishHeat(all, staff, q.Staff), nil
	}
	for _, t := range s.writer.unstoredHeat(site.Site, lo, hi) {
		if _, newer := moving[heatKey{t.Start, t.Staff}]; !newer {
			moving[heatKey{t.Start, t.Staff}] = t
		}
	}
	add := func(t *store.HeatTile) error {
		if !keep(t.Start) || t.Staff && q.Staff {
			return nil
		}
		g := all
		if t.Staff {
			g = staff
		}
		return heatmap.AddTile(g, t.Data)
	}
	summed := map[heatKey]bool{}
	err := s.store.ScanHeatTiles(ctx, site.Site, lo, hi, func(t *store.HeatTile) error {
		k := heatKey{t.Start, t.Staff}
		if m, ok := moving[k]; ok && m.Replace {
			return nil // replaced by the one on its way
		}
		summed[k] = true
		return add(t)
	})
	if err != nil {
		return nil, fmt.Errorf("server: heatmap of %s: %w", site.Site, err)
	}
	for k, t := range moving {
		if k.start >= lo && k.start < hi && !summed[k] {
			summed[k] = true
			if err := add(&t.HeatTile); err != nil {
				return nil, fmt.Errorf("server: heatmap of %s: %w", site.Site, err)
			}
		}
	}
	// Hours before the fixes' retention are not built from them: they are
	// gone.
	var missing []int64
	for h := max(lo, period.Start(time.Now().Add(-s.cfg.RetainAll).UnixMilli())); h < min(hi, period.Start(now)+period.Len); h += period.Len {
		if !summed[heatKey{h, false}] && keep(h) {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		if err := s.fromPositions(ctx, r, site, missing, now, all, staff, q.Staff); err != nil {
			return nil, err
		}
	}
	return finishHeat(all, staff, q.Staff), nil
}

// finishHeat returns everyone's occupancy less the staff's (unless
// withStaff), clamped at 0.
func finishHeat(all, staff *heatmap.Grid, withStaff bool) *heatmap.Grid {
	if !withStaff {
		all.Sub(staff)
	}
	return all
}

// fromPositions builds the tiles of the hours nothing holds (from before
// the runner's start: a first start, a restart without the journal of the
// time, a re-processing of a range the passers-by retention thinned) from
// the stored positions, everyone's and the staff's by the classification
// of their day, adds them to all and staff, and stores those of the days
// that are over by now (their classification is final), keeping any that
// was stored meanwhile.
func (s *Server) fromPositions(ctx context.Context, r *siteRunner, site *wire.Site, hours []int64, now int64,
	all, staff *heatmap.Grid, withStaff bool) error {
	period := heatmap.LocalPeriod(site.Location())
	from, to := hours[0], hours[len(hours)-1]+period.Len
	// The tiles are stored only when every fix of theirs is: the runner's
	// and the writer's written first (the day of the hour before the
	// runner's first whole one may have just ended; a re-processing's
	// fixes may be on their way). A database that fails leaves them
	// unstored.
	stored := dayStart(now, site.Location()) > from
	if stored {
		if r != nil {
			r.persist(ctx)
		}
		stored = s.writer != nil && s.writer.flush(ctx) == nil
	}
	st, err := s.staffOn(ctx, r, site, from, to)
	if err != nil {
		return err
	}
	everyone := heatmap.NewPeriodTiles(site.Bounds, defaultCell, period)
	staffs := heatmap.NewPeriodTiles(site.Bounds, defaultCell, period)
	b, bs := heatmap.NewBuilder(everyone), heatmap.NewBuilder(staffs)
	bs.Keep = func(p *wire.Position) bool { return st.Is(p.Track, p.T) }
	err = s.store.ScanPositions(ctx, site.Site, from, to, func(p *wire.Position) error {
		b.Add(p)
		bs.Add(p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("server: heatmap of %s from the stored positions: %w", site.Site, err)
	}
	b.Flush()
	bs.Flush()
	final := dayStart(now, site.Location())
	if !stored {
		final = math.MinInt64 // some fixes may not have reached the store
	}
	var out []store.HeatTile
	for _, h := range hours {
		for _, t := range []*heatmap.Tiles{everyone, staffs} {
			data := t.AppendTile(nil, h, "")
			g := all
			if t == staffs {
				g = staff
			}
			if t == everyone || !withStaff {
				if err := heatmap.AddTile(g, data); err != nil {
					return err
				}
			}
			if h+period.Len <= final {
				out = append(out, store.HeatTile{Start: h, Staff: t == staffs, Data: data})
			}
		}
	}
	if len(out) > 0 {
		if err := s.store.WriteHeatTiles(ctx, site.Site, out, false); err != nil {
			s.log.Warn("heatmap: the tiles built from the stored positions are not stored; built again at the next query",
				"site", site.Site, "err", err)
		}
	}
	return nil
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
