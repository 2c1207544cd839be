// Package replay runs a site's pipeline offline over recorded batches — a
// sensor's JSON lines or the live server's journal — and writes the
// contract's positions.jsonl, report.json and a heatmap. The same input
// gives the same output, byte for byte, on the same platform.
package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// Config says what to replay and where to write.
type Config struct {
	SitePath string     // site file; or Site
	Site     *wire.Site // used when SitePath is empty
	In       string     // input file, "-" for Stdin; or Input
	Input    io.Reader
	Stdin    io.Reader

	Positions string // positions.jsonl to write ("" for none)
	Report    string // report.json to write
	Heatmap   string // heatmap PNG to write
	POS       string // till receipts CSV to read

	Lateness time.Duration
	Progress io.Writer // progress lines, nil for none
	// Skip names pseudonyms that are not people (anchors: fixed
	// transmitters), as the live server skips them (pipeline.Config.Skip).
	Skip func(wire.Dev) bool

	// OnPosition, when set, sees every position as it is computed.
	OnPosition func(wire.Position)
	// OnMerge, when set, learns of every merge of track from into track
	// into (pipeline.Merger): from's positions given so far are into's.
	OnMerge func(from, into string, t int64)
}

// Result summarises a replay.
type Result struct {
	Lines        int64
	Rejected     int64 // lines rejected as a whole (bad JSON, unknown sensor, ...)
	Observations int64
	Dropped      int64 // observations dropped by the contract's checks
	Late         int64 // observations that came after their time
	Dupes        int64 // redelivered batches
	Positions    int64
	Tracks       int
	Report       *wire.Report
	Ignored      []string // the site file's fields the site does not know (wire.Site.Ignored)
	Stats        []pipeline.SensorStats
}

// Run replays cfg.In through a fresh pipeline.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	site := cfg.Site
	if cfg.SitePath != "" {
		s, err := wire.LoadSite(cfg.SitePath)
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		site = s
	}
	if site == nil {
		return nil, errors.New("replay: no site")
	}
	var txns []footfall.Transaction
	if cfg.POS != "" {
		f, err := os.Open(cfg.POS)
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		txns, err = footfall.ParsePOSCSV(f, site.Location())
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("replay: pos %s: %w", cfg.POS, err)
		}
		for i := range txns {
			txns[i].Site = site.Site
		}
	}

	in, mem, size, closeIn, err := openInput(cfg)
	if err != nil {
		return nil, err
	}
	defer closeIn()

	plan := zones.NewPlan(site)
	counter := footfall.NewCounter(site, plan)
	out := &sink{counter: counter, onPos: cfg.OnPosition, onMerge: cfg.OnMerge}
	var posFile *os.File
	if cfg.Positions != "" {
		posFile, err = os.Create(cfg.Positions)
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		defer posFile.Close()
		out.w = bufio.NewWriterSize(posFile, 64<<10) // a few pages, reused
	}
	var tiles *heatmap.Tiles
	if cfg.Heatmap != "" {
		// Tiles of the site's clock hours: Span starts on one.
		tiles = heatmap.NewLocalTiles(site.Bounds, 0.5, site.Location())
		out.heat = heatmap.NewBuilder(tiles)
		out.heat.Log = heatmap.NewLog()
		out.staff = heatmap.NewPeriodTiles(site.Bounds, 0.5, tiles.Period())
		out.site = site
	}
	p, err := pipeline.New(pipeline.Config{Site: site, Zone: plan.Innermost, Lateness: cfg.Lateness, Skip: cfg.Skip}, out)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}

	res := &Result{Ignored: site.Ignored}
	counted := &countingReader{r: in}
	lines := wire.NewLinesAfter(mem, counted)
	read := func() int64 { return lines.MemRead() + counted.n.Load() }
	stopProgress := startProgress(cfg.Progress, read, size, res)
	var l wire.Line
	if mem != nil {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	}
	for next(lines, &l, &err) {
		if l.No%4096 == 0 && ctx.Err() != nil {
			stopProgress()
			return nil, ctx.Err()
		}
		atomic.AddInt64(&res.Lines, 1)
		if l.Err != nil {
			res.Rejected++
			continue
		}
		if err := p.Accept(l.Recv, &l.Batch, l.Drops); err != nil {
			if !errors.Is(err, pipeline.ErrDuplicate) {
				res.Rejected++
			}
			continue
		}
		atomic.AddInt64(&res.Observations, int64(len(l.Batch.Obs)))
	}
	stopProgress()
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if err := lines.Err(); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	p.Flush()
	counter.Flush()
	if out.err != nil {
		return nil, fmt.Errorf("replay: positions: %w", out.err)
	}
	if out.w != nil {
		if err := out.w.Flush(); err != nil {
			return nil, fmt.Errorf("replay: positions: %w", err)
		}
		if err := posFile.Close(); err != nil {
			return nil, fmt.Errorf("replay: positions: %w", err)
		}
	}

	res.Stats = p.Stats()
	for _, s := range res.Stats {
		res.Dropped += s.Dropped
		res.Late += s.Late
		res.Dupes += s.Dupes
	}
	res.Positions = p.Positions()
	res.Tracks = out.tracks()

	from, to := Span(site, p)
	days, visits := counter.TrackDays(), counter.Visits()
	// The input is the whole history: Build counts its visitor days itself
	// (a History of the same summaries would add nothing, and classify
	// them once more).
	rep, joins := footfall.BuildJoins(site, from, to, days, visits, txns, footfall.History{})
	res.Report = &rep
	res.Tracks -= out.joined(joins, days)
	out.ren.join(joins)
	if cfg.Positions != "" && !out.ren.empty() {
		if err := out.ren.rewrite(cfg.Positions); err != nil {
			return nil, fmt.Errorf("replay: positions: %w", err)
		}
	}
	if tiles != nil {
		out.heat.Flush()
		out.bake(math.MaxInt64, days, visits)
		g := tiles.Range(from, to)
		g.Sub(out.staff.Range(from, to))
		if err := writeHeatmap(cfg.Heatmap, site, g); err != nil {
			return nil, fmt.Errorf("replay: heatmap: %w", err)
		}
	}
	if cfg.Report != "" {
		if err := writeJSON(cfg.Report, rep); err != nil {
			return nil, fmt.Errorf("replay: report: %w", err)
		}
	}
	return res, nil
}

// Span returns the local hours the pipeline's input covers: from the start
// of the local hour of the first observation to the end of the hour of the
// last one.
func Span(site *wire.Site, p *pipeline.Pipeline) (from, to int64) {
	first, last, ok := p.Span()
	if !ok {
		return 0, 0
	}
	loc := site.Location()
	return HourFloor(first, loc), HourFloor(last, loc) + 3_600_000
}

// HourFloor returns the UTC millisecond at which the local clock hour that
// holds t (Unix ms) started: t less the local minutes, seconds and
// milliseconds past the hour. Every local hour lasts an hour, also on the
// days the clocks change.
func HourFloor(t int64, loc *time.Location) int64 {
	tt := time.UnixMilli(t).In(loc)
	return t - int64(tt.Minute())*60_000 - int64(tt.Second())*1000 - int64(tt.Nanosecond()/1e6)
}

// openInput opens the input. A regular file's whole lines are mapped into
// memory (mem), read in place without the copy of a read (2-3% of a
// replay's CPU); the rest of the file, and whatever is appended to it
// during the replay, is read after them from in, which starts where mem
// ends.
func openInput(cfg Config) (in io.Reader, mem []byte, size int64, closeIn func(), err error) {
	switch {
	case cfg.Input != nil:
		return cfg.Input, nil, 0, func() {}, nil
	case cfg.In == "-":
		if cfg.Stdin == nil {
			return os.Stdin, nil, 0, func() {}, nil
		}
		return cfg.Stdin, nil, 0, func() {}, nil
	case cfg.In != "":
		f, err := os.Open(cfg.In)
		if err != nil {
			return nil, nil, 0, nil, fmt.Errorf("replay: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			return f, nil, 0, func() { f.Close() }, nil
		}
		size = st.Size()
		if !st.Mode().IsRegular() {
			return f, nil, size, func() { f.Close() }, nil
		}
		data := mapFile(f, size)
		n := bytes.LastIndexByte(data, '\n') + 1
		if n == 0 {
			if data != nil {
				unmapFile(data)
			}
			return f, nil, size, func() { f.Close() }, nil
		}
		if _, err := f.Seek(int64(n), io.SeekStart); err != nil {
			unmapFile(data)
			return f, nil, size, func() { f.Close() }, nil
		}
		return f, data[:n], size, func() { unmapFile(data); f.Close() }, nil
	}
	return nil, nil, 0, nil, errors.New("replay: no input")
}

// next is lines.Next, with a fault in reading a mapped file (the file cut
// short while it is read: SIGBUS) turned into an error in *err; Run makes
// such faults panics (debug.SetPanicOnFault) while it reads.
func next(lines *wire.Lines, l *wire.Line, err *error) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			re, isFault := r.(interface{ Addr() uintptr })
			if !isFault {
				panic(r)
			}
			*err = fmt.Errorf("the input changed while it was read (fault at %#x)", re.Addr())
			ok = false
		}
	}()
	return lines.Next(l)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// sink receives the pipeline's positions.
type sink struct {
	w       *bufio.Writer
	buf     []byte
	err     error
	counter *footfall.Counter
	onPos   func(wire.Position)
	onMerge func(from, into string, t int64)
	heat    *heatmap.Builder
	staff   *heatmap.Tiles // the staff's occupancy (bake)
	site    *wire.Site
	trackN  map[string]struct{}
	n       int64   // positions given
	ren     renamer // the tracks joined later, for positions.jsonl
}

func (s *sink) Position(p wire.Position) {
	if s.w != nil && s.err == nil {
		s.buf = wire.AppendPosition(s.buf[:0], &p)
		s.buf = append(s.buf, '\n')
		_, s.err = s.w.Write(s.buf)
	}
	s.n++
	s.counter.Add(p)
	if s.heat != nil {
		// A copy for the heatmap: p's address escapes through Builder.Add,
		// and p itself would be allocated for every position.
		q := p
		s.heat.Add(&q)
	}
	if s.onPos != nil {
		s.onPos(p)
	}
	if s.trackN == nil {
		s.trackN = map[string]struct{}{}
	}
	if _, ok := s.trackN[p.Track]; !ok { // a lookup is cheaper than an assignment
		s.trackN[p.Track] = struct{}{}
	}
}

// Merge counts track from's positions as into's.
func (s *sink) Merge(from, into string, t int64) {
	s.counter.Merge(from, into)
	if s.heat != nil {
		s.heat.Log.Merge(from, into)
	}
	s.ren.merge(from, into, s.n)
	delete(s.trackN, from)
	if s.onMerge != nil {
		s.onMerge(from, into, t)
	}
}

func (s *sink) Advance(now int64) {
	s.counter.Advance(now)
	if s.heat != nil {
		s.heat.Expire(now)
		loc := s.site.Location()
		y, m, d := time.UnixMilli(now - s.heat.Cap).In(loc).Date()
		if cut := time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMilli(); s.heat.Log.First() < cut {
			s.bake(cut, s.counter.TrackDays(), s.counter.Visits())
		}
	}
}

// bake moves the heatmap's spans that start before cut into the staff's
// tiles when their day's classification makes their track staff, and
// forgets them: the heatmap shows people, not staff (docs/heatmap.md).
func (s *sink) bake(cut int64, days []footfall.TrackDay, visits []footfall.Visit) {
	st := footfall.NewStaffOn(s.site.Location(), footfall.StaffDays(s.site, days, visits), nil, "")
	s.heat.Log.Move(s.staff, cut, st.Is)
}

// writeHeatmap renders the occupancy g as a PNG with the site's zones and
// sensors.
func writeHeatmap(path string, site *wire.Site, g *heatmap.Grid) error {
	st := heatmap.Style{Sqrt: true, Fade: true, Zones: site.Zones, Title: site.Name + " - occupancy (staff left out)",
		Label: func(v float64) string {
			if v >= 3600 {
				return fmt.Sprintf("%.1f h", v/3600)
			}
			return fmt.Sprintf("%.0f min", v/60)
		}}
	for _, se := range site.Sensors {
		st.Points = append(st.Points, wire.Point{se.X, se.Y})
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := heatmap.WritePNG(f, heatmap.Render(g, st)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (s *sink) tracks() int { return len(s.trackN) }

// joined returns how many of the tracks given no longer appear under their
// own name once joins are made (footfall.Joins): those whose every
// track-day in days was joined into another track. A track joined on one
// day keeps its name on the others.
func (s *sink) joined(js []footfall.Join, days []footfall.TrackDay) int {
	n := map[string]int{} // per joined track: its joins less its track-days
	for _, j := range js {
		n[j.Track]++
	}
	type key struct{ track, day string }
	seen := map[key]bool{}
	for _, d := range days {
		k := key{d.Track, d.Day}
		if _, ok := n[d.Track]; ok && !seen[k] {
			seen[k] = true
			n[d.Track]--
		}
	}
	gone := 0
	for t, more := range n {
		if _, ok := s.trackN[t]; ok && more >= 0 {
			gone++
		}
	}
	return gone
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// startProgress prints a progress line every second until stopped.
func startProgress(w io.Writer, read func() int64, size int64, res *Result) func() {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				obs := atomic.LoadInt64(&res.Observations)
				rate := float64(obs) / time.Since(start).Seconds()
				if size > 0 {
					fmt.Fprintf(w, "replay: %5.1f%%  %d observations  %.0f obs/s\n",
						100*float64(read())/float64(size), obs, rate)
				} else {
					fmt.Fprintf(w, "replay: %d MB read  %d observations  %.0f obs/s\n",
						read()>>20, obs, rate)
				}
			}
		}
	}()
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			close(done)
			<-finished
		}
	}
}
