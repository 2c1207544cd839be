package heatmap

import (
	"fmt"
	"math"
	"sort"

	"github.com/passant/passant/wire"
)

// Hour is the length of a tile, Unix ms.
const Hour = 3_600_000

// Tiles holds a site's occupancy as one grid per UTC hour, so that the
// heatmap of any range of hours is the sum of its tiles: a month is 720
// additions of a small grid, whatever the number of fixes. Tiles are float32
// (a 34 m × 30 m floor at 0.5 m is 16 kB a tile).
type Tiles struct {
	shape *Grid // the cells, V unused
	hours map[int64][]float32
}

// NewTiles returns empty tiles over bounds with cells of cell metres.
func NewTiles(bounds wire.Rect, cell float64) *Tiles {
	g := NewGrid(bounds, cell)
	g.V = nil
	return &Tiles{shape: g, hours: map[int64][]float32{}}
}

// Grid returns an empty grid of the tiles' shape.
func (t *Tiles) Grid() *Grid {
	g := *t.shape
	g.V = make([]float64, g.NX*g.NY)
	return &g
}

// HourOf returns the start of the UTC hour holding t.
func HourOf(t int64) int64 { return t - ((t%Hour)+Hour)%Hour }

// add adds weight·k to the tile of hour h.
func (t *Tiles) add(h int64, k *Kernel, weight float64) {
	v := t.hours[h]
	if v == nil {
		v = make([]float32, t.shape.NX*t.shape.NY)
		t.hours[h] = v
	}
	nx := t.shape.NX
	for jj, wy := range k.WY {
		row := v[(k.J0+jj)*nx+k.I0:]
		f := weight * wy
		for ii, wx := range k.WX {
			row[ii] += float32(f * wx)
		}
	}
}

// AddSpan adds the kernel of a fix that stands for the time [start,
// start+dur) (ms), split over the hours it spans, weighted in seconds.
func (t *Tiles) AddSpan(k *Kernel, start, dur int64) {
	for dur > 0 {
		h := HourOf(start)
		part := min(dur, h+Hour-start)
		t.add(h, k, float64(part)/1000)
		start += part
		dur -= part
	}
}

// Hours returns the starts of the hours that have a tile, in order.
func (t *Tiles) Hours() []int64 {
	hs := make([]int64, 0, len(t.hours))
	for h := range t.hours {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i] < hs[j] })
	return hs
}

// Tile returns a copy of the tile of hour h (nil when it has none), for
// storage.
func (t *Tiles) Tile(h int64) *Grid {
	v := t.hours[h]
	if v == nil {
		return nil
	}
	g := t.Grid()
	for i, x := range v {
		g.V[i] = float64(x)
	}
	return g
}

// Put sets the tile of hour h (from storage); g must have the tiles' cells.
func (t *Tiles) Put(h int64, g *Grid) error {
	if !t.shape.sameShape(g) {
		return fmt.Errorf("heatmap: tile of %dx%d cells for tiles of %dx%d", g.NX, g.NY, t.shape.NX, t.shape.NY)
	}
	if h != HourOf(h) {
		return fmt.Errorf("heatmap: tile start %d is not on an hour", h)
	}
	v := make([]float32, len(g.V))
	for i, x := range g.V {
		v[i] = float32(x)
	}
	t.hours[h] = v
	return nil
}

// Range sums the tiles of the hours that start in [from, to) into one grid
// of person-seconds; with zones, cells whose centre lies outside all of them
// are zeroed.
func (t *Tiles) Range(from, to int64, zones ...[]wire.Point) *Grid {
	g := t.Grid()
	for h, v := range t.hours {
		if h < from || h >= to {
			continue
		}
		for i, x := range v {
			g.V[i] += float64(x)
		}
	}
	g.Mask(zones...)
	return g
}

// Builder turns a stream of fixes into tiles. Each fix is spread by its
// error and weighted by the time it stands for: until the next fix of the
// same track, at most Cap; a track's last fix counts Last.
type Builder struct {
	Tiles *Tiles
	Cap   int64 // ms (default DefaultCap)
	Last  int64 // ms (default DefaultLast)
	// Keep, when set, selects the fixes that count (e.g. a zone filter).
	Keep func(p *wire.Position) bool

	open map[string]wire.Position // each track's latest fix, not yet counted
	k    Kernel
	n    int
}

// Defaults of a Builder.
const (
	DefaultCap  = 60_000 // a phone probes at least every minute while it is around
	DefaultLast = 15_000
)

// NewBuilder returns a builder adding to t.
func NewBuilder(t *Tiles) *Builder {
	return &Builder{Tiles: t, Cap: DefaultCap, Last: DefaultLast, open: map[string]wire.Position{}}
}

// Add takes the next fix; fixes of one track must come in time order.
func (b *Builder) Add(p *wire.Position) {
	if b.Keep != nil && !b.Keep(p) {
		return
	}
	key := p.Track
	if key == "" {
		key = p.Dev.String()
	}
	if prev, ok := b.open[key]; ok {
		dur := min(max(p.T-prev.T, 0), b.Cap)
		b.count(&prev, dur)
	}
	b.open[key] = *p
}

func (b *Builder) count(p *wire.Position, dur int64) {
	if dur <= 0 || math.IsNaN(p.X) || math.IsNaN(p.Y) {
		return
	}
	if b.Tiles.shape.Spread(&b.k, p.X, p.Y, p.Err) {
		b.Tiles.AddSpan(&b.k, p.T, dur)
		b.n++
	}
}

// Expire counts the open fixes older than now-Cap as their tracks' last
// (for a live server, driven by event time).
func (b *Builder) Expire(now int64) {
	for _, k := range b.keys() {
		if p := b.open[k]; now-p.T >= b.Cap {
			b.count(&p, min(b.Last, b.Cap))
			delete(b.open, k)
		}
	}
}

// keys returns the open tracks in order, so that sums are deterministic.
func (b *Builder) keys() []string {
	ks := make([]string, 0, len(b.open))
	for k := range b.open {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Flush counts every open fix as its track's last.
func (b *Builder) Flush() {
	for _, k := range b.keys() {
		p := b.open[k]
		b.count(&p, min(b.Last, b.Cap))
		delete(b.open, k)
	}
}

// Counted returns the number of fixes added to the tiles so far.
func (b *Builder) Counted() int { return b.n }
