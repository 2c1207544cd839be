package calibration

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/passant/passant/wire"
)

// world is a seeded simulated shop for the tests: sensors whose true
// rssi_1m and exponent differ from the site's defaults, log-distance path
// loss with per-burst shadowing and per-frame fading, and a walking phone.
type world struct {
	site   *wire.Site
	true_  []Params
	shadow float64 // per-burst, per-sensor shadowing sigma, dB
	fading float64 // per-frame sigma, dB
	floor  float64 // sensitivity, dBm
	// five, when not 0, is the true 5 GHz offset, dB: each burst then
	// also has a frame on channel 36.
	five float64
}

func newWorld() *world {
	site := &wire.Site{Site: "sim", Bounds: wire.Rect{{-2, -8}, {32, 22}},
		Radio: wire.Radio{RSSI1m: -45, Exponent: 2.5, Offset5GHz: -6, PhoneZ: 1.2},
		Sensors: []wire.Sensor{
			{ID: "s1", X: 1, Y: 1, Z: 2.5}, {ID: "s2", X: 29, Y: 1, Z: 2.5},
			{ID: "s3", X: 29, Y: 19, Z: 2.5}, {ID: "s4", X: 1, Y: 19, Z: 2.5},
			{ID: "s5", X: 15, Y: 10, Z: 2.5}, {ID: "s6", X: 15, Y: 19, Z: 2.5},
		},
		Zones:    []wire.Zone{{ID: "store", Kind: wire.ZoneStore, Polygon: []wire.Point{{0, 0}, {30, 0}, {30, 20}, {0, 20}}}},
		Footfall: wire.Footfall{VisitorMinDwellS: 60, VisitGapS: 900, StaffMinDwellS: 14400, HistoryDays: 30},
	}
	return &world{site: site,
		true_:  []Params{{-41, 2.15}, {-50, 2.85}, {-43, 2.3}, {-51, 3.0}, {-47.5, 2.7}, {-39, 2.2}},
		shadow: 3, fading: 3, floor: -95}
}

// walkPath is a phone walking through random waypoints at speed m/s.
type walkPath struct {
	pts []wire.Point
	ts  []int64
}

func randomWalk(rng *rand.Rand, t0 int64, dur int64, speed float64, area wire.Rect) walkPath {
	p := walkPath{pts: []wire.Point{{area[0][0] + rng.Float64()*(area[1][0]-area[0][0]), area[0][1] + rng.Float64()*(area[1][1]-area[0][1])}}, ts: []int64{t0}}
	for p.ts[len(p.ts)-1] < t0+dur {
		last := p.pts[len(p.pts)-1]
		next := wire.Point{area[0][0] + rng.Float64()*(area[1][0]-area[0][0]), area[0][1] + rng.Float64()*(area[1][1]-area[0][1])}
		d := math.Hypot(next[0]-last[0], next[1]-last[1])
		p.pts = append(p.pts, next)
		p.ts = append(p.ts, p.ts[len(p.ts)-1]+int64(d/speed*1000))
	}
	return p
}

func (p walkPath) at(t int64) (float64, float64) {
	i := sort.Search(len(p.ts), func(i int) bool { return p.ts[i] > t })
	if i == 0 {
		return p.pts[0][0], p.pts[0][1]
	}
	if i == len(p.ts) {
		q := p.pts[len(p.pts)-1]
		return q[0], q[1]
	}
	a, b := p.pts[i-1], p.pts[i]
	f := float64(t-p.ts[i-1]) / float64(max(p.ts[i]-p.ts[i-1], 1))
	return a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])
}

// installerWalk is a calibration route: under each sensor in turn, pausing
// there for 10 s, with a random point of the floor between two sensors,
// until dur has passed.
func installerWalk(rng *rand.Rand, site *wire.Site, t0, dur int64, speed float64, area wire.Rect) walkPath {
	rnd := func() wire.Point {
		return wire.Point{area[0][0] + rng.Float64()*(area[1][0]-area[0][0]), area[0][1] + rng.Float64()*(area[1][1]-area[0][1])}
	}
	p := walkPath{pts: []wire.Point{rnd()}, ts: []int64{t0}}
	for k := 0; p.ts[len(p.ts)-1] < t0+dur; k++ {
		next := rnd()
		if k%2 == 0 {
			s := site.Sensors[(k/2)%len(site.Sensors)]
			next = area.Clamp(wire.Point{s.X + rng.NormFloat64()*0.3, s.Y + rng.NormFloat64()*0.3})
		}
		last := p.pts[len(p.pts)-1]
		d := math.Hypot(next[0]-last[0], next[1]-last[1])
		p.pts = append(p.pts, next)
		p.ts = append(p.ts, p.ts[len(p.ts)-1]+int64(d/speed*1000))
		if k%2 == 0 {
			p.pts = append(p.pts, next)
			p.ts = append(p.ts, p.ts[len(p.ts)-1]+10000)
		}
	}
	return p
}

// marks returns walk marks every step ms (and at each waypoint).
func (p walkPath) marks(dev wire.Dev, t0, t1, step int64) []wire.WalkMark {
	var ts []int64
	for t := t0; t <= t1; t += step {
		ts = append(ts, t)
	}
	for _, t := range p.ts {
		if t > t0 && t < t1 {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	var ms []wire.WalkMark
	for _, t := range ts {
		x, y := p.at(t)
		d := dev
		ms = append(ms, wire.WalkMark{T: t, Dev: &d, X: x, Y: y})
	}
	return ms
}

// batches simulates the phone probing every period ms (bursts of three
// frames on channels 1, 6, 11) from t0 to t1, heard by every sensor, with
// the phone's transmit offset tx dB. One batch per sensor per burst.
func (w *world) batches(rng *rand.Rand, p walkPath, dev wire.Dev, tx float64, t0, t1, period int64) []wire.Batch {
	var out []wire.Batch
	z := w.site.Radio.PhoneZ
	for t := t0; t <= t1; t += period + int64(rng.IntN(400)) {
		x, y := p.at(t)
		for i, s := range w.site.Sensors {
			d := math.Sqrt((x-s.X)*(x-s.X) + (y-s.Y)*(y-s.Y) + (z-s.Z)*(z-s.Z))
			mean := w.true_[i].RSSI1m + tx - 10*w.true_[i].Exponent*math.Log10(d) + w.shadow*rng.NormFloat64()
			b := wire.Batch{V: 1, Sensor: s.ID, Sent: t + 100}
			chans := []int{1, 6, 11}
			if w.five != 0 {
				chans = append(chans, 36)
			}
			for k, ch := range chans {
				r := mean + w.fading*rng.NormFloat64()
				if ch > 14 {
					r += w.five
				}
				if r < w.floor {
					continue
				}
				r = math.Round(math.Min(r, 0))
				b.Obs = append(b.Obs, wire.Observation{T: t + int64(20*k), Dev: dev, RSSI: r, Ch: ch, Kind: wire.KindProbe, Seq: -1})
			}
			if len(b.Obs) > 0 {
				out = append(out, b)
			}
		}
	}
	return out
}

// data runs a simulated walk of dur ms through a Collector.
// sim simulates a walk of dur ms: its marks and the sensors' batches. With
// route true the phone follows an installer's route (under each sensor),
// else it wanders like a shopper.
func (w *world) sim(seed uint64, dur int64, tx float64, route bool) ([]wire.WalkMark, []wire.Batch) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	const t0 = 1764850000000
	dev := wire.Dev(0x3f9a0c1d2e4b5a69 ^ seed)
	area := wire.Rect{{0.5, 0.5}, {29.5, 19.5}}
	var p walkPath
	if route {
		p = installerWalk(rng, w.site, t0, dur, 0.8, area)
	} else {
		p = randomWalk(rng, t0, dur, 0.8, area)
	}
	return p.marks(dev, t0, t0+dur, 5000), w.batches(rng, p, dev, tx, t0, t0+dur, 2000)
}

// data runs a simulated walk through a Collector.
func (w *world) data(seed uint64, dur int64, tx float64, route bool) (*Data, *Walk) {
	marks, batches := w.sim(seed, dur, tx, route)
	walk, err := NewWalk(marks, 0)
	if err != nil {
		panic(err)
	}
	c, err := NewCollector(w.site, walk, nil)
	if err != nil {
		panic(err)
	}
	for i := range batches {
		c.Add(&batches[i])
	}
	return c.Data(), walk
}
