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

	// hit bounds the hitting times of the pairs' random walk (see solve);
	// +Inf when the linked sensors are not one group. It is recomputed
	// when a pair's weight has changed (reweighed).
	hit       float64
	reweighed bool
	path      []float64 // hitBound's workspace, n*n
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
	clockMaxWeight   = 50   // a pair's weight in the solve: min(samples, this)
)

func newClock(n int) *clock {
	return &clock{
		n:      n,
		pairs:  make([]pairEst, n*n),
		offset: make([]float64, n),
		recent: newFrameTable(clockKeep),
		hit:    math.Inf(1),
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
	if p.n <= clockMaxWeight {
		c.reweighed = true // the weight min(n, clockMaxWeight) grew
	}
	c.matches++
	c.dirty = true
}

// solve recomputes the offsets from the pair estimates: Gauss–Seidel
// sweeps on the normal equations from the last offsets, each sweep setting
// every linked sensor's offset to the weighted mean of its pairs' opinions
// and then taking the linked offsets' mean off,
//
//	o_a ← Σ_b P_ab (o_b + d_ab),  P_ab = w_ab / Σ_c w_ac,  w_ab = min(n_ab, 50),
//
// until a sweep moves no offset by more than clockTol (the strict stop), or
// earlier, once the offsets' rounding to whole ms (all that is used of them)
// is settled:
//
// After any sweep whose largest move was m, let x be the offsets, x* the
// exact solution (Σ x* = 0; unique when the linked sensors are one group, and
// then independent of where the sweeps started) and e = x − x*. Each x_a was
// set to Σ_b P_ab (x_b + d_ab) with the values of that moment; the sensors
// swept after it then moved by at most m, and taking the mean off shifts all
// alike, so the residual g_a = Σ_b P_ab (x_b + d_ab) − x_a has |g_a| ≤ m and
// e = P e − g. For the random walk with transitions P, e_a − e_z is then
// −E_a[Σ_{t<τ_z} g(X_t)], so |e_a − e_z| ≤ m E_a[τ_z] ≤ m H, H the largest
// hitting time; as Σ e = 0, every |e_a| ≤ m H. A hitting time is at most the
// commute time vol · R(a, z) (vol = Σ_a Σ_b w_ab, R the effective resistance
// with conductances w), and R is at most the resistance of any path, so
//
//	H ≤ vol · max_{a,z} min_path Σ_{edges} 1/w     (hitBound).
//
// The strict stop leaves |e| ≤ H·clockTol. So once no offset lies within
// H·(m + 2·clockTol) of a half millisecond (the second clockTol covers the
// rounding of the residuals' arithmetic, a few ulps: below 1e-11 ms for
// offsets within ±1e4 ms), the strict solve from any start (one that
// reaches its stop within the 50 sweeps, as every solve of the 20 replays
// did) rounds every offset to the same whole ms as x, and solve stops there (in the 10 h
// replays 1–2 sweeps a solve instead of 8–9, the same output). Where the
// linked sensors fall into groups (each keeps its level from where the
// sweeps started: no unique x*), H is +Inf and only the strict stop applies.
// The strict stop also ends the few solves whose offsets lie on or near a
// half millisecond; there the rounding depends on the last bits as before.
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
	if c.reweighed {
		c.reweighed = false
		c.hit = c.hitBound(linked)
	}
	for iter := 0; iter < 50; iter++ {
		moved := c.sweep(linked)
		if moved < clockTol {
			break
		}
		if e := c.hit * (moved + 2*clockTol); e < 0.5 && settled(c.offset, linked, e) {
			break
		}
	}
}

// sweep does one Gauss–Seidel sweep over the linked sensors and takes their
// mean off; it returns the largest change of an offset (or of the mean).
func (c *clock) sweep(linked []bool) float64 {
	n := c.n
	o := c.offset
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
			w := min(float64(p.n), clockMaxWeight)
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
	return moved
}

// clockTol is the largest change of an offset, ms, at which solve stops.
const clockTol = 1e-9

// settled reports whether every linked offset lies farther than e from a
// half millisecond, so that anything within e of it rounds alike.
func settled(o []float64, linked []bool, e float64) bool {
	for a, x := range o {
		if linked[a] && math.Abs(x-math.Floor(x)-0.5) <= e {
			return false
		}
	}
	return true
}

// hitBound returns vol · max_{a,z} min_path Σ 1/w over the linked sensors
// (solve's bound on the hitting times of its random walk), +Inf when they
// are not one group. A shortest-path pass (Floyd–Warshall) over at most a
// few sensors; solve calls it only when a weight has changed.
func (c *clock) hitBound(linked []bool) float64 {
	n := c.n
	if cap(c.path) < n*n {
		c.path = make([]float64, n*n)
	}
	r := c.path[:n*n]
	var vol float64
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			r[a*n+b] = math.Inf(1)
			if a == b {
				r[a*n+b] = 0
				continue
			}
			p := &c.pairs[min(a, b)*n+max(a, b)]
			if p.n > 0 {
				w := min(float64(p.n), clockMaxWeight)
				vol += w
				r[a*n+b] = 1 / w
			}
		}
	}
	for k := 0; k < n; k++ {
		for a := 0; a < n; a++ {
			for b := 0; b < n; b++ {
				r[a*n+b] = min(r[a*n+b], r[a*n+k]+r[k*n+b])
			}
		}
	}
	var far float64
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			if linked[a] && linked[b] {
				far = max(far, r[a*n+b])
			}
		}
	}
	// A margin for the rounding of the sums above (relative 1e-15 or so).
	return vol * far * (1 + 1e-9)
}

// Offset returns the estimated offset of sensor s in whole milliseconds.
func (c *clock) Offset(s int) int64 { return int64(math.Round(c.offset[s])) }
