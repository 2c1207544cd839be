package pipeline

import (
	"math"
	"math/rand/v2"
	"testing"
)

// clockWorld sets up a clock of n sensors whose pairs (a spanning chain in a
// random order plus random others) have the given counts and estimates
// d_ab = x_a − x_b for offsets x.
func clockWorld(rng *rand.Rand, n int, x []float64) *clock {
	c := newClock(n)
	perm := rng.Perm(n)
	link := func(a, b int) {
		if a > b {
			a, b = b, a
		}
		c.pairs[a*n+b].n = 1 + rng.IntN(80)
	}
	for i := 1; i < n; i++ {
		link(perm[i-1], perm[i])
	}
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			if rng.IntN(3) == 0 {
				link(a, b)
			}
		}
	}
	setEstimates(c, x)
	c.dirty, c.reweighed = true, true
	return c
}

func setEstimates(c *clock, x []float64) {
	for a := 0; a < c.n; a++ {
		for b := a + 1; b < c.n; b++ {
			c.pairs[a*c.n+b].est = x[a] - x[b]
		}
	}
}

// exactOffsets solves Σ_b w_ab (x_a − x_b − d_ab) = 0 with Σ x = 0 directly:
// (L + 11ᵀ) x = r, Gaussian elimination with partial pivoting (one group).
func exactOffsets(c *clock) []float64 {
	n := c.n
	m := make([]float64, n*(n+1))
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			m[a*(n+1)+b] = 1
		}
		for b := 0; b < n; b++ {
			if a == b {
				continue
			}
			p := c.pairs[min(a, b)*n+max(a, b)]
			if p.n == 0 {
				continue
			}
			w := min(float64(p.n), clockMaxWeight)
			d := p.est
			if a > b {
				d = -d
			}
			m[a*(n+1)+a] += w
			m[a*(n+1)+b] -= w
			m[a*(n+1)+n] += w * d
		}
	}
	for k := 0; k < n; k++ {
		piv := k
		for i := k + 1; i < n; i++ {
			if math.Abs(m[i*(n+1)+k]) > math.Abs(m[piv*(n+1)+k]) {
				piv = i
			}
		}
		for j := 0; j <= n; j++ {
			m[k*(n+1)+j], m[piv*(n+1)+j] = m[piv*(n+1)+j], m[k*(n+1)+j]
		}
		for i := k + 1; i < n; i++ {
			f := m[i*(n+1)+k] / m[k*(n+1)+k]
			for j := k; j <= n; j++ {
				m[i*(n+1)+j] -= f * m[k*(n+1)+j]
			}
		}
	}
	x := make([]float64, n)
	for k := n - 1; k >= 0; k-- {
		s := m[k*(n+1)+n]
		for j := k + 1; j < n; j++ {
			s -= m[k*(n+1)+j] * x[j]
		}
		x[k] = s / m[k*(n+1)+k]
	}
	return x
}

func allLinked(n int) []bool {
	l := make([]bool, n)
	for i := range l {
		l[i] = true
	}
	return l
}

// TestClockSweepBound checks solve's bound: after any sweep that moved the
// offsets by at most m, every offset is within m·H of the exact solution.
func TestClockSweepBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	var tightest float64
	for world := 0; world < 3000; world++ {
		n := 2 + rng.IntN(7)
		x := make([]float64, n)
		for i := range x {
			x[i] = 400 * (rng.Float64() - 0.5)
		}
		c := clockWorld(rng, n, x)
		for i := range c.offset {
			c.offset[i] = 40 * (rng.Float64() - 0.5) // a start away from the solution
		}
		exact := exactOffsets(c)
		linked := allLinked(n)
		h := c.hitBound(linked)
		for sweep := 0; sweep < 30; sweep++ {
			m := c.sweep(linked)
			var e float64
			for a := range exact {
				e = max(e, math.Abs(c.offset[a]-exact[a]))
			}
			if e > h*m+1e-9 {
				t.Fatalf("world %d (n %d), sweep %d: error %g > H %g × move %g", world, n, sweep, e, h, m)
			}
			if m > 1e-6 {
				tightest = max(tightest, e/(h*m))
			}
		}
	}
	t.Logf("largest error / (H × move): %.3f", tightest)
}

// TestClockRoundsAsStrict runs a clock with solve's early stop and one with
// the strict stop only through the same changing pair estimates, whose exact
// offsets lie at random distances (down to 1e-12 ms) from half milliseconds,
// and checks that both round every offset alike wherever the exact offsets
// lie farther than the strict stop's bound from a half millisecond.
func TestClockRoundsAsStrict(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 11))
	deltas := []float64{0, 1e-12, 1e-9, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 0.25}
	var compared, near int
	for world := 0; world < 300; world++ {
		n := 2 + rng.IntN(7)
		x := make([]float64, n)
		wrng := rand.New(rand.NewPCG(uint64(world), 1))
		c := clockWorld(wrng, n, x)
		wrng = rand.New(rand.NewPCG(uint64(world), 1))
		ref := clockWorld(wrng, n, x)
		linked := allLinked(n)
		for step := 0; step < 200; step++ {
			// Offsets near half milliseconds (the last keeps the sum 0).
			var sum float64
			for a := 0; a < n-1; a++ {
				d := deltas[rng.IntN(len(deltas))]
				if rng.IntN(2) == 0 {
					d = -d
				}
				x[a] = float64(rng.IntN(41)-20) + 0.5 + d
				sum += x[a]
			}
			x[n-1] = -sum
			setEstimates(c, x)
			setEstimates(ref, x)
			c.dirty, ref.dirty = true, true
			c.solve()
			ref.hit, ref.reweighed = math.Inf(1), false // the strict stop only
			ref.solve()
			exact := exactOffsets(c)
			bound := c.hitBound(linked) * 2 * clockTol
			ok := true
			for a := range exact {
				if math.Abs(exact[a]-math.Floor(exact[a])-0.5) <= bound {
					ok = false
				}
			}
			if !ok {
				near++
				continue
			}
			compared++
			for a := range exact {
				if c.Offset(a) != ref.Offset(a) {
					t.Fatalf("world %d, step %d, sensor %d: %d (%.12f) against the strict %d (%.12f), exact %.12f",
						world, step, a, c.Offset(a), c.offset[a], ref.Offset(a), ref.offset[a], exact[a])
				}
			}
		}
	}
	t.Logf("%d solves compared, %d with an exact offset within the strict bound of a half ms", compared, near)
}
