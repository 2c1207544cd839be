package calibration

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"gonum.org/v1/gonum/mat"
)

// What one walk can achieve at all: the Cramér–Rao bound of a sensor's
// (rssi_1m, exponent) from the walk's bursts in package sim's world, and
// the share of fits it lets fall within the tolerance.
//
// At sensor i a burst b of the walker (position p_b at time t_b, 3-D
// distance d_b, x_b = −10·log10 d_b) is m_b frames, each
//
//	r = A + n·x_b + s_b + f,  f ~ N(0, σ_f² + 1/12)  (fading; whole dB)
//
// with the shadowing s_b a Gauss–Markov process along the walk (as the
// simulator draws it): s_b = ρ_b·s_{b−1} + √(1−ρ_b²)·σ_s·w,
// ρ_b = exp(−|p_b − p_{b−1}|/5 m)·exp(−(t_b − t_{b−1})/10 min). The burst
// means y_b are then Gaussian with covariance Σ = σ_s²·R + diag(σ_f²/m_b),
// R_bc = ∏ρ between b and c, and the Fisher information of θ = (A, n) is
// F = XᵀΣ⁻¹X (X's rows (1, x_b)); any unbiased fit has covariance ⪰ F⁻¹.
// F is computed in O(bursts) by running a scalar Kalman filter of s over
// each column of X: its innovations ε_b with variances S_b whiten Σ, so
// F = Σ_b ε_b ε_bᵀ / S_b.
//
// The bound is optimistic: every frame is taken as heard (no floor: a
// censored frame tells less than a heard one), the 5 GHz offset as known,
// and the walk's positions and clocks as exact. Two estimators are
// compared at the true values, each with its bias from the fit's prior
// (θ0, P = diag(σ_A⁻², σ_n⁻²)):
//
//	GLS + prior:   M = F + P,               bias M⁻¹P(θ0−θ),  cov M⁻¹FM⁻¹
//	OLS + prior:   M = XᵀWX/σ² + P,         bias M⁻¹P(θ0−θ),  cov M⁻¹(XᵀWΣWX/σ⁴)M⁻¹
//
// with W = diag(m_b) and σ² = σ_s² + σ_f² + 1/12: frames taken as
// independent, as the walk's fit takes them (without its censoring).

// fitSpread is a fit's error distribution: bias and covariance of (dB, exponent).
type fitSpread struct {
	bA, bN      float64
	vA, vN, cAN float64
}

// inBox is P(|A| ≤ a, |N| ≤ b) for (A, N) ~ N((bA, bN), cov): the 2-D
// normal integrated over the box, Simpson's rule over A of its density
// times the conditional probability of N.
func (s fitSpread) inBox(a, b float64) float64 {
	const k = 400
	sA := math.Sqrt(s.vA)
	sc := math.Sqrt(math.Max(s.vN-s.cAN*s.cAN/s.vA, 1e-18))
	var sum float64
	for j := 0; j <= k; j++ {
		x := -a + 2*a*float64(j)/k
		mc := s.bN + s.cAN/s.vA*(x-s.bA)
		f := math.Exp(-0.5*sq((x-s.bA)/sA)) / (sA * math.Sqrt(2*math.Pi)) * (normCDF((b-mc)/sc) - normCDF((-b-mc)/sc))
		w := 2.0
		switch {
		case j == 0 || j == k:
			w = 1
		case j%2 == 1:
			w = 4
		}
		sum += w * f
	}
	return sum * (2 * a / k) / 3
}

func sq(x float64) float64 { return x * x }

// noise is package sim's radio noise for the bound.
type noise struct {
	shadow, fade float64 // dB
	decayM       float64 // shadowing decorrelation, metres walked
	decayMs      float64 // and milliseconds
	frames       float64 // frames a burst brings to a sensor (after losses)
}

var simNoise = noise{shadow: 3.5, fade: 2.5, decayM: 5, decayMs: 600e3, frames: 10 * 0.9}

// walkBurst is one burst of the walk at one sensor.
type walkBurst struct {
	x   float64 // −10·log10 d
	rho float64 // shadowing correlation with the sensor's previous burst
	m   float64 // frames
}

// fisher returns F = XᵀΣ⁻¹X by the Kalman filter's innovations.
func (nz noise) fisher(bs []walkBurst) (f [3]float64) { // F11, F12, F22
	vf := nz.fade*nz.fade + 1.0/12
	var m [2]float64 // filtered shadow estimate, per column of X
	p := nz.shadow * nz.shadow
	first := true
	for _, b := range bs {
		pm := p
		if !first {
			pm = b.rho*b.rho*p + nz.shadow*nz.shadow*(1-b.rho*b.rho)
			m[0], m[1] = b.rho*m[0], b.rho*m[1]
		}
		first = false
		if b.m <= 0 {
			p = pm
			continue
		}
		s := pm + vf/b.m
		e := [2]float64{1 - m[0], b.x - m[1]}
		f[0] += e[0] * e[0] / s
		f[1] += e[0] * e[1] / s
		f[2] += e[1] * e[1] / s
		k := pm / s
		m[0], m[1] = m[0]+k*e[0], m[1]+k*e[1]
		p = (1 - k) * pm
	}
	return f
}

// olsMeat returns XᵀWΣWX (W = diag(m_b)) and XᵀWX.
func (nz noise) olsMeat(bs []walkBurst) (meat, xwx [3]float64) {
	vf := nz.fade*nz.fade + 1.0/12
	ss := nz.shadow * nz.shadow
	for b := range bs {
		if bs[b].m <= 0 {
			continue
		}
		xb := [2]float64{1, bs[b].x}
		xwx[0] += bs[b].m
		xwx[1] += bs[b].m * xb[1]
		xwx[2] += bs[b].m * xb[1] * xb[1]
		r := 1.0
		for c := b; c < len(bs); c++ {
			if c > b {
				r *= bs[c].rho
				if r < 1e-9 {
					break
				}
			}
			if bs[c].m <= 0 {
				continue
			}
			sig := ss * r
			if c == b {
				sig += vf / bs[b].m
			}
			w := bs[b].m * bs[c].m * sig
			if c > b {
				w *= 2 // Σ is symmetric: (b, c) and (c, b)
			}
			meat[0] += w
			meat[1] += w * (xb[1] + bs[c].x) / 2
			meat[2] += w * xb[1] * bs[c].x
		}
	}
	return meat, xwx
}

// sym2 is a symmetric 2×2 matrix (a11, a12, a22).
type sym2 [3]float64

func (a sym2) inv() (sym2, bool) {
	det := a[0]*a[2] - a[1]*a[1]
	if !(det > 0) || !(a[0] > 0) {
		return sym2{}, false
	}
	return sym2{a[2] / det, -a[1] / det, a[0] / det}, true
}

func (a sym2) mulv(v [2]float64) [2]float64 {
	return [2]float64{a[0]*v[0] + a[1]*v[1], a[1]*v[0] + a[2]*v[1]}
}

// sandwich is A·B·A for symmetric A, B.
func (a sym2) sandwich(b sym2) sym2 {
	ab := [2][2]float64{{a[0]*b[0] + a[1]*b[1], a[0]*b[1] + a[1]*b[2]}, {a[1]*b[0] + a[2]*b[1], a[1]*b[1] + a[2]*b[2]}}
	return sym2{ab[0][0]*a[0] + ab[0][1]*a[1], ab[0][0]*a[1] + ab[0][1]*a[2], ab[1][0]*a[1] + ab[1][1]*a[2]}
}

// estimate is the fitSpread of a linear estimator with normal matrix m,
// information (meat) f and prior precision p pulling towards θ0 − θ = d.
func estimate(m, f, p sym2, d [2]float64) (fitSpread, bool) {
	mi, ok := m.inv()
	if !ok {
		return fitSpread{}, false
	}
	b := mi.mulv([2]float64{p[0] * d[0], p[2] * d[1]})
	c := mi.sandwich(f)
	return fitSpread{bA: b[0], bN: b[1], vA: c[0], cAN: c[1], vN: c[2]}, true
}

// walkBounds are the three spreads of one sensor's fit on one walk.
type walkBounds struct {
	gls, glsPrior, olsPrior fitSpread
}

// bounds computes the spreads of sensor i's fit on the walk sw (floor:
// frames whose mean lies below it count as not heard; NaN: every frame).
func (sw *simWalk) bounds(i int, nz noise, floor float64) (walkBounds, bool) {
	se := sw.site.Sensors[i]
	dz := sw.site.Radio.PhoneZ - se.Z
	trueA := sw.radio[i].RSSI1m + sw.walker.TxDB
	trueN := sw.radio[i].Exponent
	var bs []walkBurst
	var last *sim.BurstTruth
	for k := range sw.truth.Bursts {
		b := &sw.truth.Bursts[k]
		if b.Class != sim.Installer || b.T >= sw.mid {
			continue
		}
		d := math.Max(math.Sqrt(sq(b.X-se.X)+sq(b.Y-se.Y)+dz*dz), 0.3)
		wb := walkBurst{x: -10 * math.Log10(d), rho: 1, m: nz.frames}
		if last != nil {
			wb.rho = math.Exp(-math.Hypot(b.X-last.X, b.Y-last.Y)/nz.decayM) * math.Exp(-float64(b.T-last.T)/nz.decayMs)
		}
		if !math.IsNaN(floor) {
			mu := trueA + trueN*wb.x
			heard := 0.0
			if mu >= floor {
				heard += 6
			}
			if mu+sw.radio[i].Offset5GHz >= floor {
				heard += 4
			}
			wb.m = nz.frames * heard / 10
		}
		last = b
		bs = append(bs, wb)
	}
	fi := sym2(nz.fisher(bs))
	r := sw.site.SensorRadio(i)
	p := sym2{1 / sq(DefaultSigmaA), 0, 1 / sq(DefaultSigmaN)}
	d := [2]float64{r.RSSI1m - trueA, r.Exponent - trueN}
	var out walkBounds
	var ok1, ok2, ok3 bool
	out.gls, ok1 = estimate(fi, fi, sym2{}, [2]float64{})
	out.glsPrior, ok2 = estimate(sym2{fi[0] + p[0], fi[1], fi[2] + p[2]}, fi, p, d)
	meat, xwx := nz.olsMeat(bs)
	s2 := sq(nz.shadow) + sq(nz.fade) + 1.0/12
	m := sym2{xwx[0]/s2 + p[0], xwx[1] / s2, xwx[2]/s2 + p[2]}
	out.olsPrior, ok3 = estimate(m, sym2{meat[0] / sq(s2), meat[1] / sq(s2), meat[2] / sq(s2)}, p, d)
	return out, ok1 && ok2 && ok3
}

// boundRow accumulates one sensor's figures over the walks.
type boundRow struct {
	sdA, sdN, corr          float64
	gls, glsPrior, olsPrior float64 // expected fits within tolerance
	achieved                int
	n                       int
}

// TestWalkBound computes, for the 20 seeded walks of
// TestCalibrateSimWalkSeeds (and 40-minute walks with
// PASSANT_ACCURACY=full), the bound of each sensor's fit and the share of
// fits within 1.5 dB and 0.2 it allows, next to what the walk's joint
// censored fit achieves on the same walks.
func TestWalkBound(t *testing.T) {
	for _, censor := range []bool{false, true} {
		walkBound(t, sim.Walker{Duration: 10 * time.Minute}, 20, censor, false)
	}
	if os.Getenv("PASSANT_ACCURACY") != "full" {
		return
	}
	// More walks for the 10-minute figure, and the same walks in a world
	// without a floor and with exact marks (the bound's assumptions).
	walkBound(t, sim.Walker{Duration: 10 * time.Minute}, 60, false, false)
	walkBound(t, sim.Walker{Duration: 10 * time.Minute}, 60, false, true)
	for _, dur := range []time.Duration{20 * time.Minute, 40 * time.Minute, 60 * time.Minute} {
		for _, censor := range []bool{false, true} {
			walkBound(t, sim.Walker{Duration: dur}, 20, censor, false)
		}
	}
	// The slower walk the 40-minute figure was first measured with.
	walkBound(t, sim.Walker{Duration: 40 * time.Minute, Speed: 0.7}, 20, false, false)
	burstWeights(t)
}

// burstWeights refits the 20 walks with every frame weighted w (a burst's
// frames share its shadowing, so each says less than an independent one):
// the data then weigh less against the priors.
func burstWeights(t *testing.T) {
	for _, dur := range []time.Duration{10 * time.Minute, 20 * time.Minute} {
		var line strings.Builder
		for _, w := range []float64{1, 1.0 / 3, 1.0 / 9, 1.0 / 30} {
			in := 0
			var bA, bN float64
			for seed := 1; seed <= 20; seed++ {
				sw := runSimWalkOf(t, simWorld(uint64(seed), false), sim.Walker{Duration: dur}, 0)
				d := sw.data(t)
				for _, ss := range append(append([][]Sample{}, d.Samples...), d.Missed...) {
					for k := range ss {
						ss[k].W = w
					}
				}
				priors := make([]Prior, len(sw.site.Sensors))
				for i := range priors {
					r := sw.site.SensorRadio(i)
					priors[i] = Prior{Params: Params{r.RSSI1m, r.Exponent}}
				}
				wf := d.Fit(priors)
				for i := range sw.site.Sensors {
					dA, dN, _ := sw.miss(i, wf.Sensors[i].Params)
					bA, bN = bA+dA/120, bN+dN/120
					if within(dA, dN) {
						in++
					}
				}
			}
			fmt.Fprintf(&line, "weight %.3f: %d of 120, bias %+.2f dB / %+.3f; ", w, in, bA, bN)
		}
		t.Logf("%v walks, every frame weighted: %s", dur, line.String())
	}
	// The test runs of TestCalibrateSimWalkSeeds (10 walks with shoppers),
	// calibrated with weights 1 and 1/9.
	for _, w := range []float64{1, 1.0 / 9} {
		var gains []float64
		for seed := 1; seed <= 10; seed++ {
			sw := runSimWalk(t, simWorld(uint64(seed), true), 10*time.Minute)
			d := sw.data(t)
			for _, ss := range append(append([][]Sample{}, d.Samples...), d.Missed...) {
				for k := range ss {
					ss[k].W = w
				}
			}
			rep, err := Calibrate(d, 0, Options{})
			if err != nil {
				t.Fatal(err)
			}
			gains = append(gains, 1-median(sw.testErrors(t, rep.Calibrated))/median(sw.testErrors(t, sw.site)))
		}
		sort.Float64s(gains)
		good := 0
		for _, g := range gains {
			if g >= 0.25 {
				good++
			}
		}
		t.Logf("weight %.3f: test runs %d of 10 at least 25%% better (worst %.0f%%, median %.0f%%)", w, good, 100*gains[0], 100*median(gains))
	}
}

// walkBound tabulates the bound over seeded walks of w; censor drops the
// frames below the floor from the bound; ideal runs a world with no floor,
// a true 5 GHz offset and exact marks (no step error, no clock offsets).
func walkBound(t *testing.T, walker sim.Walker, seeds int, censor, ideal bool) {
	floor := math.NaN()
	if censor {
		floor = -90
	}
	rows := make([]boundRow, 6)
	var sumP, varP, sumGP, sumOP float64
	var eA, eN, vA, vN float64 // squared misses of the fits, and the bound's variances
	achieved, n := 0, 0
	for seed := 1; seed <= seeds; seed++ {
		cfg, w := simWorld(uint64(seed), false), walker
		if ideal {
			cfg.Sensitive, cfg.Offset5, cfg.ClockMs, w.StepSD = -130, -6, 0.001, -1
		}
		sw := runSimWalkOf(t, cfg, w, 0)
		d := sw.data(t)
		priors := make([]Prior, len(sw.site.Sensors))
		for i := range priors {
			r := sw.site.SensorRadio(i)
			priors[i] = Prior{Params: Params{r.RSSI1m, r.Exponent}}
		}
		wf := d.Fit(priors)
		for i := range sw.site.Sensors {
			b, ok := sw.bounds(i, simNoise, floor)
			if !ok {
				t.Fatalf("seed %d sensor %s: the bound's information matrix is not positive definite", seed, sw.site.Sensors[i].ID)
			}
			p := b.gls.inBox(1.5, 0.2)
			row := &rows[i]
			row.n++
			row.sdA += math.Sqrt(b.gls.vA) / float64(seeds)
			row.sdN += math.Sqrt(b.gls.vN) / float64(seeds)
			row.corr += b.gls.cAN / math.Sqrt(b.gls.vA*b.gls.vN) / float64(seeds)
			row.gls += p
			gp, op := b.glsPrior.inBox(1.5, 0.2), b.olsPrior.inBox(1.5, 0.2)
			row.glsPrior += gp
			row.olsPrior += op
			sumP, varP, sumGP, sumOP = sumP+p, varP+p*(1-p), sumGP+gp, sumOP+op
			dA, dN, _ := sw.miss(i, wf.Sensors[i].Params)
			if within(dA, dN) {
				row.achieved++
				achieved++
			}
			eA, eN, vA, vN = eA+dA*dA, eN+dN*dN, vA+b.gls.vA, vN+b.gls.vN
			n++
		}
	}
	var tab strings.Builder
	what := "every frame heard"
	if censor {
		what = "frames whose mean is below -90 dBm unheard"
	}
	if ideal {
		what += "; the world without a floor, with a true 5 GHz offset and exact marks"
	}
	speed := walker.Speed
	if speed == 0 {
		speed = 1
	}
	fmt.Fprintf(&tab, "%v walks at %.1f m/s, %d seeds, %s; expected fits within 1.5 dB and 0.2 (of %d per sensor)\n", walker.Duration, speed, seeds, what, seeds)
	fmt.Fprintf(&tab, "| sensor | bound sd dB | sd exponent | corr | GLS (bound) | GLS + prior | OLS + prior | achieved (joint censored fit) |\n|---|---|---|---|---|---|---|---|\n")
	for i, r := range rows {
		fmt.Fprintf(&tab, "| s%d | %.2f | %.3f | %+.2f | %.1f | %.1f | %.1f | %d |\n", i+1, r.sdA, r.sdN, r.corr, r.gls, r.glsPrior, r.olsPrior, r.achieved)
	}
	fmt.Fprintf(&tab, "| all | | | | %.1f ± %.1f | %.1f | %.1f | %d of %d |\n", sumP, math.Sqrt(varP), sumGP, sumOP, achieved, n)
	rA, rN, bA, bN := math.Sqrt(eA/float64(n)), math.Sqrt(eN/float64(n)), math.Sqrt(vA/float64(n)), math.Sqrt(vN/float64(n))
	fmt.Fprintf(&tab, "RMS miss of the fits %.2f dB / %.3f; the bound's %.2f dB / %.3f\n", rA, rN, bA, bN)
	t.Log("\n" + tab.String())
	// Nor may the fits' RMS miss lie far under the bound's (the prior is
	// too weak to buy much; 120 fits estimate an RMS within about 7 %).
	if rA < 0.8*bA || rN < 0.8*bN {
		t.Errorf("RMS miss %.2f dB / %.3f, under the bound's %.2f dB / %.3f", rA, rN, bA, bN)
	}
	// The bound is optimistic (no floor unless censored, exact marks,
	// known 5 GHz offset): no fit may do much better than it lets an
	// unbiased fit do. The priors' pull may help a little where the truth
	// lies near the site's defaults, hence the margin of 3 sigmas plus
	// the regularised GLS's own figure.
	if lim := math.Max(sumP, sumGP) + 3*math.Sqrt(varP) + 3; float64(achieved) > lim {
		t.Errorf("%d of %d fits within tolerance, more than the bound allows (%.1f)", achieved, n, lim)
	}
}

// TestWalkBoundParts checks the bound's pieces against plain
// computations: the Kalman filter's information against XᵀΣ⁻¹X from the
// dense covariance, and the box integral against the product of two 1-D
// probabilities when A and N are independent.
func TestWalkBoundParts(t *testing.T) {
	sw := runSimWalkOf(t, simWorld(1, false), sim.Walker{Duration: 3 * time.Minute}, 0)
	se := sw.site.Sensors[2]
	dz := sw.site.Radio.PhoneZ - se.Z
	var bs []walkBurst
	var last *sim.BurstTruth
	for k := range sw.truth.Bursts {
		b := &sw.truth.Bursts[k]
		if b.Class != sim.Installer {
			continue
		}
		wb := walkBurst{x: -10 * math.Log10(math.Sqrt(sq(b.X-se.X)+sq(b.Y-se.Y)+dz*dz)), rho: 1, m: float64(1 + k%9)}
		if last != nil {
			wb.rho = math.Exp(-math.Hypot(b.X-last.X, b.Y-last.Y)/5) * math.Exp(-float64(b.T-last.T)/600e3)
		}
		last = b
		bs = append(bs, wb)
	}
	n := len(bs)
	sig := mat.NewSymDense(n, nil)
	x := mat.NewDense(n, 2, nil)
	vf := sq(simNoise.fade) + 1.0/12
	for b := 0; b < n; b++ {
		x.Set(b, 0, 1)
		x.Set(b, 1, bs[b].x)
		r := 1.0
		for c := b; c < n; c++ {
			if c > b {
				r *= bs[c].rho
			}
			v := sq(simNoise.shadow) * r
			if c == b {
				v += vf / bs[b].m
			}
			sig.SetSym(b, c, v)
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(sig) {
		t.Fatal("Σ not positive definite")
	}
	var sx mat.Dense
	if err := ch.SolveTo(&sx, x); err != nil {
		t.Fatal(err)
	}
	var f mat.Dense
	f.Mul(x.T(), &sx)
	k := simNoise.fisher(bs)
	for i, want := range []float64{f.At(0, 0), f.At(0, 1), f.At(1, 1)} {
		if math.Abs(k[i]-want) > 1e-9*math.Abs(want)+1e-12 {
			t.Errorf("F[%d]: Kalman %.9g, dense %.9g", i, k[i], want)
		}
	}
	t.Logf("%d bursts: F = %.4g %.4g %.4g", n, k[0], k[1], k[2])
	s := fitSpread{bA: 0.3, bN: -0.05, vA: 1.7, vN: 0.02}
	want := (normCDF((1.5-0.3)/math.Sqrt(1.7)) - normCDF((-1.5-0.3)/math.Sqrt(1.7))) *
		(normCDF((0.2+0.05)/math.Sqrt(0.02)) - normCDF((-0.2+0.05)/math.Sqrt(0.02)))
	if got := s.inBox(1.5, 0.2); math.Abs(got-want) > 1e-6 {
		t.Errorf("box: %.7f, want %.7f", got, want)
	}
}
