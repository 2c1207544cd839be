package calibration

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// Walk constants.
const (
	// MaxMarkGap is the longest gap between two marks of one device over
	// which the device is taken to have moved in a straight line (contract).
	MaxMarkGap = 10_000 // ms
	// MarkTolerance: a frame this close to a mark that has no neighbour
	// within MaxMarkGap counts at the mark (the installer stood there).
	MarkTolerance = 1_000 // ms
	// BurstGap separates two probe bursts of one device.
	BurstGap = 500 // ms
	// DefaultFolds is the number of contiguous stretches the walk is cut
	// into for leave-one-segment-out validation.
	DefaultFolds = 6
)

// ReadWalk reads walk.jsonl: one wire.WalkMark a line, each with exactly one
// of dev and track. Blank lines are skipped; a bad line is an error naming it.
func ReadWalk(r io.Reader) ([]wire.WalkMark, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var marks []wire.WalkMark
	no := 0
	for sc.Scan() {
		no++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var m wire.WalkMark
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("calibration: walk line %d: %w", no, err)
		}
		var xy struct{ X, Y *float64 }
		if json.Unmarshal(line, &xy); xy.X == nil || xy.Y == nil {
			return nil, fmt.Errorf("calibration: walk line %d: want x and y", no)
		}
		if (m.Dev == nil) == (m.Track == "") {
			return nil, fmt.Errorf("calibration: walk line %d: want exactly one of dev and track", no)
		}
		if m.T <= 0 || math.IsNaN(m.X) || math.IsNaN(m.Y) || math.IsInf(m.X, 0) || math.IsInf(m.Y, 0) {
			return nil, fmt.Errorf("calibration: walk line %d: bad time or position", no)
		}
		marks = append(marks, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("calibration: walk after line %d: %w", no, err)
	}
	return marks, nil
}

// markKey names the walker of a mark: its dev, or its track.
func markKey(m *wire.WalkMark) string {
	if m.Dev != nil {
		return "dev:" + m.Dev.String()
	}
	return "track:" + m.Track
}

// Walk is a calibration walk: where each reference device was when.
type Walk struct {
	paths      map[string][]wire.WalkMark // by markKey, sorted by T
	t0, t1     int64
	folds      int
	hasTrack   bool
	devs       map[wire.Dev]bool
	trackNames map[string]bool
}

// NewWalk indexes marks. folds is the number of validation segments (0:
// DefaultFolds).
func NewWalk(marks []wire.WalkMark, folds int) (*Walk, error) {
	if len(marks) == 0 {
		return nil, fmt.Errorf("calibration: the walk has no marks")
	}
	if folds <= 0 {
		folds = DefaultFolds
	}
	w := &Walk{paths: map[string][]wire.WalkMark{}, folds: folds, t0: math.MaxInt64, t1: math.MinInt64,
		devs: map[wire.Dev]bool{}, trackNames: map[string]bool{}}
	for _, m := range marks {
		k := markKey(&m)
		w.paths[k] = append(w.paths[k], m)
		w.t0 = min(w.t0, m.T)
		w.t1 = max(w.t1, m.T)
		if m.Dev != nil {
			w.devs[*m.Dev] = true
		} else {
			w.hasTrack = true
			w.trackNames[m.Track] = true
		}
	}
	for _, p := range w.paths {
		sort.SliceStable(p, func(i, j int) bool { return p[i].T < p[j].T })
	}
	return w, nil
}

// UsesTracks reports whether any mark names a track rather than a dev.
func (w *Walk) UsesTracks() bool { return w.hasTrack }

// At returns where the walker key was at time t, by linear interpolation
// between its marks less than MaxMarkGap apart, and the validation segment
// of t.
func (w *Walk) At(key string, t int64) (x, y float64, seg int, ok bool) {
	p := w.paths[key]
	i := sort.Search(len(p), func(i int) bool { return p[i].T > t }) // first mark after t
	switch {
	case i > 0 && i < len(p) && p[i].T-p[i-1].T < MaxMarkGap:
		a, b := p[i-1], p[i]
		f := 0.0
		if b.T > a.T {
			f = float64(t-a.T) / float64(b.T-a.T)
		}
		x, y, ok = a.X+f*(b.X-a.X), a.Y+f*(b.Y-a.Y), true
	case i > 0 && t-p[i-1].T <= MarkTolerance && (i == len(p) || p[i].T-p[i-1].T >= MaxMarkGap):
		x, y, ok = p[i-1].X, p[i-1].Y, true
	case i < len(p) && p[i].T-t <= MarkTolerance && (i == 0 || p[i].T-p[i-1].T >= MaxMarkGap):
		x, y, ok = p[i].X, p[i].Y, true
	}
	return x, y, w.Seg(t), ok
}

// Seg returns the validation segment of time t: the walk's time span cut
// into Folds contiguous stretches.
func (w *Walk) Seg(t int64) int {
	span := w.t1 - w.t0 + 1
	s := int(float64(t-w.t0) / float64(span) * float64(w.folds))
	return min(max(s, 0), w.folds-1)
}

// Folds returns the number of validation segments.
func (w *Walk) Folds() int { return w.folds }

// TruthBurst is a probe burst of the reference device with where it was.
type TruthBurst struct {
	Burst  locate.Burst
	X, Y   float64
	Seg    int
	frames int
}

// Data is what a walk gives a fit: per sensor the frames with their true
// distances, and the bursts with their true positions.
type Data struct {
	floor   [2]float64 // detection floor of 2.4 and 5 GHz frames as heard; 0 unknown
	Site    *wire.Site
	Samples [][]Sample // by sensor index: the frames heard
	// Missed holds, by sensor index, the frames of the walk the sensor did
	// not hear: in each burst, on each channel, as many as the most any
	// other sensor heard, less the sensor's own (RSSI 0; Censor set).
	Missed  [][]Sample
	Bursts  []TruthBurst
	Frames  int // frames of the reference devices used
	Skipped int // frames of the reference devices at times the walk does not cover
	Unknown int // frames from sensors the site does not know
	Walkers int // reference devices (or tracks) heard
}

type frame struct {
	t      int64
	sensor int
	rssi   float64 // moved to 2.4 GHz
	raw    float64 // as heard
	band5  bool
	ch     int
}

// Collector gathers the frames of a walk's reference devices from batches.
type Collector struct {
	site    *wire.Site
	walk    *Walk
	trackOf func(wire.Dev) string
	sensors map[string]int
	frames  map[string][]frame
	unknown int
}

// NewCollector gathers frames for walk at site. trackOf maps a pseudonym to
// the track it belongs to; it is needed when marks name tracks and may be nil
// otherwise.
func NewCollector(site *wire.Site, walk *Walk, trackOf func(wire.Dev) string) (*Collector, error) {
	if walk.UsesTracks() && trackOf == nil {
		return nil, fmt.Errorf("calibration: the walk names tracks; give the dev→track mapping (positions)")
	}
	c := &Collector{site: site, walk: walk, trackOf: trackOf, sensors: map[string]int{}, frames: map[string][]frame{}}
	for i, s := range site.Sensors {
		c.sensors[s.ID] = i
	}
	return c, nil
}

// Add takes the frames of a batch that come from a walker.
func (c *Collector) Add(b *wire.Batch) {
	si, ok := c.sensors[b.Sensor]
	for i := range b.Obs {
		o := &b.Obs[i]
		key := ""
		if c.walk.devs[o.Dev] {
			key = "dev:" + o.Dev.String()
		} else if c.trackOf != nil {
			if tr := c.trackOf(o.Dev); tr != "" && c.walk.trackNames[tr] {
				key = "track:" + tr
			}
		}
		if key == "" {
			continue
		}
		if !ok {
			c.unknown++
			continue
		}
		r := o.RSSI
		if o.Band5GHz() {
			r -= c.site.SensorRadio(si).Offset5GHz
		}
		c.frames[key] = append(c.frames[key], frame{t: o.T, sensor: si, rssi: r, raw: o.RSSI, band5: o.Band5GHz(), ch: o.Ch})
	}
}

// Data returns the samples and bursts gathered so far.
func (c *Collector) Data() *Data {
	site := c.site
	d := &Data{Site: site, Samples: make([][]Sample, len(site.Sensors)), Missed: make([][]Sample, len(site.Sensors)), Unknown: c.unknown}
	z := site.Radio.PhoneZ
	if z == 0 {
		z = wire.DefaultPhoneZ
	}
	keys := make([]string, 0, len(c.frames))
	var raw [2][]float64
	for k, fs := range c.frames {
		keys = append(keys, k)
		for _, f := range fs {
			b := 0
			if f.band5 {
				b = 1
			}
			raw[b] = append(raw[b], f.raw)
		}
	}
	// The walker with the most frames is the reference (Src 0): fitted
	// rssi_1m values are relative to its transmit power.
	sort.Slice(keys, func(i, j int) bool {
		if a, b := len(c.frames[keys[i]]), len(c.frames[keys[j]]); a != b {
			return a > b
		}
		return keys[i] < keys[j]
	})
	d.floor = [2]float64{detectionFloor(raw[0]), detectionFloor(raw[1])}
	d.Walkers = len(keys)
	for src, key := range keys {
		fs := c.frames[key]
		slices.SortStableFunc(fs, func(a, b frame) int { return cmp.Compare(a.t, b.t) })
		var dev wire.Dev
		if len(key) > 4 && key[:4] == "dev:" {
			dev, _ = wire.ParseDev(key[4:])
		}
		for start := 0; start < len(fs); {
			end := start + 1
			for end < len(fs) && fs[end].t-fs[end-1].t <= BurstGap {
				end++
			}
			d.addBurst(key, src, dev, fs[start:end], c.walk, z)
			start = end
		}
	}
	slices.SortStableFunc(d.Bursts, func(a, b TruthBurst) int { return cmp.Compare(a.Burst.T, b.Burst.T) })
	return d
}

func (d *Data) addBurst(key string, src int, dev wire.Dev, fs []frame, w *Walk, z float64) {
	site := d.Site
	type acc struct {
		sum float64
		n   int
	}
	per := map[int]*acc{}
	// Frames heard per channel and sensor, and when the channel's frames
	// came (for the frames a sensor missed).
	type chanAcc struct {
		ch    int
		n     []int // by sensor
		t     int64
		count int64
		band5 bool
	}
	var chans []chanAcc
	distTo := func(si int, x, y float64) float64 {
		s := &site.Sensors[si]
		return math.Sqrt((x-s.X)*(x-s.X) + (y-s.Y)*(y-s.Y) + (z-s.Z)*(z-s.Z))
	}
	for _, f := range fs {
		x, y, seg, ok := w.At(key, f.t)
		if !ok {
			d.Skipped++
			continue
		}
		d.Frames++
		smp := Sample{RSSI: f.rssi, D: distTo(f.sensor, x, y), Seg: seg, Src: src, Band5: f.band5, Ch: f.ch}
		if f.band5 && d.floor[1] != 0 {
			smp.Floor = d.floor[1] - site.SensorRadio(f.sensor).Offset5GHz
			smp.Censor = smp.Floor + CensorMargin
		} else if !f.band5 && d.floor[0] != 0 {
			smp.Floor = d.floor[0]
			smp.Censor = smp.Floor + CensorMargin
		}
		d.Samples[f.sensor] = append(d.Samples[f.sensor], smp)
		a := per[f.sensor]
		if a == nil {
			a = &acc{}
			per[f.sensor] = a
		}
		a.sum += f.rssi
		a.n++
		ci := 0
		for ci < len(chans) && chans[ci].ch != f.ch {
			ci++
		}
		if ci == len(chans) {
			chans = append(chans, chanAcc{ch: f.ch, n: make([]int, len(site.Sensors)), band5: f.band5})
		}
		c := &chans[ci]
		c.n[f.sensor]++
		c.t += f.t
		c.count++
	}
	if len(per) == 0 {
		return
	}
	// The frames each sensor missed: on each channel, the most that any
	// other sensor heard less its own (the others' hearing is independent
	// of this sensor's fading, so these are an unselected sample).
	sort.Slice(chans, func(i, j int) bool { return chans[i].ch < chans[j].ch })
	for ci := range chans {
		c := &chans[ci]
		t := c.t / c.count
		x, y, seg, ok := w.At(key, t)
		if !ok {
			continue
		}
		b := 0
		if c.band5 {
			b = 1
		}
		if d.floor[b] == 0 {
			continue
		}
		for si := range site.Sensors {
			most := 0
			for sj, n := range c.n {
				if sj != si {
					most = max(most, n)
				}
			}
			if c.n[si] >= most {
				continue
			}
			cens := d.floor[b] + CensorMargin
			if c.band5 {
				cens -= site.SensorRadio(si).Offset5GHz
			}
			for k := c.n[si]; k < most; k++ {
				d.Missed[si] = append(d.Missed[si], Sample{D: distTo(si, x, y), Seg: seg, Src: src, Band5: c.band5, Ch: c.ch, Censor: cens})
			}
		}
	}
	mid := (fs[0].t + fs[len(fs)-1].t) / 2
	x, y, seg, ok := w.At(key, mid)
	if !ok {
		return
	}
	b := TruthBurst{X: x, Y: y, Seg: seg, frames: len(fs),
		Burst: locate.Burst{T: fs[0].t, End: fs[len(fs)-1].t, Dev: dev, SeqFirst: -1, SeqLast: -1}}
	for si, a := range per {
		b.Burst.Readings = append(b.Burst.Readings, locate.Reading{Sensor: si, RSSI: a.sum / float64(a.n), N: a.n})
	}
	sort.Slice(b.Burst.Readings, func(i, j int) bool { return b.Burst.Readings[i].Sensor < b.Burst.Readings[j].Sensor })
	d.Bursts = append(d.Bursts, b)
}

// detectionFloor estimates the sensors' detection floor from the frames
// heard (dBm as heard): the 0.2% quantile, where the weakest frames pile up
// (the sensors are taken to be alike); 0 when there are fewer than 200.
// Near the floor only frames that happened to come in strong are heard,
// which would flatten a fitted exponent; Fit leaves such frames out.
func detectionFloor(raw []float64) float64 {
	if len(raw) < 200 {
		return 0
	}
	sort.Float64s(raw)
	return raw[len(raw)/500]
}

// Collect reads obs.jsonl (batches or journal lines) and gathers the walk's
// frames. Rejected lines are counted in rejected and skipped.
func Collect(site *wire.Site, walk *Walk, obs io.Reader, trackOf func(wire.Dev) string) (d *Data, rejected int, err error) {
	c, err := NewCollector(site, walk, trackOf)
	if err != nil {
		return nil, 0, err
	}
	lines := wire.NewLines(obs)
	var l wire.Line
	for lines.Next(&l) {
		if l.Err != nil {
			rejected++
			continue
		}
		c.Add(&l.Batch)
	}
	if err := lines.Err(); err != nil {
		return nil, rejected, fmt.Errorf("calibration: %w", err)
	}
	return c.Data(), rejected, nil
}
