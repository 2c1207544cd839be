package sim

import (
	"math"
	"math/rand/v2"

	"github.com/passant/passant/wire"
)

// Classes of people.
const (
	Shopper  = "shopper"
	Passerby = "passerby"
	Staff    = "staff"
	// Installer is a scripted walker (AddWalker): the calibration walk.
	Installer = "installer"
)

// leg is a straight walk from A at time T0 to B at time T1 (A = B: a pause).
type leg struct {
	t0, t1 float64 // ms
	a, b   wire.Point
}

// person is one simulated human with a path and perhaps a probing phone.
type person struct {
	id     string
	class  string
	legs   []leg
	cur    int // leg cursor: positions are asked in time order
	visits []Visit
	phone  *phone
	rng    *rand.Rand // a scripted walker's own stream; nil: the shop's
}

func (p *person) start() float64 { return p.legs[0].t0 }
func (p *person) end() float64   { return p.legs[len(p.legs)-1].t1 }

// at returns the position at time t (ms), clamped to the path's ends.
func (p *person) at(t float64) wire.Point {
	for p.cur < len(p.legs)-1 && t > p.legs[p.cur].t1 {
		p.cur++
	}
	l := &p.legs[p.cur]
	if t <= l.t0 || l.t1 <= l.t0 {
		return l.a
	}
	if t >= l.t1 {
		return l.b
	}
	f := (t - l.t0) / (l.t1 - l.t0)
	return wire.Point{l.a[0] + f*(l.b[0]-l.a[0]), l.a[1] + f*(l.b[1]-l.a[1])}
}

// path builds legs.
type path struct {
	t    float64
	at   wire.Point
	legs []leg
}

func (w *path) walk(to wire.Point, speed float64) {
	d := math.Hypot(to[0]-w.at[0], to[1]-w.at[1])
	if d == 0 {
		return
	}
	t1 := w.t + d/speed*1000
	w.legs = append(w.legs, leg{w.t, t1, w.at, to})
	w.t, w.at = t1, to
}

func (w *path) pause(ms float64) {
	w.legs = append(w.legs, leg{w.t, w.t + ms, w.at, w.at})
	w.t += ms
}

func uniform(rng *rand.Rand, a, b float64) float64 { return a + (b-a)*rng.Float64() }

func inRect(rng *rand.Rand, r wire.Rect) wire.Point {
	return wire.Point{uniform(rng, r[0][0], r[1][0]), uniform(rng, r[0][1], r[1][1])}
}

// newPasserby walks along the street from one end to the other; one in five
// stops at the window for a while.
func newPasserby(rng *rand.Rand, l *Layout, t float64) *person {
	y := uniform(rng, l.Street[0], l.Street[1])
	x0, x1 := l.WalkX[0], l.WalkX[1]
	if rng.IntN(2) == 0 {
		x0, x1 = x1, x0
	}
	speed := uniform(rng, 1.0, 1.6)
	w := &path{t: t, at: wire.Point{x0, y}}
	if rng.Float64() < 0.2 {
		wx := uniform(rng, l.Store[0][0], l.Store[1][0])
		w.walk(wire.Point{wx, y}, speed)
		w.walk(wire.Point{wx, -uniform(rng, 0.8, 1.5)}, 0.8)
		w.pause(uniform(rng, 15, 90) * 1000)
		w.walk(wire.Point{wx, y}, 0.8)
	}
	w.walk(wire.Point{x1, y}, speed)
	return &person{class: Passerby, legs: w.legs}
}

// newShopper comes along the street, enters by a door, lingers at a few
// spots, often pays at the till, and leaves along the street.
func newShopper(rng *rand.Rand, l *Layout, t float64) *person {
	y := uniform(rng, l.Street[0], l.Street[1])
	x0, x1 := l.WalkX[0], l.WalkX[1]
	if rng.IntN(2) == 0 {
		x0, x1 = x1, x0
	}
	// start near enough to be heard a little before entering
	door := l.Doors[rng.IntN(len(l.Doors))]
	x0 = door[0] + math.Copysign(uniform(rng, 15, 40), x0-door[0])
	speed := uniform(rng, 1.0, 1.5)
	in := uniform(rng, 0.7, 1.2)
	w := &path{t: t, at: wire.Point{x0, y}}
	w.walk(wire.Point{door[0], y}, speed)
	w.walk(wire.Point{door[0], -0.3}, speed)
	w.walk(wire.Point{door[0], 0.3}, in)
	enter := w.t
	stops := 1 + rng.IntN(5)
	for i := 0; i < stops; i++ {
		w.walk(inRect(rng, l.Spots[rng.IntN(len(l.Spots))]), in)
		w.pause(uniform(rng, 20, 240) * 1000)
	}
	if rng.Float64() < 0.6 {
		w.walk(wire.Point{l.Till[0] + uniform(rng, -1, 1), l.Till[1] + uniform(rng, -0.5, 0.5)}, in)
		w.pause(uniform(rng, 60, 180) * 1000)
	}
	out := l.Doors[rng.IntN(len(l.Doors))]
	w.walk(wire.Point{out[0], 0.3}, in)
	w.walk(wire.Point{out[0], -0.3}, in)
	leave := w.t
	w.walk(wire.Point{out[0], y}, speed)
	w.walk(wire.Point{x1, y}, speed)
	return &person{class: Shopper, legs: w.legs, visits: []Visit{{Start: int64(enter), End: int64(leave)}}}
}

// newStaff is in the store from start to end: mostly at the till, now and
// then at a shelf.
func newStaff(rng *rand.Rand, l *Layout, start, end float64) *person {
	door := l.Doors[0]
	w := &path{t: start, at: wire.Point{door[0], -3}}
	w.walk(wire.Point{door[0], 0.3}, 1)
	enter := w.t
	for w.t < end-10*60e3 {
		if rng.Float64() < 0.6 {
			w.walk(wire.Point{l.Till[0] + uniform(rng, -1, 1), l.Till[1] + uniform(rng, -0.5, 0.5)}, 1)
			w.pause(uniform(rng, 5, 30) * 60e3)
		} else {
			w.walk(inRect(rng, l.Spots[rng.IntN(len(l.Spots))]), 1)
			w.pause(uniform(rng, 2, 10) * 60e3)
		}
	}
	w.walk(wire.Point{door[0], 0.3}, 1)
	w.walk(wire.Point{door[0], -0.3}, 1)
	leave := w.t
	w.walk(wire.Point{door[0], -3}, 1)
	w.walk(wire.Point{l.WalkX[0], -3}, 1.3)
	return &person{class: Staff, legs: w.legs, visits: []Visit{{Start: int64(enter), End: int64(leave)}}}
}
