package locate

import (
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/wire"
)

// Two phones of a model that takes a new address for every channel stand
// 3 m apart in the store. One scan's first address (channel 1) of phone P
// happens to look like phone Q's last scan, so the loose link gives it Q's
// track; the scan's other addresses, pooled, fit P's own track and not Q's:
// the review gives the scan to P's track, and Q's track is as it was.
// Scans whose first address fits their own phone are left alone.
func TestTrackerReviewMovesScan(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{})
	rng := rand.New(rand.NewPCG(31, 32))
	at := teachRhythm(m, tr, "ip", rng)
	type phone struct {
		x, y float64
		off  [3][]float64 // per address of a scan (channel 1, 6, 11 + 5 GHz), per sensor
	}
	mk := func(x, y float64) *phone {
		p := &phone{x: x, y: y}
		base := make([]float64, len(m.Sensors))
		for i := range base {
			base[i] = 4 * rng.NormFloat64() // transmit offset and shadowing
		}
		for k := range p.off {
			p.off[k] = make([]float64, len(m.Sensors))
			for i := range base {
				p.off[k][i] = base[i] + 2*rng.NormFloat64() // the channels' multipath
			}
		}
		return p
	}
	pp, qq := mk(8, 6), mk(11, 6)
	dev := wire.Dev(2000)
	frames := [3]int{2, 2, 6}
	addr := func(p *phone, k int, ms int64, off []float64) wire.Position {
		s := rng.IntN(4000)
		b := &Burst{T: ms, Dev: dev, Rand: true, FP: "ip", SeqFirst: s, SeqLast: s + 1}
		dev++
		for i := range m.Sensors {
			b.Readings = append(b.Readings, Reading{Sensor: i, RSSI: m.Expected(i, p.x, p.y) + off[i] + 0.5*rng.NormFloat64(), N: frames[k]})
		}
		return tr.Add(b)
	}
	scan := func(p *phone, ms int64) string {
		name := addr(p, 0, ms, p.off[0])
		addr(p, 1, ms+40, p.off[1])
		addr(p, 2, ms+80, p.off[2])
		return name.Track
	}
	var pt, qt string
	for i := int64(0); i < 12; i++ {
		pt = scan(pp, at+i*25_000)
		qt = scan(qq, at+i*25_000+5_000)
	}
	tr.Expire(at + 12*25_000)
	if pt == qt || len(tr.Merges()) != 0 {
		t.Fatalf("the standing phones on %s and %s, want two tracks and no merges", pt, qt)
	}
	// P's next scan: its first address reads like Q's pooled scan
	ms := at + 12*25_000
	pool := make([]float64, len(m.Sensors))
	for i := range pool {
		pool[i] = m.Expected(i, qq.x, qq.y) - m.Expected(i, pp.x, pp.y) + (2*qq.off[0][i]+2*qq.off[1][i]+6*qq.off[2][i])/10
	}
	if p := addr(pp, 0, ms, pool); p.Track != qt || tr.LinkedBy() != LinkLoose {
		t.Fatalf("P's odd first address on %s (%q), want a loose link to Q's %s", p.Track, tr.LinkedBy(), qt)
	}
	addr(pp, 1, ms+40, pp.off[1])
	third := dev
	addr(pp, 2, ms+80, pp.off[2])
	tr.Expire(ms + 1000)
	merged := false
	for _, mg := range tr.Merges() {
		merged = merged || mg.Into == pt
	}
	if !merged {
		t.Errorf("no merge into P's track %s after the review", pt)
	}
	b := &Burst{T: ms + 2000, Dev: third, Rand: true, FP: "ip", SeqFirst: -1, SeqLast: -1,
		Readings: []Reading{{Sensor: 0, RSSI: m.Expected(0, pp.x, pp.y), N: 1}}}
	if p := tr.Add(b); p.Track != pt {
		t.Errorf("the scan's last address on %s, want P's track %s", p.Track, pt)
	}
	if p := scan(qq, ms+5_000); p != qt {
		t.Errorf("Q's next scan on %s, want its track %s", p, qt)
	}
	if p := scan(pp, ms+25_000); p != pt {
		t.Errorf("P's next scan on %s, want its track %s", p, pt)
	}
}
