package server

import (
	"context"
	"sort"

	"github.com/passant/passant/store"
)

// The writer's queue of heat tiles (heat.go): the days a runner baked, on
// their way to the store. A query reads them from here until they are
// stored (unstoredHeat), as a report reads the summaries.

// heatQueue is the writer's part for heat tiles, under writer.mu.
type heatQueue struct {
	queued   map[siteHeatKey]heatOut
	inflight map[siteHeatKey]heatOut // taken by a flush, not yet written
}

type siteHeatKey struct {
	site string
	heatKey
}

// heatTiles queues tiles of a site; a later one of the same hour and kind
// takes the place of one queued before.
func (w *writer) heatTiles(site string, ts []heatOut) {
	if len(ts) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.heat.queued == nil {
		w.heat.queued = map[siteHeatKey]heatOut{}
	}
	for _, t := range ts {
		k := siteHeatKey{site, heatKey{t.Start, t.Staff}}
		if old, ok := w.heat.queued[k]; ok && old.Replace && !t.Replace {
			continue // a replay's tile does not undo a live one
		}
		w.heat.queued[k] = t
	}
}

// unstoredHeat returns the site's tiles queued or being written whose
// start lies in [from, to) (queued ones, newer, over those in flight). A
// nil writer holds none.
func (w *writer) unstoredHeat(site string, from, to int64) []heatOut {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	m := map[heatKey]heatOut{}
	for _, q := range []map[siteHeatKey]heatOut{w.heat.inflight, w.heat.queued} {
		for k, t := range q {
			if k.site == site && k.start >= from && k.start < to {
				m[k.heatKey] = t
			}
		}
	}
	out := make([]heatOut, 0, len(m))
	for _, t := range m {
		out = append(out, t)
	}
	return out
}

// flushHeat writes the queued tiles, by site and mode; on an error the
// tiles not written go back to the queue (behind any newer ones).
func (w *writer) flushHeat(ctx context.Context) error {
	w.mu.Lock()
	q := w.heat.queued
	w.heat.queued, w.heat.inflight = nil, q
	w.mu.Unlock()
	if len(q) == 0 {
		return nil
	}
	type batch struct {
		site    string
		replace bool
	}
	groups := map[batch][]store.HeatTile{}
	for k, t := range q {
		b := batch{k.site, t.Replace}
		groups[b] = append(groups[b], t.HeatTile)
	}
	keys := make([]batch, 0, len(groups))
	for b := range groups {
		keys = append(keys, b)
	}
	// Those that keep what is stored first: a replace of the same hour
	// queued with them wins.
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].replace != keys[j].replace {
			return !keys[i].replace
		}
		return keys[i].site < keys[j].site
	})
	var err error
	done := 0 // groups written
	for _, b := range keys {
		if err = w.st.WriteHeatTiles(ctx, b.site, groups[b], b.replace); err != nil {
			break
		}
		done++
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.heat.inflight = nil
	for _, b := range keys[done:] {
		if w.heat.queued == nil {
			w.heat.queued = map[siteHeatKey]heatOut{}
		}
		for _, t := range groups[b] {
			k := siteHeatKey{b.site, heatKey{t.Start, t.Staff}}
			if _, newer := w.heat.queued[k]; !newer {
				w.heat.queued[k] = heatOut{t, b.replace}
			}
		}
	}
	return err
}
