package heatmap

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/passant/passant/wire"
)

// Hour is the length of a tile, Unix ms.
const Hour = 3_600_000

// Tiles holds a site's occupancy as one grid per hour, so that the heatmap
// of any range of hours is the sum of its tiles: a month is 720 additions
// of a small grid, whatever the number of fixes. The hours are UTC hours
// (NewTiles) or a time zone's clock hours (NewLocalTiles), which in India
// (UTC+5:30) or Nepal (UTC+5:45) start at another minute. With ByZone it
// also keeps, per hour, one tile per zone of the fixes (wire.Position.Zone,
// the innermost zone), so that a zone filter selects fixes exactly rather
// than masking cells.
//
// A tile covers only the cells its fixes reached (a growing box), in
// float32: a quiet hour costs nothing, a zone's tile little more than the
// zone.
type Tiles struct {
	ByZone bool
	period Period
	shape  *Grid // the cells, V unused
	tiles  map[tileKey]*tile
}

type tileKey struct {
	hour int64  // the tile's start
	zone string // "" for all fixes
}

// Period is how tiles divide time: into tiles of Len ms that start at the
// times equal to Phase modulo Len (Unix ms).
type Period struct{ Len, Phase int64 }

// UTCHours is the period of tiles of UTC hours.
var UTCHours = Period{Len: Hour}

// Start returns the start of the tile holding t.
func (p Period) Start(t int64) int64 { return t - mod(t-p.Phase, p.Len) }

func mod(a, b int64) int64 { return (a%b + b) % b }

// LocalPeriod returns the period whose tiles start at every clock hour of
// loc: hours that start at minute 30 of the UTC hour in India, at minute
// 15 in Nepal (UTC+5:45). A zone whose offset changes by less than an hour
// (Lord Howe Island's half-hour summer time) gets tiles of the common
// divisor of its offsets, 30 minutes there, so that every clock hour is a
// sum of whole tiles all year. It looks at the zone's offsets from 2020
// to 2040, so that a heatmap's tiles do not depend on when it is built;
// a zone with offsets off the minute (none since 1980) gets UTC hours.
func LocalPeriod(loc *time.Location) Period {
	p := Period{Len: Hour, Phase: -1}
	t := time.Date(2020, 1, 1, 0, 0, 0, 0, loc)
	until := time.Date(2040, 1, 1, 0, 0, 0, 0, loc)
	for i := 0; i < 1000 && t.Before(until); i++ {
		_, off := t.Zone()
		// The clock hour starts where UTC + offset is on an hour.
		ph := mod(-int64(off)*1000, Hour)
		if p.Phase < 0 {
			p.Phase = ph
		} else {
			p.Len = gcd(p.Len, max(ph, p.Phase)-min(ph, p.Phase))
		}
		_, end := t.ZoneBounds()
		if !end.After(t) {
			break
		}
		t = end
	}
	if p.Len < 60_000 || p.Phase%60_000 != 0 {
		return UTCHours
	}
	p.Phase = mod(p.Phase, p.Len)
	return p
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// tile is a box of cells [I0, I0+NX) × [J0, J0+NY) of the grid.
type tile struct {
	i0, j0, nx, ny int
	v              []float32
}

// NewTiles returns empty tiles of UTC hours over bounds with cells of cell
// metres.
func NewTiles(bounds wire.Rect, cell float64) *Tiles {
	return NewPeriodTiles(bounds, cell, UTCHours)
}

// NewLocalTiles returns empty tiles of loc's clock hours (LocalPeriod).
func NewLocalTiles(bounds wire.Rect, cell float64, loc *time.Location) *Tiles {
	return NewPeriodTiles(bounds, cell, LocalPeriod(loc))
}

// NewPeriodTiles returns empty tiles of period p.
func NewPeriodTiles(bounds wire.Rect, cell float64, p Period) *Tiles {
	return &Tiles{period: p, shape: newShape(bounds, cell), tiles: map[tileKey]*tile{}}
}

// Period returns the tiles' division of time.
func (t *Tiles) Period() Period { return t.period }

// Start returns the start of the tile holding ms.
func (t *Tiles) Start(ms int64) int64 { return t.period.Start(ms) }

// Grid returns an empty grid of the tiles' shape.
func (t *Tiles) Grid() *Grid {
	g := *t.shape
	g.V = make([]float64, g.NX*g.NY)
	return &g
}

// HourOf returns the start of the UTC hour holding t.
func HourOf(t int64) int64 { return t - ((t%Hour)+Hour)%Hour }

// cover grows the tile's box to hold [i0, i1) × [j0, j1).
func (tl *tile) cover(i0, j0, i1, j1 int) {
	if tl.v != nil && i0 >= tl.i0 && j0 >= tl.j0 && i1 <= tl.i0+tl.nx && j1 <= tl.j0+tl.ny {
		return
	}
	if tl.v != nil {
		i0, j0 = min(i0, tl.i0), min(j0, tl.j0)
		i1, j1 = max(i1, tl.i0+tl.nx), max(j1, tl.j0+tl.ny)
	}
	nt := tile{i0: i0, j0: j0, nx: i1 - i0, ny: j1 - j0}
	nt.v = make([]float32, nt.nx*nt.ny)
	for j := 0; j < tl.ny; j++ {
		copy(nt.v[(tl.j0+j-j0)*nt.nx+tl.i0-i0:], tl.v[j*tl.nx:(j+1)*tl.nx])
	}
	*tl = nt
}

func (tl *tile) add(k *Kernel, weight float64) {
	tl.cover(k.I0, k.J0, k.I0+len(k.WX), k.J0+len(k.WY))
	for jj, wy := range k.WY {
		row := tl.v[(k.J0+jj-tl.j0)*tl.nx+k.I0-tl.i0:]
		f := weight * wy
		for ii, wx := range k.WX {
			row[ii] += float32(f * wx)
		}
	}
}

// addTo adds the tile into g (the tiles' shape).
func (tl *tile) addTo(g *Grid) {
	for j := 0; j < tl.ny; j++ {
		row := g.V[(tl.j0+j)*g.NX+tl.i0:]
		src := tl.v[j*tl.nx : (j+1)*tl.nx]
		for i, x := range src {
			row[i] += float64(x)
		}
	}
}

func (t *Tiles) tile(k tileKey) *tile {
	tl := t.tiles[k]
	if tl == nil {
		tl = &tile{}
		t.tiles[k] = tl
	}
	return tl
}

// AddSpan adds the kernel of a fix that stands for the time [start,
// start+dur) (ms), split over the tiles it spans, weighted in seconds.
func (t *Tiles) AddSpan(k *Kernel, start, dur int64) { t.AddSpanZone(k, start, dur, "") }

// AddSpanZone is AddSpan for a fix in zone (its innermost zone, "" for
// none), which with ByZone also counts in the zone's tiles.
func (t *Tiles) AddSpanZone(k *Kernel, start, dur int64, zone string) {
	for dur > 0 {
		h := t.period.Start(start)
		part := min(dur, h+t.period.Len-start)
		w := float64(part) / 1000
		t.tile(tileKey{h, ""}).add(k, w)
		if t.ByZone && zone != "" {
			t.tile(tileKey{h, zone}).add(k, w)
		}
		start += part
		dur -= part
	}
}

// Hours returns the starts of the hours that have a tile, in order.
func (t *Tiles) Hours() []int64 {
	hs := make([]int64, 0, len(t.tiles))
	for k := range t.tiles {
		if k.zone == "" {
			hs = append(hs, k.hour)
		}
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i] < hs[j] })
	return hs
}

// DropBefore forgets the tiles of the hours that start before h (a
// retention) and returns how many went.
func (t *Tiles) DropBefore(h int64) int {
	n := 0
	for k := range t.tiles {
		if k.hour < h {
			delete(t.tiles, k)
			n++
		}
	}
	return n
}

// Zones returns the zones that have a tile in hour h, sorted.
func (t *Tiles) Zones(h int64) []string {
	var zs []string
	for k := range t.tiles {
		if k.hour == h && k.zone != "" {
			zs = append(zs, k.zone)
		}
	}
	sort.Strings(zs)
	return zs
}

// Tile returns a copy of the tile of hour h (all fixes) as a full grid,
// nil when there is none: for storage.
func (t *Tiles) Tile(h int64) *Grid { return t.TileZone(h, "") }

// TileZone is Tile for the fixes of one zone ("" for all fixes).
func (t *Tiles) TileZone(h int64, zone string) *Grid {
	tl := t.tiles[tileKey{h, zone}]
	if tl == nil {
		return nil
	}
	g := t.Grid()
	tl.addTo(g)
	return g
}

// Put sets the tile of hour h (all fixes) from a grid of the tiles' cells
// (from storage); only its non-zero box is kept.
func (t *Tiles) Put(h int64, g *Grid) error { return t.PutZone(h, "", g) }

// PutZone is Put for the tile of one zone ("" for all fixes).
func (t *Tiles) PutZone(h int64, zone string, g *Grid) error {
	if !t.shape.sameShape(g) {
		return fmt.Errorf("heatmap: tile of %dx%d cells for tiles of %dx%d", g.NX, g.NY, t.shape.NX, t.shape.NY)
	}
	if h != t.period.Start(h) {
		return fmt.Errorf("heatmap: tile start %d is not on a tile's start", h)
	}
	i0, j0, i1, j1 := g.NX, g.NY, 0, 0
	for j := 0; j < g.NY; j++ {
		for i := 0; i < g.NX; i++ {
			if g.V[j*g.NX+i] != 0 {
				i0, j0, i1, j1 = min(i0, i), min(j0, j), max(i1, i+1), max(j1, j+1)
			}
		}
	}
	tl := &tile{}
	if i1 > i0 {
		tl.cover(i0, j0, i1, j1)
		for j := j0; j < j1; j++ {
			for i := i0; i < i1; i++ {
				tl.v[(j-j0)*tl.nx+i-i0] = float32(g.V[j*g.NX+i])
			}
		}
	}
	t.tiles[tileKey{h, zone}] = tl
	return nil
}

// Query selects the tiles a heatmap sums.
type Query struct {
	From, To int64 // tiles starting in [From, To), Unix ms
	// Hour, when set, keeps only the hours for which it is true (e.g. local
	// clock hours 10 to 14).
	Hour func(start int64) bool
	// Zones, when set, keeps only fixes whose innermost zone is one of them
	// (the caller lists a zone and the zones inside it); needs ByZone.
	Zones []string
	// Mask, when set, zeroes the cells whose centre lies outside all of
	// these polygons.
	Mask [][]wire.Point
}

// Sum adds up the tiles q selects into one grid of person-seconds.
func (t *Tiles) Sum(q Query) *Grid {
	g := t.Grid()
	want := map[string]bool{}
	for _, z := range q.Zones {
		want[z] = true
	}
	for k, tl := range t.tiles {
		if k.hour < q.From || k.hour >= q.To || (q.Hour != nil && !q.Hour(k.hour)) {
			continue
		}
		if len(want) == 0 && k.zone != "" || len(want) > 0 && !want[k.zone] {
			continue
		}
		tl.addTo(g)
	}
	g.Mask(q.Mask...)
	return g
}

// Range sums the tiles that start in [from, to); with zones,
// cells whose centre lies outside all of them are zeroed.
func (t *Tiles) Range(from, to int64, zones ...[]wire.Point) *Grid {
	return t.Sum(Query{From: from, To: to, Mask: zones})
}

// Bytes returns the memory the tiles' cells take.
func (t *Tiles) Bytes() int {
	n := 0
	for _, tl := range t.tiles {
		n += 4 * len(tl.v)
	}
	return n
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
	// Log, when set, records every span counted, by track (Log), so that
	// the staff's can be taken out once the day's classification knows
	// them.
	Log *Log

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
		b.count(key, &prev, dur)
	}
	b.open[key] = *p
}

func (b *Builder) count(key string, p *wire.Position, dur int64) {
	if dur <= 0 || math.IsNaN(p.X) || math.IsNaN(p.Y) {
		return
	}
	if b.Tiles.shape.Spread(&b.k, p.X, p.Y, p.Err) {
		b.Tiles.AddSpanZone(&b.k, p.T, dur, p.Zone)
		b.n++
		if b.Log != nil {
			b.Log.add(key, p, dur)
		}
	}
}

// Expire counts the open fixes older than now-Cap as their tracks' last
// (for a live server, driven by event time).
func (b *Builder) Expire(now int64) {
	for _, k := range b.keys() {
		if p := b.open[k]; now-p.T >= b.Cap {
			b.count(k, &p, min(b.Last, b.Cap))
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
		b.count(k, &p, min(b.Last, b.Cap))
		delete(b.open, k)
	}
}

// Counted returns the number of fixes added to the tiles so far.
func (b *Builder) Counted() int { return b.n }
