package pipeline

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/wire"
)

const siteJSON = `{"site":"t","timezone":"Europe/Berlin","bounds":[[-2,-8],[22,17]],
 "radio":{"rssi_1m":-45,"exponent":2.5,"offset_5ghz":-6},
 "sensors":[{"id":"a","x":0,"y":0,"z":2.5},{"id":"b","x":20,"y":0,"z":2.5},
            {"id":"c","x":20,"y":15,"z":2.5},{"id":"d","x":0,"y":15,"z":2.5}],
 "zones":[{"id":"street","kind":"outside","polygon":[[-2,-8],[22,-8],[22,0],[-2,0]]},
          {"id":"store","kind":"store","polygon":[[0,0],[20,0],[20,15],[0,15]]}]}`

func testSite(t testing.TB) *wire.Site {
	s, err := wire.ParseSite([]byte(siteJSON), false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// world makes the batches four sensors would send for devices standing at
// given points, probing every 20 s with bursts of three frames, with the
// sensors' clocks off by the given offsets.
type world struct {
	site    *wire.Site
	offsets []int64 // ms, sensor clock minus true time
	rng     *rand.Rand
}

type device struct {
	dev  wire.Dev
	x, y float64
	seq  int
}

func (w *world) rssi(s int, x, y float64) float64 {
	se := w.site.Sensors[s]
	d := math.Sqrt((x-se.X)*(x-se.X) + (y-se.Y)*(y-se.Y) + (1.2-se.Z)*(1.2-se.Z))
	return math.Round(-45 - 25*math.Log10(d) + w.rng.NormFloat64()*2)
}

// batches returns the sensors' batches for [t0, t0+dur) of true time, one
// batch per sensor per second, in the order they would arrive.
func (w *world) batches(devs []*device, t0, dur int64) []*wire.Batch {
	var out []*wire.Batch
	ids := make([]int64, len(w.site.Sensors))
	for sec := t0; sec < t0+dur; sec += 1000 {
		for s := range w.site.Sensors {
			b := &wire.Batch{V: 1, Sensor: w.site.Sensors[s].ID, Boot: 1, Sent: sec + 1000 + w.offsets[s]}
			ids[s]++
			b.ID = ids[s]
			for _, d := range devs {
				for f := 0; f < 3; f++ {
					tt := sec + int64(f*20)
					if (tt/1000)%20 != int64(d.dev)%20 {
						continue
					}
					b.Obs = append(b.Obs, wire.Observation{T: tt + w.offsets[s], Dev: d.dev, RSSI: w.rssi(s, d.x, d.y), Ch: 6, Seq: (d.seq + f) % 4096, Kind: wire.KindProbe})
				}
			}
			out = append(out, b)
		}
		for _, d := range devs {
			if (sec/1000)%20 == int64(d.dev)%20 {
				d.seq += 3
			}
		}
	}
	return out
}

type collect struct {
	pos     []wire.Position
	advance int64
}

func (c *collect) Position(p wire.Position) { c.pos = append(c.pos, p) }
func (c *collect) Advance(now int64)        { c.advance = now }

func run(t testing.TB, batches []*wire.Batch) (*Pipeline, *collect) {
	site := testSite(t)
	c := &collect{}
	p, err := New(Config{Site: site}, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		cp := *b
		cp.Obs = append([]wire.Observation(nil), b.Obs...)
		if err := p.Accept(0, &cp, wire.Drops{}); err != nil && !errors.Is(err, ErrDuplicate) {
			t.Fatal(err)
		}
	}
	p.Flush()
	return p, c
}

func TestPipelineLocatesAlignsAndOrders(t *testing.T) {
	w := &world{site: testSite(t), offsets: []int64{0, 250, -180, 90}, rng: rand.New(rand.NewPCG(1, 2))}
	devs := []*device{{dev: 3, x: 5, y: 5}, {dev: 7, x: 15, y: 10}, {dev: 11, x: 10, y: -4}}
	batches := w.batches(devs, 1_764_850_000_000, 10*60_000)
	// Redeliver a few batches: they must change nothing.
	batches = append(batches[:40:40], append([]*wire.Batch{batches[3], batches[10]}, batches[40:]...)...)
	p, c := run(t, batches)
	if len(c.pos) < 3*25 {
		t.Fatalf("%d positions", len(c.pos))
	}
	for i := 1; i < len(c.pos); i++ {
		if c.pos[i].T < c.pos[i-1].T {
			t.Fatalf("positions out of order at %d", i)
		}
	}
	var errs []float64
	for _, pos := range c.pos {
		var d *device
		for _, dd := range devs {
			if dd.dev == pos.Dev {
				d = dd
			}
		}
		if pos.N != 4 {
			t.Fatalf("fix from %d sensors: %+v", pos.N, pos)
		}
		errs = append(errs, math.Hypot(pos.X-d.x, pos.Y-d.y))
	}
	if m := median(errs); m > 3 {
		t.Fatalf("median error %.2f m", m)
	}
	st := p.Stats()
	var dupes int64
	for i, s := range st {
		dupes += s.Dupes
		if d := s.Offset - (w.offsets[i] - 40); math.Abs(float64(d)) > 15 {
			t.Errorf("sensor %s: offset %d, true %d relative to the mean", s.ID, s.Offset, w.offsets[i]-40)
		}
		if s.Lost != 0 || s.Late != 0 {
			t.Errorf("sensor %s: lost %d late %d", s.ID, s.Lost, s.Late)
		}
	}
	if dupes != 2 {
		t.Fatalf("dupes %d, want 2", dupes)
	}
}

func TestPipelineIsDeterministic(t *testing.T) {
	mk := func() []byte {
		w := &world{site: testSite(t), offsets: []int64{0, 120, -80, 30}, rng: rand.New(rand.NewPCG(7, 7))}
		devs := []*device{{dev: 1, x: 2, y: 3}, {dev: 2, x: 18, y: 12}, {dev: 5, x: 9, y: -5}}
		_, c := run(t, w.batches(devs, 1_764_850_000_000, 5*60_000))
		var buf []byte
		for i := range c.pos {
			buf = wire.AppendPosition(buf, &c.pos[i])
			buf = append(buf, '\n')
		}
		return buf
	}
	a, b := mk(), mk()
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("two runs differ (%d, %d bytes)", len(a), len(b))
	}
}

func TestPipelineCountsLossAndLateness(t *testing.T) {
	w := &world{site: testSite(t), offsets: []int64{0, 0, 0, 0}, rng: rand.New(rand.NewPCG(3, 3))}
	devs := []*device{{dev: 4, x: 5, y: 5}}
	batches := w.batches(devs, 1_764_850_000_000, 60_000)
	// Drop sensor a's 5th batch, and hold back b's 5th by 20 s.
	var in []*wire.Batch
	var held *wire.Batch
	for i, b := range batches {
		switch {
		case b.Sensor == "a" && b.ID == 5:
			continue
		case b.Sensor == "b" && b.ID == 5:
			held = b
			continue
		}
		in = append(in, b)
		if i == 4*25 {
			in = append(in, held)
		}
	}
	p, _ := run(t, in)
	st := p.Stats()
	if st[0].Lost != 1 {
		t.Errorf("a lost %d, want 1", st[0].Lost)
	}
	if st[1].Lost != 0 {
		t.Errorf("b lost %d after the late batch filled the gap", st[1].Lost)
	}
	if st[1].Late == 0 {
		t.Errorf("b's held batch was not late: %+v", st[1])
	}
}

func TestDedup(t *testing.T) {
	var d dedup
	for _, c := range []struct {
		boot, id int64
		ok       bool
	}{{1, 1, true}, {1, 2, true}, {1, 2, false}, {1, 5, true}, {1, 4, true}, {1, 4, false}, {2, 3, true}, {2, 1, true}, {1, 9, true}, {0, 0, true}} {
		if got := d.accept(c.boot, c.id); got != c.ok {
			t.Fatalf("(%d,%d): %v", c.boot, c.id, got)
		}
	}
	// Boot 1: ids 3 lost then... 3 stays lost; boot 2: 2 lost, 1 filled.
	if d.lost != 1+1 || d.dupes != 2 {
		t.Fatalf("lost %d dupes %d", d.lost, d.dupes)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

func BenchmarkPipeline(b *testing.B) {
	w := &world{site: testSite(b), offsets: []int64{0, 120, -80, 30}, rng: rand.New(rand.NewPCG(7, 7))}
	var devs []*device
	for i := 0; i < 200; i++ {
		devs = append(devs, &device{dev: wire.Dev(i + 1), x: w.rng.Float64() * 20, y: w.rng.Float64()*23 - 8})
	}
	batches := w.batches(devs, 1_764_850_000_000, 5*60_000)
	var n int
	for _, bb := range batches {
		n += len(bb.Obs)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, _ := New(Config{Site: testSite(b)}, &collect{})
		for _, bb := range batches {
			p.Accept(0, bb, wire.Drops{})
		}
		p.Flush()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "obs/s")
}
