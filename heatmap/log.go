package heatmap

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/passant/passant/wire"
)

// Log keeps the spans a Builder counted, track by track, so that the
// occupancy of some tracks can be summed again later: a track that the
// day's classification makes staff only once it has been seen for hours
// (the contract's staff_min_dwell_s), whose earlier fixes went into the
// tiles with everyone's. Adding the staff's spans to tiles of their own and
// taking those from the tiles of everyone leaves the people.
//
// A span takes 32 bytes; a server keeps the spans of the day under way and
// moves the staff's into tiles once the day is over (Move), so the log
// holds about a day of fixes.
type Log struct {
	tracks map[string][]Span
	alias  map[string]string // merged tracks: from -> into
	zones  []string          // interned zone ids; Span.Zone indexes it
	zoneID map[string]uint16
	n      int
	first  int64
}

// Span is one fix as a Builder counted it: the time [T, T+Dur) (ms) at
// (X, Y) with 1-sigma error Err, in zone Zone (Log's interned index).
type Span struct {
	T         int64
	Dur       int32
	X, Y, Err float32
	Zone      uint16
}

// NewLog returns an empty log.
func NewLog() *Log {
	return &Log{tracks: map[string][]Span{}, alias: map[string]string{}, zones: []string{""},
		zoneID: map[string]uint16{"": 0}, first: math.MaxInt64}
}

// add records a span of track (after the merges Merge was told of).
func (l *Log) add(track string, p *wire.Position, dur int64) {
	for i := 0; i < 8; i++ { // a merge chain is short; 8 bounds a cycle
		into, ok := l.alias[track]
		if !ok {
			break
		}
		track = into
	}
	z, ok := l.zoneID[p.Zone]
	if !ok && len(l.zones) < math.MaxUint16 {
		z = uint16(len(l.zones))
		l.zones = append(l.zones, p.Zone)
		l.zoneID[p.Zone] = z
	}
	l.tracks[track] = append(l.tracks[track], Span{T: p.T, Dur: int32(dur), X: float32(p.X), Y: float32(p.Y),
		Err: float32(p.Err), Zone: z})
	l.n++
	l.first = min(l.first, p.T)
}

// Merge records that track from is track into (a deferred link of a
// randomised address): from's spans, and those counted for it from now
// on, are into's.
func (l *Log) Merge(from, into string) {
	if from == into || into == "" {
		return
	}
	if s := l.tracks[from]; s != nil {
		l.tracks[into] = append(l.tracks[into], s...)
		delete(l.tracks, from)
	}
	l.alias[from] = into
}

// Len returns the number of spans held.
func (l *Log) Len() int { return l.n }

// First returns the earliest start of a span held (math.MaxInt64 when none).
func (l *Log) First() int64 { return l.first }

// Bytes returns the memory the spans take (their slices' capacity).
func (l *Log) Bytes() int {
	n := 0
	for _, s := range l.tracks {
		n += 32 * cap(s)
	}
	return n
}

// Sum adds the spans for which keep(track, start) is true to t, as the
// Builder added them to its tiles (t has the same cells). It returns the
// number of spans added.
func (l *Log) Sum(t *Tiles, keep func(track string, start int64) bool) int {
	if l.n == 0 {
		return 0
	}
	var k Kernel
	n := 0
	// In track order: float32 sums in another order differ in the last
	// bit, and a replay's output must not.
	for _, track := range slices.Sorted(maps.Keys(l.tracks)) {
		spans := l.tracks[track]
		for i := range spans {
			s := &spans[i]
			if !keep(track, s.T) {
				continue
			}
			if t.shape.Spread(&k, float64(s.X), float64(s.Y), float64(s.Err)) {
				t.AddSpanZone(&k, s.T, int64(s.Dur), l.zones[s.Zone])
				n++
			}
		}
	}
	return n
}

// Move adds the spans that start before before and for which keep is true
// to t (Sum), then forgets every span that starts before before, and the
// merges: what a server does once a day's classification is final.
func (l *Log) Move(t *Tiles, before int64, keep func(track string, start int64) bool) int {
	n := l.Sum(t, func(track string, start int64) bool { return start < before && keep(track, start) })
	l.n, l.first = 0, math.MaxInt64
	for track, spans := range l.tracks {
		kept := spans[:0]
		for _, s := range spans {
			if s.T >= before {
				kept = append(kept, s)
				l.first = min(l.first, s.T)
			}
		}
		if len(kept) == 0 {
			delete(l.tracks, track)
			continue
		}
		if cap(kept) > 2*len(kept)+16 {
			kept = append([]Span(nil), kept...) // give back what a long day took
		}
		l.tracks[track] = kept
		l.n += len(kept)
	}
	clear(l.alias)
	return n
}

// Sub takes h from g, cell by cell, clamping at 0: the people's occupancy
// as everyone's less the staff's (float32 tiles summed in another order
// leave a rounding's worth, never negative time). Both must have the same
// cells.
func (g *Grid) Sub(h *Grid) error {
	if !g.sameShape(h) {
		return fmt.Errorf("heatmap: taking a %dx%d grid from a %dx%d one", h.NX, h.NY, g.NX, g.NY)
	}
	for i, v := range h.V {
		g.V[i] = max(0, g.V[i]-v)
	}
	return nil
}
