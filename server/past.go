package server

// The report's history, kept. A report of [from, to) reads the summaries
// of the month before from (history_days + 1 days) for what carries
// across days: returning visitors, the street joins' carry, the handoffs,
// the visits that reach past midnight (footfall.Past). None of its figures
// counts them, and the days that no longer change give the same Past
// every time: the chain view, which asks every 30 s for every site's
// today, read and classified a month of each site's summaries for it
// (docs/web.md, "2026-12-05 late: the chain's cost").
//
// The Past of a site's report ends at the earliest local midnight of what
// the live pipeline still holds (its memory and the writer's queue: the
// last two days or so) or at from, whichever is earlier, so that what it
// condenses is stored and changes only through the store: every write or
// delete of summaries that reaches into it drops it (watchedStore), a
// new version of the site is another key, and a Past is not kept longer
// than pastMaxAge (a change by another process: another cluster instance's
// re-processing, `passant reprocess` on the database of a running server).
// Only the sites this server runs use it: another instance's are written
// by that one.

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
)

const (
	// pastBytes bounds the memory of the Pasts kept: about 65 kB each for
	// a shop of 60 visitors a day (BenchmarkChain100), 1 MB for one of a
	// thousand.
	pastBytes = 256 << 20
	// pastMaxAge is how long a Past is kept at most.
	pastMaxAge = 10 * time.Minute
	// pastIdle is how long a Past must have gone unused before a new one
	// may take its place: the chain asks for every site's every 30 s, and
	// when they do not all fit, evicting the least recently used would
	// evict each just before it is asked for again (none would be found);
	// keeping those in use and making the others each time finds as many
	// as fit.
	pastIdle = time.Minute
)

// pastCache keeps the Pasts of recent reports, least recently used first
// out.
type pastCache struct {
	budget int
	maxAge time.Duration
	idle   time.Duration
	flight singleflight.Group

	mu       sync.Mutex
	entries  map[pastKey]*list.Element // of *pastEntry
	lru      list.List                 // most recently used at the front
	bytes    int
	building map[*pastBuild]bool
	hits     int64
	misses   int64
}

// pastKey names a Past: the site and the local midnight its reports begin
// at.
type pastKey struct {
	site string
	from int64
}

// pastEntry is a Past kept: of the site version hash, condensing the
// summaries from low (Unix ms) to its midnight.
type pastEntry struct {
	key  pastKey
	hash string
	past *footfall.Past
	low  int64
	size int
	made time.Time
	used time.Time
}

// pastBuild is a Past being made; a change to the summaries it reads
// meanwhile spoils it (it is used once, not kept).
type pastBuild struct {
	site       string
	low, start int64
	spoiled    bool
}

func newPastCache(budget int, maxAge, idle time.Duration) *pastCache {
	return &pastCache{budget: budget, maxAge: maxAge, idle: idle, entries: map[pastKey]*list.Element{}, building: map[*pastBuild]bool{}}
}

// get returns the Past of key for the site version hash that ends at the
// midnight start and condenses the summaries from low: the one kept, or
// the one build makes (one build at a time per Past; the callers meanwhile
// share its result).
func (c *pastCache) get(key pastKey, hash string, start, low int64, build func() (*footfall.Past, error)) (*footfall.Past, error) {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		ent := e.Value.(*pastEntry)
		if ent.hash == hash && ent.past.Start() == start && ent.low == low && time.Since(ent.made) < c.maxAge {
			c.lru.MoveToFront(e)
			ent.used = time.Now()
			c.hits++
			c.mu.Unlock()
			return ent.past, nil
		}
		c.remove(e)
	}
	c.misses++
	c.mu.Unlock()
	v, err, _ := c.flight.Do(fmt.Sprintf("%s\x00%d\x00%s\x00%d\x00%d", key.site, key.from, hash, start, low), func() (any, error) {
		b := &pastBuild{site: key.site, low: low, start: start}
		c.mu.Lock()
		c.building[b] = true
		c.mu.Unlock()
		p, err := build()
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.building, b)
		if err != nil {
			return nil, err
		}
		if !b.spoiled {
			now := time.Now()
			c.put(&pastEntry{key: key, hash: hash, past: p, low: low, size: p.Size(), made: now, used: now})
		}
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*footfall.Past), nil
}

// put keeps ent within the budget: those too old to be used again
// (yesterday's today) go first, then the least recently used that have
// been idle for c.idle; when that does not make room, ent is not kept.
// Under c.mu.
func (c *pastCache) put(ent *pastEntry) {
	if e, ok := c.entries[ent.key]; ok {
		c.remove(e)
	}
	for e := c.lru.Back(); e != nil; {
		prev := e.Prev()
		if time.Since(e.Value.(*pastEntry).made) >= c.maxAge {
			c.remove(e)
		}
		e = prev
	}
	for c.bytes+ent.size > c.budget {
		e := c.lru.Back()
		if e == nil || time.Since(e.Value.(*pastEntry).used) < c.idle {
			return
		}
		c.remove(e)
	}
	c.entries[ent.key] = c.lru.PushFront(ent)
	c.bytes += ent.size
}

// remove drops e; under c.mu.
func (c *pastCache) remove(e *list.Element) {
	ent := e.Value.(*pastEntry)
	c.lru.Remove(e)
	delete(c.entries, ent.key)
	c.bytes -= ent.size
}

// span is the times [from, to] (Unix ms) a change to a site's summaries
// touched: track days by first detection, visits by start.
type span struct{ from, to int64 }

// touched drops the Pasts (and spoils those being made) that condense
// summaries in the spans, per site ("" for every site).
func (c *pastCache) touched(spans map[string]span) {
	if len(spans) == 0 {
		return
	}
	hit := func(site string, low, start int64) bool {
		for _, s := range []string{site, ""} {
			if sp, ok := spans[s]; ok && sp.from < start && sp.to >= low {
				return true
			}
		}
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; {
		next := e.Next()
		if ent := e.Value.(*pastEntry); hit(ent.key.site, ent.low, ent.past.Start()) {
			c.remove(e)
		}
		e = next
	}
	for b := range c.building {
		if hit(b.site, b.low, b.start) {
			b.spoiled = true
		}
	}
}

// forget drops the site's Pasts: its pipeline starts or stops here (a
// cluster instance took it or gave it back; meanwhile another wrote it).
func (c *pastCache) forget(site string) {
	c.touched(map[string]span{site: {math.MinInt64, math.MaxInt64}})
}

// counts returns the hits and misses so far.
func (c *pastCache) counts() (hits, misses int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// watchedStore is the server's store: every change to the summaries
// through it drops the Pasts it touches (after the change, so that a Past
// made meanwhile is spoiled or dropped).
type watchedStore struct {
	store.Store
	past *pastCache
}

func (w *watchedStore) WriteTrackDays(ctx context.Context, ds []footfall.TrackDay) error {
	err := w.Store.WriteTrackDays(ctx, ds)
	spans := map[string]span{}
	for i := range ds {
		spans[ds[i].Site] = widen(spans, ds[i].Site, ds[i].First)
	}
	w.past.touched(spans)
	return err
}

func (w *watchedStore) WriteVisits(ctx context.Context, vs []footfall.Visit) error {
	err := w.Store.WriteVisits(ctx, vs)
	spans := map[string]span{}
	for i := range vs {
		spans[vs[i].Site] = widen(spans, vs[i].Site, vs[i].Start)
	}
	w.past.touched(spans)
	return err
}

func (w *watchedStore) DeleteDerived(ctx context.Context, site string, from, to int64) error {
	err := w.Store.DeleteDerived(ctx, site, from, to)
	w.past.touched(map[string]span{site: {from, to}})
	return err
}

func (w *watchedStore) DeleteDerivedTracks(ctx context.Context, site string, from, to int64, tracks []string) error {
	err := w.Store.DeleteDerivedTracks(ctx, site, from, to, tracks)
	w.past.touched(map[string]span{site: {from, to}})
	return err
}

func (w *watchedStore) DeleteTrack(ctx context.Context, site, track string, from, to int64) error {
	err := w.Store.DeleteTrack(ctx, site, track, from, to)
	w.past.touched(map[string]span{site: {from, to}})
	return err
}

func (w *watchedStore) RenameTrack(ctx context.Context, site, from, to string, since, until int64) error {
	err := w.Store.RenameTrack(ctx, site, from, to, since, until)
	w.past.touched(map[string]span{site: {since, until}})
	return err
}

func (w *watchedStore) DeleteSummariesBefore(ctx context.Context, before int64) (int64, error) {
	n, err := w.Store.DeleteSummariesBefore(ctx, before)
	w.past.touched(map[string]span{"": {math.MinInt64, before}})
	return n, err
}

// widen returns the site's span in spans widened to hold t.
func widen(spans map[string]span, site string, t int64) span {
	sp, ok := spans[site]
	if !ok {
		return span{t, t}
	}
	return span{min(sp.from, t), max(sp.to, t)}
}
