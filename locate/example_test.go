package locate_test

import (
	"fmt"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

func ExampleSolver_Locate() {
	site := &wire.Site{Site: "shop", Bounds: wire.Rect{{-5, -6}, {15, 12}},
		Radio: wire.Radio{RSSI1m: -45, Exponent: 2.5, PhoneZ: 1.2},
		Sensors: []wire.Sensor{{ID: "a", X: 0, Y: 0, Z: 2.5}, {ID: "b", X: 10, Y: 0, Z: 2.5},
			{ID: "c", X: 0, Y: 8, Z: 2.5}, {ID: "d", X: 10, Y: 8, Z: 2.5}}}
	m, _ := locate.NewModel(site)
	m.PointFix = true // the least-squares point, not the posterior mean around it
	s := locate.NewSolver(m)
	// A phone at (3, 5), 4 dB louder than the reference device: the
	// transmit offset is estimated along with the position.
	b := &locate.Burst{Dev: 1, SeqFirst: -1, SeqLast: -1}
	for i := range m.Sensors {
		b.Readings = append(b.Readings, locate.Reading{Sensor: i, RSSI: m.Expected(i, 3, 5) + 4, N: 3})
	}
	f, _ := s.Locate(b)
	fmt.Printf("(%.1f, %.1f) from %d sensors\n", f.X, f.Y, f.N)
	// Output: (2.9, 5.0) from 4 sensors
}

func ExampleCRLB() {
	site := &wire.Site{Site: "shop", Bounds: wire.Rect{{-5, -6}, {15, 12}},
		Radio: wire.Radio{RSSI1m: -45, Exponent: 2.5, PhoneZ: 1.2},
		Sensors: []wire.Sensor{{ID: "a", X: 0, Y: 0, Z: 2.5}, {ID: "b", X: 10, Y: 0, Z: 2.5},
			{ID: "c", X: 0, Y: 8, Z: 2.5}, {ID: "d", X: 10, Y: 8, Z: 2.5}}}
	m, _ := locate.NewModel(site)
	// The best 1-sigma error per axis any unbiased fix can reach with 4 dB
	// of noise per reading, in the middle and on the street.
	fmt.Printf("middle %.1f m, street %.1f m\n", locate.CRLB(m, 5, 4, 4), locate.CRLB(m, 5, -4, 4))
	// Output: middle 1.8 m, street 2.2 m
}

func ExampleTracker_Add() {
	site := &wire.Site{Site: "shop", Bounds: wire.Rect{{-5, -6}, {15, 12}},
		Radio: wire.Radio{RSSI1m: -45, Exponent: 2.5, PhoneZ: 1.2},
		Sensors: []wire.Sensor{{ID: "a", X: 0, Y: 0, Z: 2.5}, {ID: "b", X: 10, Y: 0, Z: 2.5},
			{ID: "c", X: 0, Y: 8, Z: 2.5}, {ID: "d", X: 10, Y: 8, Z: 2.5}}}
	m, _ := locate.NewModel(site)
	m.PointFix = true
	tr := locate.NewTracker(m, locate.TrackerOptions{})
	// One phone changes its MAC between bursts; its sequence numbers run on.
	for i, dev := range []wire.Dev{0xa1, 0xa1, 0xb2} {
		b := &locate.Burst{T: int64(i) * 30000, Dev: dev, Rand: true, FP: "9c1e22aa",
			SeqFirst: 100 + 10*i, SeqLast: 105 + 10*i}
		for k := range m.Sensors {
			b.Readings = append(b.Readings, locate.Reading{Sensor: k, RSSI: m.Expected(k, 6, 3), N: 2})
		}
		p := tr.Add(b)
		fmt.Printf("%s %s (%.0f, %.0f)\n", p.Dev, p.Track, p.X, p.Y)
	}
	// Output:
	// 00000000000000a1 k1 (6, 3)
	// 00000000000000a1 k1 (6, 3)
	// 00000000000000b2 k1 (6, 3)
}
