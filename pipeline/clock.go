package pipeline

import (
	"math"
	"sort"

	"github.com/passant/passant/wire"
)

// clock aligns the sensors' clocks of one site from frames that several
// sensors heard: the same dev and seq within a second (the contract's
// "Clocks"). For each pair of sensors it keeps a robust running estimate of
// the difference of their clocks, d_ab ≈ o_a - o_b, and solves the offsets
// o by least squares over all pairs, with the mean offset of the sensors that
// share frames held at zero:
//
//	minimise Σ_ab w_ab (o_a - o_b - d_ab)²  subject to  Σ o = 0
//
// An observation's event time is its capture time minus its sensor's offset.
type clock struct {
	n       int
	pairs   []pairEst   // n*n, upper triangle used
	offset  []float64   // ms, per sensor
	recent  *frameTable // the last clockKeep frames
	matches int
	dirty   bool
	linked  []bool // solve's workspace
}

type frameKey struct {
	dev wire.Dev
	seq int64 // 64 bits: a key without padding hashes as one block of memory
}

type frameSeen struct {
	sensor int32
	t      int64
}

// pairEst is a robust running estimate of one pair's clock difference: the
// median of the first samples, then an exponentially weighted mean of
// residuals clipped to ±clip.
type pairEst struct {
	n    int
	est  float64
	warm [5]float64
}

const (
	clockMatchWindow = 1000 // ms: same frame if within a second
	clockAlpha       = 0.05
	clockClip        = 40.0 // ms
	clockKeep        = 4096 // recent frames remembered for matching
)

func newClock(n int) *clock {
	return &clock{
		n:      n,
		pairs:  make([]pairEst, n*n),
		offset: make([]float64, n),
		recent: newFrameTable(clockKeep),
	}
}

// observe learns from one observation of sensor s.
func (c *clock) observe(s int, o *wire.Observation) {
	if o.Seq < 0 || c.n < 2 {
		return
	}
	k := frameKey{o.Dev, int64(o.Seq)}
	if prev, ok := c.recent.get(k); ok {
		if int(prev.sensor) != s {
			if d := o.T - prev.t; d > -clockMatchWindow && d < clockMatchWindow {
				c.addPair(s, int(prev.sensor), float64(d))
			}
		}
		return
	}
	c.recent.add(k, frameSeen{int32(s), o.T})
}

// addPair records d ≈ o_a - o_b.
func (c *clock) addPair(a, b int, d float64) {
	if a > b {
		a, b, d = b, a, -d
	}
	p := &c.pairs[a*c.n+b]
	switch {
	case p.n < len(p.warm):
		p.warm[p.n] = d
		p.n++
		w := append([]float64(nil), p.warm[:p.n]...)
		sort.Float64s(w)
		p.est = w[len(w)/2]
	default:
		r := max(-clockClip, min(clockClip, d-p.est)) // builtins: math.Max and math.Min inline
		p.est += clockAlpha * r
		p.n++
	}
	c.matches++
	c.dirty = true
}

// solve recomputes the offsets from the pair estimates (Gauss-Seidel on the
// normal equations; the graph is tiny).
func (c *clock) solve() {
	if !c.dirty {
		return
	}
	c.dirty = false
	n := c.n
	if cap(c.linked) < n {
		c.linked = make([]bool, n)
	}
	linked := c.linked[:n]
	clear(linked)
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			if c.pairs[a*n+b].n > 0 {
				linked[a], linked[b] = true, true
			}
		}
	}
	o := c.offset
	// From the last offsets a few sweeps converge; stop when a sweep moves
	// no offset by more than clockTol (offsets are used in whole ms).
	for iter := 0; iter < 50; iter++ {
		var moved float64
		for a := 0; a < n; a++ {
			if !linked[a] {
				continue
			}
			var sw, s float64
			for b := 0; b < n; b++ {
				if a == b {
					continue
				}
				var p *pairEst
				var d float64
				if a < b {
					p = &c.pairs[a*n+b]
					d = p.est // o_a - o_b
				} else {
					p = &c.pairs[b*n+a]
					d = -p.est
				}
				if p.n == 0 {
					continue
				}
				w := min(float64(p.n), 50)
				sw += w
				s += w * (o[b] + d)
			}
			if sw > 0 {
				moved = max(moved, math.Abs(s/sw-o[a]))
				o[a] = s / sw
			}
		}
		var mean float64
		var k int
		for a := 0; a < n; a++ {
			if linked[a] {
				mean += o[a]
				k++
			}
		}
		if k > 0 {
			mean /= float64(k)
			for a := 0; a < n; a++ {
				if linked[a] {
					o[a] -= mean
				}
			}
			moved = max(moved, math.Abs(mean))
		}
		if moved < clockTol {
			break
		}
	}
}

// clockTol is the largest change of an offset, ms, at which solve stops.
const clockTol = 1e-9

// Offset returns the estimated offset of sensor s in whole milliseconds.
func (c *clock) Offset(s int) int64 { return int64(math.Round(c.offset[s])) }
