//go:build amd64

package locate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// TestRowArgsLayout checks the offsets rows_amd64.s reads rowArgs,
// missArgs, momArgs, wlArgs, farArgs and burstConst at.
func TestRowArgsLayout(t *testing.T) {
	var a rowArgs
	var ma missArgs
	var mo momArgs
	var wa wlArgs
	var fa farArgs
	var b burstConst
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"l", unsafe.Offsetof(a.l), 0}, {"stride", unsafe.Offsetof(a.stride), 8}, {"gi", unsafe.Offsetof(a.gi), 16},
		{"gw", unsafe.Offsetof(a.gw), 24}, {"gwu", unsafe.Offsetof(a.gwu), 32}, {"k", unsafe.Offsetof(a.k), 40},
		{"side", unsafe.Offsetof(a.side), 48}, {"pri", unsafe.Offsetof(a.pri), 56}, {"lp", unsafe.Offsetof(a.lp), 64},
		{"idet", unsafe.Offsetof(a.idet), 72}, {"cells", unsafe.Offsetof(a.cells), 80}, {"bc", unsafe.Offsetof(a.bc), 88},
		{"lmax", unsafe.Offsetof(a.lmax), 96}, {"rows", unsafe.Offsetof(a.rows), 128}, {"skip", unsafe.Offsetof(a.skip), 136},
		{"bh", unsafe.Offsetof(a.bh), 144}, {"vb", unsafe.Offsetof(a.vb), 152}, {"nob", unsafe.Offsetof(a.nob), 160},
		{"missArgs.bh", unsafe.Offsetof(ma.bh), 128}, {"missArgs.vb", unsafe.Offsetof(ma.vb), 136}, {"missArgs.s2", unsafe.Offsetof(ma.s2), 144},
		{"missArgs.lp", unsafe.Offsetof(ma.lp), 0}, {"missArgs.side", unsafe.Offsetof(ma.side), 8},
		{"missArgs.missS", unsafe.Offsetof(ma.missS), 16}, {"missArgs.n", unsafe.Offsetof(ma.n), 24},
		{"missArgs.m", unsafe.Offsetof(ma.m), 32}, {"missArgs.l", unsafe.Offsetof(ma.l), 40},
		{"missArgs.stride", unsafe.Offsetof(ma.stride), 48}, {"missArgs.mi", unsafe.Offsetof(ma.mi), 56},
		{"missArgs.mp", unsafe.Offsetof(ma.mp), 64}, {"missArgs.mc", unsafe.Offsetof(ma.mc), 72},
		{"missArgs.lmax", unsafe.Offsetof(ma.lmax), 80}, {"momArgs.nx", unsafe.Offsetof(mo.nx), 24},
		{"momArgs.row0", unsafe.Offsetof(mo.row0), 48}, {"momArgs.ry", unsafe.Offsetof(mo.ry), 72},
		{"momArgs.inv", unsafe.Offsetof(mo.inv), 88}, {"momArgs.rs", unsafe.Offsetof(mo.rs), 96},
		{"momArgs.s", unsafe.Offsetof(mo.s), 104}, {"momArgs.mom", unsafe.Offsetof(mo.mom), 152}, {"missArgs.rows", unsafe.Offsetof(ma.rows), 112},
		{"missArgs.skip", unsafe.Offsetof(ma.skip), 120},
		{"wlArgs.lc", unsafe.Offsetof(wa.lc), 0}, {"wlArgs.lp", unsafe.Offsetof(wa.lp), 8},
		{"wlArgs.side", unsafe.Offsetof(wa.side), 16}, {"wlArgs.scale", unsafe.Offsetof(wa.scale), 24},
		{"wlArgs.n", unsafe.Offsetof(wa.n), 32}, {"wlArgs.sw", unsafe.Offsetof(wa.sw), 40},
		{"wlArgs.acc", unsafe.Offsetof(wa.acc), 48},
		{"farArgs.stride", unsafe.Offsetof(fa.stride), 8}, {"farArgs.gi", unsafe.Offsetof(fa.gi), 16},
		{"farArgs.gw", unsafe.Offsetof(fa.gw), 24}, {"farArgs.gu", unsafe.Offsetof(fa.gu), 32},
		{"farArgs.gc", unsafe.Offsetof(fa.gc), 40}, {"farArgs.k", unsafe.Offsetof(fa.k), 48},
		{"farArgs.mu", unsafe.Offsetof(fa.mu), 56}, {"farArgs.a00", unsafe.Offsetof(fa.a00), 64},
		{"farArgs.in", unsafe.Offsetof(fa.in), 72}, {"farArgs.pri", unsafe.Offsetof(fa.pri), 80},
		{"farArgs.lp", unsafe.Offsetof(fa.lp), 88}, {"farArgs.id", unsafe.Offsetof(fa.id), 96},
		{"farArgs.groups", unsafe.Offsetof(fa.groups), 104}, {"farArgs.bh", unsafe.Offsetof(fa.bh), 112},
		{"farArgs.vb", unsafe.Offsetof(fa.vb), 120},
		{"mu", unsafe.Offsetof(b.mu), 0}, {"swr", unsafe.Offsetof(b.swr), 32}, {"swrr", unsafe.Offsetof(b.swrr), 64},
		{"c1", unsafe.Offsetof(b.c1), 96}, {"c2", unsafe.Offsetof(b.c2), 104}, {"c11", unsafe.Offsetof(b.c11), 112},
		{"a00", unsafe.Offsetof(b.a00), 120}, {"in", unsafe.Offsetof(b.in), 128},
	} {
		if c.got != c.want {
			t.Errorf("%s at %d, the assembly reads it at %d", c.name, c.got, c.want)
		}
	}
}

// TestRowsAsmBitExact checks the assembly row loops against the scalar
// ones to the bit: first the kernels themselves on spans of every length
// mod 4 with 1 to 8 readings and cells of every side, then whole fixes
// (whole-grid and windowed, silent sensors, side priors, offsets).
func TestRowsAsmBitExact(t *testing.T) {
	if !avx2 {
		t.Skip("no AVX2 here: the assembly does not run")
	}
	defer func() { avx2 = true }()
	same := sameBits
	// The kernels, on an 8-sensor site.
	site := site8(true)
	m8, err := NewModel(site)
	if err != nil {
		t.Fatal(err)
	}
	s8 := NewSolver(m8)
	g, p := s8.grid, &s8.post
	rng := rand.New(rand.NewPCG(20, 21))
	n := g.Len()
	sides := [3]int{}
	for _, sd := range g.side {
		sides[sd]++
	}
	if sides[sideOther] == 0 || sides[sideStore] == 0 || sides[sideOutside] == 0 {
		t.Fatalf("cells per side %v: the test misses a side", sides)
	}
	for trial := range 400 {
		k := 1 + trial%8
		for j, i := range rng.Perm(8)[:k] {
			p.gi[j], p.gw[j], p.gwu[j] = i, 1/(20+10*rng.Float64()), -40*rng.Float64()
		}
		for sd := range 3 {
			p.bc.mu[sd], p.bc.swr[sd], p.bc.swrr[sd] = 5*rng.NormFloat64(), 100*rng.NormFloat64(), 1000*rng.Float64()
		}
		c1 := 2 + rng.Float64()
		// A₀₀ = Σw + 1/τ² as in fix, so that A is positive definite
		// (the silent sensors' terms take the root of its inverse's
		// first element)
		a00 := 1 / (1 + 9*rng.Float64())
		for _, w := range p.gw[:k] {
			a00 += w
		}
		p.bc.c1, p.bc.c2, p.bc.c11, p.bc.a00, p.bc.in = c1, 2*c1, c1*c1, a00, 1/(0.3*0.3)
		ca := rng.IntN(n - 40)
		cb := ca + rng.IntN(40)
		avx2 = false
		wantMax := p.uniformRow(g, k, ca, cb)
		wantLP := append([]float64(nil), p.lp[ca:cb]...)
		wantID := append([]float64(nil), p.idet[ca:cb]...)
		wantBH := append([]float64(nil), p.bh[ca:cb]...)
		wantVB := append([]float64(nil), p.vb[ca:cb]...)
		best0 := wantMax + 3*rng.Float64()
		weights(p.lp[ca:cb], p.idet[ca:cb], best0)
		wantW := append([]float64(nil), p.lp[ca:cb]...)
		for c := ca; c < cb; c++ {
			p.bh[c], p.vb[c] = math.NaN(), math.NaN() // the kernel's to write
		}
		avx2 = true
		gotMax := p.uniformRow(g, k, ca, cb)
		if !same(gotMax, wantMax) {
			t.Fatalf("trial %d (%d readings, cells %d..%d): greatest %v, scalar %v", trial, k, ca, cb, gotMax, wantMax)
		}
		for c := ca; c < cb; c++ {
			if !same(p.lp[c], wantLP[c-ca]) || !same(p.idet[c], wantID[c-ca]) {
				t.Fatalf("trial %d (%d readings), cell %d: log posterior %v, 1/det %v; scalar %v, %v",
					trial, k, c, p.lp[c], p.idet[c], wantLP[c-ca], wantID[c-ca])
			}
			// the offset's posterior mean and variance, which the kernel
			// writes only when a sensor was silent (p.mi: the last trial's)
			if len(p.mi) > 0 && (!same(p.bh[c], wantBH[c-ca]) || !same(p.vb[c], wantVB[c-ca])) {
				t.Fatalf("trial %d (%d readings), cell %d: offset mean %v, variance %v; scalar %v, %v",
					trial, k, c, p.bh[c], p.vb[c], wantBH[c-ca], wantVB[c-ca])
			}
		}
		weights(p.lp[ca:cb], p.idet[ca:cb], best0)
		for c := ca; c < cb; c++ {
			if !same(p.lp[c], wantW[c-ca]) {
				t.Fatalf("trial %d, cell %d: weight %v, scalar %v", trial, c, p.lp[c], wantW[c-ca])
			}
		}
		// The silent sensors' terms (0 to 3 of them), over the table's
		// range and beyond it on both sides (and at its ends).
		lp := make([]float64, cb-ca)
		for i := range lp {
			lp[i] = -30 * rng.Float64()
		}
		miss := [4]float64{5 * rng.NormFloat64(), 5 * rng.NormFloat64(), 5 * rng.NormFloat64(), 0}
		// the cells' offset means and variances (uniformRow's), and σ²
		bh, vb := make([]float64, cb-ca), make([]float64, cb-ca)
		for i := range bh {
			bh[i], vb[i] = 3*rng.NormFloat64(), 9*rng.Float64()
		}
		p.s2 = 16
		p.mi = p.mi[:0]
		for h, i := range rng.Perm(8)[:trial%4] {
			p.mi = append(p.mi, i)
			p.mp[h], p.mc[h] = -50+10*rng.NormFloat64(), 2+0.5*rng.NormFloat64()
			if trial%10 == h+1 && cb > ca { // z exactly at the table's ends
				p.mc[h] = 0
				p.mp[h] = [2]float64{phiLo, phiHi}[trial/10%2] + miss[g.side[ca]]
				p.s2 = 1
				clear(bh)
				clear(vb)
			}
		}
		copy(p.lp[ca:cb], lp)
		copy(p.bh[ca:cb], bh)
		copy(p.vb[ca:cb], vb)
		avx2 = false
		wantMax = p.missRows(g, ca, cb, &miss)
		want := append([]float64(nil), p.lp[ca:cb]...)
		copy(p.lp[ca:cb], lp)
		copy(p.bh[ca:cb], bh)
		copy(p.vb[ca:cb], vb)
		avx2 = true
		gotMax = p.missRows(g, ca, cb, &miss)
		if !same(gotMax, wantMax) {
			t.Fatalf("trial %d (%d silent sensors, cells %d..%d): greatest %v, scalar %v", trial, len(p.mi), ca, cb, gotMax, wantMax)
		}
		for c := ca; c < cb; c++ {
			if !same(p.lp[c], want[c-ca]) {
				t.Fatalf("trial %d (%d silent sensors), cell %d: %v, scalar %v", trial, len(p.mi), c, p.lp[c], want[c-ca])
			}
		}
	}

	// The weights with the greatest per side, ties among them (the first
	// cell of equals wins), spans of any length continuing earlier ones.
	for trial := range 300 {
		ca := rng.IntN(n - 40)
		cb := ca + rng.IntN(40)
		vals := []float64{-1, -2, -30, -2.5}
		for c := ca; c < cb; c++ {
			p.lp[c] = vals[rng.IntN(len(vals))] - float64(rng.IntN(2))*rng.Float64()
			p.idet[c] = [2]float64{1, 0.5}[rng.IntN(2)]
		}
		lp0 := append([]float64(nil), p.lp[ca:cb]...)
		eb0 := [4]float64{0, 0.2 * rng.Float64(), 0, 0}
		bc0 := [4]int{-1, ca - 1, -1, -1}
		run := func(asm bool) ([]float64, [4]float64, [4]int) {
			copy(p.lp[ca:cb], lp0)
			eb, bc := eb0, bc0
			avx2 = asm
			p.weightsBest(g, ca, cb, 0, &eb, &bc)
			return append([]float64(nil), p.lp[ca:cb]...), eb, bc
		}
		wantW, wantE, wantC := run(false)
		gotW, gotE, gotC := run(true)
		for i := range wantW {
			if !same(gotW[i], wantW[i]) {
				t.Fatalf("trial %d, cell %d: weight %v, scalar %v", trial, ca+i, gotW[i], wantW[i])
			}
		}
		if gotE != wantE || gotC != wantC {
			t.Fatalf("trial %d (cells %d..%d): greatest per side %v at %v, scalar %v at %v", trial, ca, cb, gotE, gotC, wantE, wantC)
		}
	}

	// Windows of rows in one kernel call each (uniformWindow,
	// weightsWindow) against the scalar loops row by row: every width mod
	// 4, silent sensors or none, ties between the weights of cells in the
	// kernels' part of one row and the scalar tail of an earlier one.
	for trial := range 300 {
		k := 1 + trial%8
		for j, i := range rng.Perm(8)[:k] {
			p.gi[j], p.gw[j], p.gwu[j] = i, 1/(20+10*rng.Float64()), -40*rng.Float64()
		}
		c1 := 2 + rng.Float64()
		// A₀₀ = Σw + 1/τ² as in fix, so that A is positive definite
		// (the silent sensors' terms take the root of its inverse's
		// first element)
		a00 := 1 / (1 + 9*rng.Float64())
		for _, w := range p.gw[:k] {
			a00 += w
		}
		p.bc.c1, p.bc.c2, p.bc.c11, p.bc.a00, p.bc.in = c1, 2*c1, c1*c1, a00, 1/(0.3*0.3)
		miss := [4]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), 0}
		p.s2 = 16
		p.mi = p.mi[:0]
		for h, i := range rng.Perm(8)[:trial%3] {
			p.mi = append(p.mi, i)
			p.mp[h], p.mc[h] = 10*rng.NormFloat64(), 0.5*rng.NormFloat64()
		}
		i0, j0 := rng.IntN(g.NX), rng.IntN(g.NY)
		spw, rows := 1+rng.IntN(g.NX-i0), 1+rng.IntN(g.NY-j0)
		ca := j0*g.NX + i0
		type out struct {
			lp, idet []float64
			l        float64
			eb       [4]float64
			bc       [4]int
		}
		run := func(asm bool) out {
			var o out
			avx2 = asm
			o.l = math.Inf(-1)
			if asm {
				o.l = p.uniformWindow(g, k, ca, rows, spw, &miss)
			} else {
				for r := range rows {
					c := ca + r*g.NX
					l := p.uniformRow(g, k, c, c+spw)
					if len(p.mi) > 0 {
						l = p.missRows(g, c, c+spw, &miss)
					}
					o.l = max(o.l, l)
				}
			}
			for r := range rows {
				c := ca + r*g.NX
				o.lp = append(o.lp, p.lp[c:c+spw]...)
				o.idet = append(o.idet, p.idet[c:c+spw]...)
				if trial%2 == 0 { // ties: a few values only
					for t := c; t < c+spw; t++ {
						p.lp[t] = o.l - float64(t%3)
						p.idet[t] = 1
					}
				}
			}
			o.bc = [4]int{-1, -1, -1, -1}
			if asm {
				p.weightsWindow(g, ca, rows, spw, o.l, &o.eb, &o.bc)
			} else {
				for r := range rows {
					c := ca + r*g.NX
					p.weightsBest(g, c, c+spw, o.l, &o.eb, &o.bc)
				}
			}
			for r := range rows {
				c := ca + r*g.NX
				o.lp = append(o.lp, p.lp[c:c+spw]...)
			}
			return o
		}
		want, got := run(false), run(true)
		if !same(got.l, want.l) || got.eb != want.eb || got.bc != want.bc {
			t.Fatalf("window trial %d (%d readings, %d silent, %d rows of %d from %d): greatest %v, per side %v at %v; scalar %v, %v at %v",
				trial, k, len(p.mi), rows, spw, ca, got.l, got.eb, got.bc, want.l, want.eb, want.bc)
		}
		for i := range want.lp {
			if !same(got.lp[i], want.lp[i]) || (i < len(want.idet) && !same(got.idet[i], want.idet[i])) {
				t.Fatalf("window trial %d, value %d: %v, scalar %v", trial, i, got.lp[i], want.lp[i])
			}
		}
	}

	// The moments over windows (moments4 against the Go loop): weights
	// below the cutoff, at 0 and NaN among them, sides changing within
	// groups of four and across rows, rows of every width mod 4.
	for trial := range 400 {
		i0, j0 := rng.IntN(g.NX), rng.IntN(g.NY)
		p.i0, p.j0 = i0, j0
		p.i1, p.j1 = i0+rng.IntN(g.NX-i0), j0+rng.IntN(g.NY-j0)
		p.rx, p.ry = 30*rng.Float64(), 20*rng.Float64()
		xs := p.xs[:p.i1-p.i0+1]
		for t := range xs {
			xs[t] = g.X0 + float64(p.i0+t)*g.Cell - p.rx
		}
		for c := range n {
			p.lp[c] = rng.Float64()
			switch rng.IntN(20) {
			case 0:
				p.lp[c] = 0
			case 1:
				p.lp[c] = 1e-13 // below the cutoff
			case 2:
				if trial%5 == 0 {
					p.lp[c] = math.NaN()
				}
			}
		}
		inv := 1 / (0.5 + rng.Float64())
		run := func(asm bool) [3]moments {
			avx2 = asm
			p.mom = [3]moments{{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}} // not 0: the runs are added to them
			p.sumMoments(g, xs, 1e-11, inv)
			return p.mom
		}
		want, got := run(false), run(true)
		for sd := range want {
			w, g := want[sd], got[sd]
			for i, pair := range [6][2]float64{{w.sw, g.sw}, {w.sx, g.sx}, {w.sy, g.sy}, {w.sxx, g.sxx}, {w.sxy, g.sxy}, {w.syy, g.syy}} {
				if !same(pair[0], pair[1]) {
					t.Fatalf("moments trial %d (cells %d..%d of rows %d..%d), side %d, sum %d: %v, Go %v",
						trial, p.i0, p.i1, p.j0, p.j1, sd, i, pair[1], pair[0])
				}
			}
		}
	}
	p.all(g)

	// Whole fixes.
	checkFixesBitExact(t, rng, func(fast bool) { avx2 = fast }, "assembly")
}

// BenchmarkRows runs the row kernels over the 2,538 cells of an 8-sensor
// grid: 4 readings, 2 silent sensors, the weights, the moments (assembly
// and Go) (per op: one pass).
func BenchmarkRows(b *testing.B) {
	site := site8(true)
	m, _ := NewModel(site)
	s := NewSolver(m)
	g, p := s.grid, &s.post
	for j := range 4 {
		p.gi[j], p.gw[j], p.gwu[j] = 2*j, 1/25.0, -60.0/25
	}
	p.bc.c1, p.bc.c2, p.bc.c11, p.bc.a00, p.bc.in = 2.5, 5, 6.25, 0.3, 11
	miss := [4]float64{0, -0.1, 0.2, 0}
	p.mi = append(p.mi[:0], 1, 3)
	p.mp[0], p.mc[0], p.mp[1], p.mc[1] = -3, 0.4, -3, 0.4
	n := g.Len()
	for _, kernel := range []string{"uniform", "miss", "weights", "moments", "moments-go"} {
		b.Run(kernel, func(b *testing.B) {
			var xs []float64
			var emax float64
			if kernel == "moments" || kernel == "moments-go" {
				// the weights of a broad fix (the replays' are: 99% of
				// the cells above the cutoff), the street's a tenth
				for c := range n {
					x, y := g.Center(c)
					p.lp[c] = math.Exp(-((x-15)*(x-15) + (y-8)*(y-8)) / 200)
					if g.side[c] == sideOutside {
						p.lp[c] /= 10
					}
				}
				emax = slices.Max(p.lp[:n])
				p.all(g)
				p.rx, p.ry = 15, 8
				xs = p.xs[:g.NX]
				for t := range xs {
					xs[t] = g.X0 + float64(t)*g.Cell - p.rx
				}
				avx2 = kernel == "moments"
				defer func() { avx2 = true }()
			}
			for b.Loop() {
				switch kernel {
				case "moments", "moments-go":
					p.mom = [3]moments{}
					p.sumMoments(g, xs, emax*expCutoff, 1/emax)
				case "uniform":
					p.uniformRow(g, 4, 0, n)
				case "miss":
					p.missRows(g, 0, n, &miss)
				case "weights":
					weights(p.lp[:n], p.idet[:n], 0)
				}
			}
		})
	}
}
