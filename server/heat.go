package server

import (
	"math"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// heat keeps a site's occupancy of the days under way as hourly tiles at
// the default cell size: the live pipeline's fixes go straight in. Once a
// local day is over by event time its tiles, everyone's and the staff's,
// go to the store (bake; store.HeatTile, one row an hour and kind), and a
// heatmap of past days reads them from there (heatquery.go): the runner's
// memory and its checkpoint hold about a day of heat, however long it has
// been running. Hours from before the live builder's start that nothing
// stored are built from the stored positions at a query, and stored once
// their day is over. A month's heatmap is the sum of 720 small grids. The
// tiles are the site's clock hours (heatmap.LocalPeriod): in India or Nepal
// they start at 30 or 15 minutes past the UTC hour, so that hours 10 to 14
// are 10:00–14:00 there and a local day is a sum of whole tiles.
//
// The heatmap shows people, not staff: the staff's occupancy is kept apart
// and taken out. A track is staff by its day's classification (the
// contract's: seen for longer than staff_min_dwell_s that day, or a piece
// of a staff chain), which is known only hours into the day; so the live
// fixes' spans are logged by track (heatmap.Log) until their day is over,
// then the staff's are summed into the day's staff tiles, stored beside
// everyone's, and the log forgets the day. For the day under way, a query
// takes out the spans of the tracks that are staff so far, and of those
// known as staff from earlier days.
type heat struct {
	tiles    *heatmap.Tiles // everyone's occupancy of the days not yet baked
	log      *heatmap.Log   // the live spans of the days not yet baked
	builder  *heatmap.Builder
	liveFrom int64 // first hour the live builder saw from its start
	// bakedTo is the end of the days baked (their tiles went to the
	// store); baked their tiles, waiting for persist to hand them to the
	// writer.
	bakedTo int64
	baked   []heatOut
	// known are the tracks known as staff from the days before knownDay
	// (refreshKnownStaff): staff on knownDay from its first fix.
	known    map[string]bool
	knownDay string
}

// heatOut is a tile on its way to the store: with replace it takes the
// place of a stored one (the live pipeline's, a re-processing's), else a
// stored one is kept (a replay of the journal after a restart computes the
// same hours again).
type heatOut struct {
	store.HeatTile
	Replace bool
}

// bakeMode says which of the days baked go to the store and how: the hours
// from From on (a site change or a re-processing rebuilds the days from
// its start; the days before keep what is stored), replacing what is
// stored or not (heatOut).
type bakeMode struct {
	From    int64
	Replace bool
}

const defaultCell = 0.5

func newHeat(site *wire.Site) *heat {
	t := siteTiles(site, defaultCell)
	h := &heat{tiles: t, log: heatmap.NewLog(), builder: heatmap.NewBuilder(t), liveFrom: -1}
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

// startAt makes the live tiles hold every hour from the first tile start
// at or after t: a rebuild that feeds the pipeline every observation from
// t on (a re-processing) has the whole of those hours.
func (h *heat) startAt(t int64) {
	s := h.tiles.Start(t)
	if s < t {
		s += h.tiles.Period().Len
	}
	h.liveFrom = s
}

// live reports whether the live tiles hold the hour of t (hours before are
// built from storage).
func (h *heat) live(t int64) bool { return h.liveFrom >= 0 && h.tiles.Start(t) >= h.liveFrom }

// memFrom is the first hour a query takes from the live tiles: the hours
// before are in the store (or built from the stored positions).
func (h *heat) memFrom() int64 {
	if h.liveFrom < 0 {
		return math.MaxInt64
	}
	return max(h.liveFrom, h.bakedTo)
}

// bake ends the days that are over by event time now (and the builder's
// Cap, within which it may still count a fix of the day), once a day
// (bakeTo).
func (h *heat) bake(now int64, site *wire.Site, c *footfall.Counter, m bakeMode) {
	if cut := dayStart(now-h.builder.Cap, site.Location()); cut > h.bakedTo {
		h.bakeTo(cut, site, c, m)
	}
}

// bakeTo ends the hours before cut: the logged spans of the tracks their
// day's final classification makes staff (the counter's summaries) are
// summed into staff tiles, and the live hours, everyone's tiles and the
// staff's (empty ones too, so that a query knows the hour is stored), are
// encoded for the store (h.baked, as m says); the tiles and the log forget
// them. It runs under the runner's lock.
func (h *heat) bakeTo(cut int64, site *wire.Site, c *footfall.Counter, m bakeMode) {
	period := h.tiles.Period()
	staff := heatmap.NewPeriodTiles(site.Bounds, defaultCell, period)
	if h.log.Len() > 0 && h.log.First() < cut {
		st := footfall.NewStaffOn(site.Location(), footfall.StaffDays(site, c.TrackDays(), c.Visits()), nil, "")
		h.log.Move(staff, cut, func(track string, t int64) bool { return h.live(t) && st.Is(track, t) })
	}
	if h.liveFrom >= 0 {
		first := max(h.liveFrom, h.bakedTo, m.From)
		if s := period.Start(first); s < first {
			first = s + period.Len
		}
		for hr := first; hr < cut; hr += period.Len {
			for _, t := range []*heatmap.Tiles{h.tiles, staff} {
				h.baked = append(h.baked, heatOut{store.HeatTile{Start: hr, Staff: t == staff, Data: t.AppendTile(nil, hr, "")}, m.Replace})
			}
		}
	}
	h.tiles.DropBefore(cut)
	h.bakedTo = max(h.bakedTo, cut)
}

// takeBaked returns the tiles baked and not yet handed to the writer, and
// forgets them.
func (h *heat) takeBaked() []heatOut {
	b := h.baked
	h.baked = nil
	return b
}

// staffSoFar adds to staff the occupancy of the day under way of the
// tracks that are staff so far (the counter's summaries) or known as staff
// from the days before, in the live hours of [from, to) that keep keeps:
// the log's spans. It runs under the runner's lock.
func (h *heat) staffSoFar(staff *heatmap.Grid, site *wire.Site, c *footfall.Counter, from, to int64, keep func(int64) bool) {
	if h.log.Len() == 0 || h.log.First() >= to {
		return
	}
	st := footfall.NewStaffOn(site.Location(), footfall.StaffDays(site, c.TrackDays(), c.Visits()), h.known, h.knownDay)
	open := heatmap.NewPeriodTiles(site.Bounds, defaultCell, h.tiles.Period())
	lo := h.tiles.Start(from) - h.builder.Cap
	h.log.Sum(open, func(track string, t int64) bool { return t >= lo && t < to && h.live(t) && st.Is(track, t) })
	staff.Add(sumTiles(open, from, to, keep))
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

// sumTiles sums the tiles of the hours in [Start(from), to) that keep
// keeps.
func sumTiles(t *heatmap.Tiles, from, to int64, keep func(int64) bool) *heatmap.Grid {
	return t.Sum(heatmap.Query{From: t.Start(from), To: to, Hour: keep})
}
