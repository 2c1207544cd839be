package server

// Re-processing a date range from the stored observations: the API's and
// `passant reprocess`'s (the live part runs in the site's runner:
// rebuild.go).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// Reprocess implements web.Backend: it runs the site's current version over
// the stored observations of [from, to) and replaces the derived data of
// that range; before the retention's cut it rebuilds the tracks whose raw
// observations remain and keeps the others' (thinned.go).
func (s *Server) Reprocess(ctx context.Context, site string, from, to int64) (web.Reprocessed, error) {
	var done web.Reprocessed
	st, _, err := s.store.Site(ctx, site)
	if err != nil {
		return done, notFound(err)
	}
	now := time.Now()
	cut := thinCut(now, s.cfg.Retention)
	// What the live pipeline still holds in memory (the last day and a
	// half) is re-processed by the pipeline itself, so that memory and
	// storage agree; what lies before is re-processed offline. The days
	// before the retention's cut go offline (splitThinned, and the stored
	// track days kept: keepStoredDays), from the local midnight after it
	// (today's at the latest) the live pipeline takes over.
	liveFrom := now.Add(-36 * time.Hour).UnixMilli()
	if cut > liveFrom {
		loc := st.Location()
		liveFrom = min(localDay(cut, loc).AddDate(0, 0, 1).UnixMilli(), localDay(now.UnixMilli(), loc).UnixMilli())
	}
	r := s.runner(site)
	if r == nil || to <= liveFrom {
		res, err := Reprocess(ctx, s.store, st, from, to, s.cfg.Lateness, cut)
		if errors.Is(err, ErrGone) {
			return done, fmt.Errorf("%w: %w", web.ErrInvalid, err)
		}
		if err != nil {
			return done, err
		}
		done.Days = res.Thinned
		s.log.Info("re-processed", "site", site, "from", from, "to", to, "batches", res.Batches, "positions", res.Positions,
			"thinned_days", len(res.Thinned))
	} else {
		liveStart := from
		if from < liveFrom {
			if err := r.inRunner(ctx, func() error { return r.holdBefore(ctx, liveFrom) }); err != nil {
				return done, err
			}
			res, err := Reprocess(ctx, s.store, st, from, liveFrom, s.cfg.Lateness, cut)
			if err != nil && !errors.Is(err, ErrGone) { // the live part is there
				return done, err
			}
			done.Days = res.Thinned
			liveStart = liveFrom
		}
		days, err := r.reprocess(ctx, st, liveStart, cut)
		if err != nil {
			return done, err
		}
		done.Days = mergeKept(done.Days, days)
		// The live re-processing replaced everything from liveStart on.
		to = max(to, time.Now().UnixMilli())
	}
	if from < cut {
		done.ThinnedBefore = cut
	}
	if r == nil {
		return done, nil // Reprocess stored the hours from the store
	}
	// The hours of every day rebuilt, as the reports (which see the live
	// pipeline's memory over the store) now have them.
	if err := writeRangeHours(ctx, s.store, st, from, to, s.reportSummaries(site)); err != nil {
		return done, fmt.Errorf("server: reprocess: %w", err)
	}
	return done, nil
}

// ReprocessResult says what a re-processing did.
type ReprocessResult struct {
	Batches   int64
	Positions int64
	Visits    int
	TrackDays int
	// Thinned are the local days before the retention's cut: the track
	// days kept (their raw observations gone) and rebuilt.
	Thinned []web.KeptDay
}

// Reprocess recomputes a site's derived data over [from, to) from the
// stored observations, with the given version of the site, and replaces
// what was stored for that range: positions, summaries, and the hours of
// every local day the range touches, as the stored summaries now give
// them. Before cut (the retention of passers-by's raw observations: only
// the visitors' remain; 0 for none) it replaces the rows of the tracks it
// rebuilds and keeps the others' (splitThinned); a range with no
// observation left at all is refused (ErrGone). It is what `passant
// reprocess` runs.
func Reprocess(ctx context.Context, st store.Store, site *wire.Site, from, to int64, lateness time.Duration, cut int64) (ReprocessResult, error) {
	var res ReprocessResult
	plan := zones.NewPlan(site)
	counter := footfall.NewCounter(site, plan)
	col := newCollector(site, counter, from, cut)
	// Stored batches come back in receive order; a sensor's spooled backlog
	// came late. An hour's reordering puts it back in event-time order, so
	// the figures are those of a day on which it came on time.
	p, err := pipeline.New(pipeline.Config{Site: site, Zone: plan.Innermost, Lateness: max(lateness, reorderStored)}, col)
	if err != nil {
		return res, err
	}
	if from < cut {
		if col.orig, err = loadOrigTracks(ctx, st, site.Site, from, min(to, cut)); err != nil {
			return res, fmt.Errorf("server: reprocess: %w", err)
		}
	}
	seen := seenDevs{}
	err = st.ScanBatches(ctx, site.Site, from, to, func(b *store.RawBatch) error {
		res.Batches++
		seen.add(&b.Batch)
		return ignoreUnknown(p.Accept(b.Recv, &b.Batch, wire.Drops{}))
	})
	if err != nil {
		return res, fmt.Errorf("server: reprocess: %w", err)
	}
	p.Flush()
	counter.Flush()
	// The heat tiles of the whole hours of the range, the staff's by the
	// days' final classification; the hours the passers-by retention
	// thinned are left to be built from the stored positions (bakeMode).
	col.heat.builder.Flush()
	col.heat.bakeTo(col.heat.tiles.Start(to), site, counter, col.bake)
	days, visits := counter.TrackDays(), counter.Visits()
	var sp thinnedSplit
	if from < cut {
		sp, err = splitThinned(ctx, st, site.Site, from, min(to, cut), seen, trackNames(days, visits))
		if err != nil {
			return res, fmt.Errorf("server: reprocess: %w", err)
		}
		if res.Batches == 0 && len(sp.kept) > 0 {
			return res, fmt.Errorf("server: reprocess %s from %s to %s: %w", site.Site,
				time.UnixMilli(from).UTC().Format(time.RFC3339), time.UnixMilli(to).UTC().Format(time.RFC3339), ErrGone)
		}
		res.Thinned = keptDays(sp, days, from, min(to, cut))
		days = keepStoredDays(days, sp.days, min(to, cut))
	}
	if err := deleteRebuilt(ctx, st, site.Site, from, to, cut, sp); err != nil {
		return res, fmt.Errorf("server: reprocess: %w", err)
	}
	if err := st.WritePositions(ctx, site.Site, col.pos); err != nil {
		return res, fmt.Errorf("server: reprocess: %w", err)
	}
	tiles := make([]store.HeatTile, 0, len(col.heat.baked))
	for _, t := range col.heat.takeBaked() {
		tiles = append(tiles, t.HeatTile)
	}
	if err := st.WriteHeatTiles(ctx, site.Site, tiles, true); err != nil {
		return res, fmt.Errorf("server: reprocess: %w", err)
	}
	if err := st.WriteTrackDays(ctx, days); err != nil {
		return res, fmt.Errorf("server: reprocess: %w", err)
	}
	if err := st.WriteVisits(ctx, visits); err != nil {
		return res, fmt.Errorf("server: reprocess: %w", err)
	}
	if err := writeRangeHours(ctx, st, site, from, to, storedSummaries(st, site.Site)); err != nil {
		return res, fmt.Errorf("server: reprocess: %w", err)
	}
	res.Positions, res.Visits, res.TrackDays = p.Positions(), len(visits), len(days)
	return res, nil
}

// reorderStored is the lateness with which stored observations are replayed.
const reorderStored = time.Hour

func ignoreUnknown(err error) error {
	if errors.Is(err, pipeline.ErrUnknownSensor) || errors.Is(err, pipeline.ErrDuplicate) {
		return nil
	}
	return err
}

// collector keeps a re-processing's positions, downsampled as live, and
// its heat tiles (as a runner's heat, baked day by day as m says).
type collector struct {
	counter *footfall.Counter
	site    *wire.Site
	heat    *heat
	bake    bakeMode
	pos     []wire.Position
	saved   map[string]int64
	devs    map[string]map[wire.Dev]bool // the pseudonyms of each track
	orig    origTracks
}

// newCollector returns the collector of a re-processing of site from
// from, whose part before cut the passers-by retention thinned.
func newCollector(site *wire.Site, counter *footfall.Counter, from, cut int64) *collector {
	c := &collector{counter: counter, saved: map[string]int64{}, site: site, heat: newHeat(site),
		bake: bakeMode{From: max(from, cut), Replace: true}}
	c.heat.startAt(from)
	return c
}

func (c *collector) Position(p wire.Position) {
	if !c.orig.relabel(&p) {
		return
	}
	c.counter.Add(p)
	c.heat.add(&p)
	if c.devs == nil {
		c.devs = map[string]map[wire.Dev]bool{}
	}
	devs := c.devs[p.Track]
	if devs == nil {
		devs = map[wire.Dev]bool{}
		c.devs[p.Track] = devs
	}
	newDev := !devs[p.Dev]
	devs[p.Dev] = true
	if last, ok := c.saved[p.Track]; newDev || !ok || p.T-last >= positionsEvery {
		c.saved[p.Track] = p.T
		c.pos = append(c.pos, p)
	}
}

func (c *collector) Advance(now int64) {
	c.counter.Advance(now)
	c.heat.builder.Expire(now)
	c.heat.bake(now, c.site, c.counter, c.bake)
}

// Merge counts track from's positions as into's, and its fixes collected
// so far name into (as the live path's stored ones, writer.merged).
func (c *collector) Merge(from, into string, _ int64) {
	if c.orig.keeps(from, into) {
		return
	}
	if first, last, ok := c.counter.Merge(from, into); ok {
		renameFixes(c.pos, from, into, first, last)
	}
	c.heat.log.Merge(from, into)
}

// renameFixes names the fixes of track from within [first, last] after
// track into: a merged track's fixes are the surviving track's, as a
// replay's positions.jsonl has them.
func renameFixes(ps []wire.Position, from, into string, first, last int64) {
	for i := range ps {
		if ps[i].Track == from && ps[i].T >= first && ps[i].T <= last {
			ps[i].Track = into
		}
	}
}
