package calibration

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// The walk's joint fit. Every sensor i has its own rssi_1m A_i and exponent
// n_i; the 5 GHz frames of all sensors share one correction δ of the site's
// offset_5ghz (the same phone's bursts are heard in both bands, under the
// same shadowing). A frame of the walking phone at distance d, x = −10·log10 d,
// arrives at sensor i with
//
//	r = μ + e,  μ = A_i + n_i·x + δ·[5 GHz],  e ~ N(0, σ_i²)
//
// and the sensor reports it unless r lies below its sensitivity or the frame
// is lost anyway (another channel, a collision: probability λ per sensor and
// channel, whatever r). Above a censoring point C (the estimated floor plus
// CensorMargin, where every frame that reaches the sensor is reported) a
// frame is an observation; a frame the sensor did not report, or reported
// below C, is censored: all that is known is that it was not reported
// above C. The likelihood (Tobit, with losses):
//
//	heard, r ≥ C:  (1−λ)·φ((r−μ)/σ)/σ
//	otherwise:     λ + (1−λ)·Φ((C−μ)/σ)
//
// Which frames a sensor missed comes from the other sensors: in each burst,
// on each channel, the most frames any other sensor heard (Data.Missed).
// Heard frames are also a contaminated normal, (1−ε)·φ/σ + ε/60 dB: a frame
// far off the model counts almost nothing (an EM weight, not a Huber
// weight, which would bias the censored likelihood).
//
// The fit maximises the likelihood times the Gaussian priors (the sensors'
// as in Fit, δ ~ N(0, SigmaOffset5²)) by expectation–maximisation around
// Newton steps: the E-step gives the outlier weights, the loss posteriors
// and the noise σ_i; the M-step takes one Newton step in (A, n, δ) on the
// Gonum Cholesky factorisation of the negative Hessian (per-frame curvature
// clipped to be concave, steps halved until the objective rises).

// CensorMargin is how far above the estimated detection floor (the 0.2 %
// quantile of the frames heard) the censoring point lies, dB: above it
// every frame that reaches a sensor is reported (the floor is soft and
// RSSI is reported in whole dB).
const CensorMargin = 3.5

// DefaultSigmaOffset5 is the prior width of the 5 GHz offset's correction, dB.
const DefaultSigmaOffset5 = 2.0

// outlierDensity is the density of an outlying frame's RSSI: uniform over 60 dB.
const outlierDensity = 1.0 / 60

// WalkFit is the joint fit of a walk.
type WalkFit struct {
	Sensors []Result
	// Offset5 is the fitted correction of the site's offset_5ghz, dB
	// (0 when not fitted), and Offset5SE its standard error.
	Offset5   float64
	Offset5SE float64
	// Tx holds each walker's transmit offset from the reference (Src 0).
	Tx []float64
}

// predict returns the fit's mean RSSI of sample s at sensor i (for the
// reference walker).
func (wf *WalkFit) predict(i int, s Sample) float64 {
	m := wf.Sensors[i].Expected(s.D)
	if s.Band5 {
		m += wf.Offset5
	}
	return m
}

// Fit fits every sensor of the walk jointly with the 5 GHz offset's
// correction, with priors by sensor index.
func (d *Data) Fit(priors []Prior) WalkFit {
	return fitWalk(d, priors, nil, true, nil)
}

type cobs struct {
	x, r, c, w float64 // c: censoring point, NaN for none
	b5, cens   bool
	g, src     int
}

type sensorObs struct {
	obs    []cobs
	groups int
	heard  int
	below  int // heard below the censoring point
	missed int
	spread float64
}

// walkObs gathers sensor i's heard and missed frames that keep selects.
func walkObs(heard, missed []Sample, keep func(Sample) bool) sensorObs {
	var so sensorObs
	gi := map[int]int{}
	group := func(ch int) int {
		g, ok := gi[ch]
		if !ok {
			g = len(gi)
			gi[ch] = g
		}
		return g
	}
	var mx, mx2, ws float64
	for _, s := range heard {
		if keep != nil && !keep(s) {
			continue
		}
		o := cobs{x: -10 * math.Log10(math.Max(s.D, minD)), r: s.RSSI, c: math.NaN(), w: weightOf(s), b5: s.Band5, g: group(s.Ch), src: s.Src}
		if s.Censor != 0 {
			o.c = s.Censor
			if s.RSSI < s.Censor {
				o.cens = true
				so.below++
			}
		}
		so.heard++
		mx += o.w * o.x
		mx2 += o.w * o.x * o.x
		ws += o.w
		so.obs = append(so.obs, o)
	}
	for _, s := range missed {
		if s.Censor == 0 || (keep != nil && !keep(s)) {
			continue
		}
		so.obs = append(so.obs, cobs{x: -10 * math.Log10(math.Max(s.D, minD)), c: s.Censor, w: weightOf(s), b5: s.Band5, cens: true, g: group(s.Ch), src: s.Src})
		so.missed++
	}
	so.groups = max(len(gi), 1)
	if ws > 0 {
		mx /= ws
		so.spread = math.Sqrt(math.Max(mx2/ws-mx*mx, 0))
	}
	return so
}

// fitWalk fits the sensors on the walk's frames that keep selects (nil:
// all), with the 5 GHz correction when off5 is set, starting from warm
// (nil: the priors). With several walkers their transmit offsets are
// refitted between rounds (the median residual of their frames heard clear
// of the floor).
func fitWalk(d *Data, priors []Prior, keep func(Sample) bool, off5 bool, warm *WalkFit) WalkFit {
	ns := len(priors)
	sens := make([]sensorObs, ns)
	for i := range sens {
		var missed []Sample
		if i < len(d.Missed) {
			missed = d.Missed[i]
		}
		sens[i] = walkObs(d.Samples[i], missed, keep)
	}
	tx := make([]float64, max(d.Walkers, 1))
	rounds := 1
	if d.Walkers > 1 {
		rounds = 4
	}
	var st *censoredFit
	for r := 0; r < rounds; r++ {
		st = newCensoredFit(sens, priors, tx, off5, st)
		if r == 0 && warm != nil {
			st.warm(warm)
		}
		st.run()
		if d.Walkers > 1 {
			tx = st.txOffsets(d.Walkers)
		}
	}
	return st.result(sens, tx)
}

type censoredFit struct {
	sens   []sensorObs
	priors []Prior
	tx     []float64
	off5   bool
	theta  []float64 // A_0, n_0, A_1, n_1, …, (δ)
	sigma  []float64
	eps    []float64
	loss   [][]float64 // per sensor, per group
	cov    *mat.SymDense
	w      [][]float64 // E-step: inlier weights of the heard frames
	cdfs   [][]float64 // E-step: Φ((C−μ)/σ) of the censored frames
}

func newCensoredFit(sens []sensorObs, priors []Prior, tx []float64, off5 bool, warm *censoredFit) *censoredFit {
	ns := len(sens)
	dim := 2 * ns
	if off5 {
		dim++
	}
	f := &censoredFit{sens: sens, priors: make([]Prior, ns), tx: tx, off5: off5, theta: make([]float64, dim),
		sigma: make([]float64, ns), eps: make([]float64, ns), loss: make([][]float64, ns)}
	for i, p := range priors {
		if p.SigmaA <= 0 {
			p.SigmaA = DefaultSigmaA
		}
		if p.SigmaN <= 0 {
			p.SigmaN = DefaultSigmaN
		}
		f.priors[i] = p
		f.theta[2*i], f.theta[2*i+1] = p.RSSI1m, p.Exponent
		f.sigma[i], f.eps[i] = 4, 0.02
		f.loss[i] = make([]float64, sens[i].groups)
		for g := range f.loss[i] {
			f.loss[i][g] = 0.1
		}
	}
	if warm != nil {
		copy(f.theta, warm.theta)
		copy(f.sigma, warm.sigma)
		copy(f.eps, warm.eps)
		for i := range f.loss {
			copy(f.loss[i], warm.loss[i])
		}
	}
	return f
}

// warm starts f from a fit of the same sensors.
func (f *censoredFit) warm(w *WalkFit) {
	for i, r := range w.Sensors {
		if i < len(f.sigma) {
			f.theta[2*i], f.theta[2*i+1] = r.RSSI1m, r.Exponent
			f.sigma[i] = math.Max(r.Noise, MinNoise)
		}
	}
	if f.off5 {
		f.theta[len(f.theta)-1] = w.Offset5
	}
}

func (f *censoredFit) delta() float64 {
	if f.off5 {
		return f.theta[len(f.theta)-1]
	}
	return 0
}

// mu is the model's mean for o at sensor i under theta, less the walker's
// transmit offset already taken from o.r and o.c by the caller.
func (f *censoredFit) mu(theta []float64, i int, o *cobs) float64 {
	m := theta[2*i] + theta[2*i+1]*o.x
	if o.b5 && f.off5 {
		m += theta[len(theta)-1]
	}
	return m
}

// objective is the log-likelihood under the E-step's weights plus the log
// prior, at theta.
func (f *censoredFit) objective(theta []float64, w [][]float64) float64 {
	var q float64
	for i := range f.sens {
		s := f.sigma[i]
		for k := range f.sens[i].obs {
			o := &f.sens[i].obs[k]
			t := f.tx[o.src]
			m := f.mu(theta, i, o)
			if !o.cens {
				u := (o.r - t - m) / s
				q -= 0.5 * o.w * w[i][k] * u * u
				continue
			}
			lam := f.loss[i][o.g]
			q += o.w * math.Log(lam+(1-lam)*normCDF((o.c-t-m)/s)+1e-300)
		}
		p := f.priors[i]
		da, dn := (theta[2*i]-p.RSSI1m)/p.SigmaA, (theta[2*i+1]-p.Exponent)/p.SigmaN
		q -= 0.5 * (da*da + dn*dn)
	}
	if f.off5 {
		dd := theta[len(theta)-1] / DefaultSigmaOffset5
		q -= 0.5 * dd * dd
	}
	return q
}

// estep returns the heard frames' inlier weights at theta and updates the
// noise, outlier share and loss rates (one EM step each).
func (f *censoredFit) estep() [][]float64 {
	if f.w == nil {
		f.w, f.cdfs = make([][]float64, len(f.sens)), make([][]float64, len(f.sens))
		for i := range f.sens {
			f.w[i], f.cdfs[i] = make([]float64, len(f.sens[i].obs)), make([]float64, len(f.sens[i].obs))
		}
	}
	w := f.w
	for i := range f.sens {
		so := &f.sens[i]
		s, eps := f.sigma[i], f.eps[i]
		var ss, sw, out, nh float64
		heardAbove := make([]float64, so.groups)
		cdfs := f.cdfs[i]
		for k := range so.obs {
			o := &so.obs[k]
			t := f.tx[o.src]
			m := f.mu(f.theta, i, o)
			if !o.cens {
				u := (o.r - t - m) / s
				in := (1 - eps) * math.Exp(-0.5*u*u) / (math.Sqrt2 * math.SqrtPi * s)
				wk := in / (in + eps*outlierDensity)
				w[i][k] = wk
				ss += o.w * wk * (o.r - t - m) * (o.r - t - m)
				sw += o.w * wk
				out += o.w * (1 - wk)
				nh += o.w
				if !math.IsNaN(o.c) {
					heardAbove[o.g] += o.w
				}
				continue
			}
			a := (o.c - t - m) / s
			cdf := normCDF(a)
			lam := f.loss[i][o.g]
			p := lam + (1-lam)*cdf
			tau := lam / math.Max(p, 1e-300) // posterior probability of a loss
			cdfs[k] = cdf
			// E[(r−μ)² | r < C] = σ²(1 − a·φ(a)/Φ(a)) for the frames not lost.
			if cdf > 1e-12 {
				ss += o.w * (1 - tau) * s * s * math.Max(1-a*normPDF(a)/cdf, 0)
				sw += o.w * (1 - tau)
			}
		}
		if sw > 0 {
			f.sigma[i] = math.Max(math.Sqrt(ss/sw), MinNoise)
		}
		if nh > 0 {
			f.eps[i] = min(max(out/nh, 1e-3), 0.2)
		}
		f.fitLoss(i, heardAbove, cdfs)
	}
	return w
}

// fitLoss sets sensor i's loss rate of each group to its maximum-likelihood
// value given the censored frames' Φ_k = Φ((C−μ)/σ) in cdfs: the root in
// [0, 1) of the score
//
//	−H/(1−λ) + Σ (1−Φ_k)/(λ + (1−λ)Φ_k)
//
// (H the frames heard above C), which falls with λ: safeguarded Newton
// steps inside a shrinking bracket.
func (f *censoredFit) fitLoss(i int, heardAbove, cdfs []float64) {
	so := &f.sens[i]
	type term struct{ w, cdf float64 }
	terms := make([][]term, so.groups)
	for k := range so.obs {
		// A frame missed far below the floor says nothing about losses.
		if o := &so.obs[k]; o.cens && !math.IsNaN(o.c) && cdfs[k] < 1-1e-9 {
			terms[o.g] = append(terms[o.g], term{o.w, cdfs[k]})
		}
	}
	for g := range f.loss[i] {
		ts, h := terms[g], heardAbove[g]
		score := func(lam float64) (v, dv float64) {
			v, dv = -h/(1-lam), -h/((1-lam)*(1-lam))
			for _, t := range ts {
				p := lam + (1-lam)*t.cdf + 1e-300
				q := (1 - t.cdf) / p
				v += t.w * q
				dv -= t.w * q * q
			}
			return v, dv
		}
		lo, hi := 0.0, 0.999
		if v, _ := score(lo); v <= 0 {
			f.loss[i][g] = 0
			continue
		}
		if v, _ := score(hi); v >= 0 {
			f.loss[i][g] = hi
			continue
		}
		lam := min(max(f.loss[i][g], 1e-4), 0.99)
		for it := 0; it < 50 && hi-lo > 1e-7; it++ {
			v, dv := score(lam)
			if v > 0 {
				lo = lam
			} else {
				hi = lam
			}
			next := lam - v/dv
			if !(next > lo && next < hi) {
				next = (lo + hi) / 2
			}
			if math.Abs(next-lam) < 1e-7 {
				lam = next
				break
			}
			lam = next
		}
		f.loss[i][g] = lam
	}
}

// run iterates EM around Newton steps until the parameters settle.
func (f *censoredFit) run() {
	dim := len(f.theta)
	next := make([]float64, dim)
	for iter := 0; iter < 60; iter++ {
		prevSigma := append([]float64(nil), f.sigma...)
		var prevLoss []float64
		for i := range f.loss {
			prevLoss = append(prevLoss, f.loss[i]...)
		}
		w := f.estep()
		h := mat.NewSymDense(dim, nil)
		g := make([]float64, dim)
		q0 := f.derivatives(w, h, g)
		var ch mat.Cholesky
		if !ch.Factorize(h) {
			break
		}
		var step mat.VecDense
		if err := ch.SolveVecTo(&step, mat.NewVecDense(dim, g)); err != nil {
			break
		}
		moved := 0.0
		for half := 0; half < 8; half++ {
			sc := math.Pow(0.5, float64(half))
			for j := range next {
				next[j] = f.theta[j] + sc*step.AtVec(j)
			}
			if f.objective(next, w) >= q0-1e-9 {
				for j := range next {
					moved = math.Max(moved, math.Abs(next[j]-f.theta[j]))
				}
				copy(f.theta, next)
				break
			}
		}
		var cov mat.SymDense
		if err := ch.InverseTo(&cov); err == nil {
			f.cov = &cov
		}
		ds := 0.0
		for i := range f.sigma {
			ds = math.Max(ds, math.Abs(f.sigma[i]-prevSigma[i]))
		}
		dl := 0.0
		j := 0
		for i := range f.loss {
			for _, l := range f.loss[i] {
				dl = math.Max(dl, math.Abs(l-prevLoss[j]))
				j++
			}
		}
		if iter > 1 && moved < 1e-3 && ds < 2e-3 && dl < 1e-3 {
			break
		}
	}
}

// derivatives fills h with the negative Hessian (per-frame curvature
// clipped to be concave) and g with the gradient of the objective at theta,
// and returns the objective.
func (f *censoredFit) derivatives(w [][]float64, h *mat.SymDense, g []float64) float64 {
	var q float64
	dim := len(f.theta)
	last := dim - 1
	for i := range f.sens {
		s := f.sigma[i]
		var haa, han, hnn, had, hnd, hdd, ga, gn, gd float64
		for k := range f.sens[i].obs {
			o := &f.sens[i].obs[k]
			t := f.tx[o.src]
			m := f.mu(f.theta, i, o)
			var d1, d2 float64 // first and (negative) second derivative in μ
			if !o.cens {
				e := (o.r - t - m) / s
				q -= 0.5 * o.w * w[i][k] * e * e
				d1 = o.w * w[i][k] * e / s
				d2 = o.w * w[i][k] / (s * s)
			} else {
				lam := f.loss[i][o.g]
				a := (o.c - t - m) / s
				pdf, cdf := normPDF(a), normCDF(a)
				p := lam + (1-lam)*cdf + 1e-300
				q += o.w * math.Log(p)
				dp := -(1 - lam) * pdf / s            // dP/dμ
				ddp := -(1 - lam) * a * pdf / (s * s) // d²P/dμ²
				d1 = o.w * dp / p
				d2 = o.w * math.Max(-(ddp/p-(dp/p)*(dp/p)), 0)
			}
			ga += d1
			gn += d1 * o.x
			haa += d2
			han += d2 * o.x
			hnn += d2 * o.x * o.x
			if o.b5 && f.off5 {
				gd += d1
				had += d2
				hnd += d2 * o.x
				hdd += d2
			}
		}
		p := f.priors[i]
		a, n := 2*i, 2*i+1
		da, dn := (f.theta[a]-p.RSSI1m)/p.SigmaA, (f.theta[n]-p.Exponent)/p.SigmaN
		q -= 0.5 * (da*da + dn*dn)
		g[a] = ga - (f.theta[a]-p.RSSI1m)/(p.SigmaA*p.SigmaA)
		g[n] = gn - (f.theta[n]-p.Exponent)/(p.SigmaN*p.SigmaN)
		h.SetSym(a, a, haa+1/(p.SigmaA*p.SigmaA))
		h.SetSym(a, n, han)
		h.SetSym(n, n, hnn+1/(p.SigmaN*p.SigmaN))
		if f.off5 {
			g[last] += gd
			h.SetSym(a, last, had)
			h.SetSym(n, last, hnd)
			h.SetSym(last, last, h.At(last, last)+hdd)
		}
	}
	if f.off5 {
		dd := f.theta[last] / DefaultSigmaOffset5
		q -= 0.5 * dd * dd
		g[last] -= f.theta[last] / (DefaultSigmaOffset5 * DefaultSigmaOffset5)
		h.SetSym(last, last, h.At(last, last)+1/(DefaultSigmaOffset5*DefaultSigmaOffset5))
	}
	return q
}

// txOffsets returns each walker's median residual, relative to the
// reference walker's, over the frames heard clear of the floor.
func (f *censoredFit) txOffsets(walkers int) []float64 {
	res := make([][]float64, walkers)
	for i := range f.sens {
		for k := range f.sens[i].obs {
			o := &f.sens[i].obs[k]
			m := f.mu(f.theta, i, o)
			if o.cens || (!math.IsNaN(o.c) && m+f.tx[o.src] < o.c+2.5*f.sigma[i]) {
				continue
			}
			res[o.src] = append(res[o.src], o.r-m)
		}
	}
	tx := make([]float64, walkers)
	if len(res[0]) == 0 {
		return f.tx
	}
	r0 := median(res[0])
	for w := 1; w < walkers; w++ {
		if len(res[w]) > 0 {
			tx[w] = median(res[w]) - r0
		} else {
			tx[w] = f.tx[w]
		}
	}
	return tx
}

func (f *censoredFit) result(sens []sensorObs, tx []float64) WalkFit {
	wf := WalkFit{Sensors: make([]Result, len(sens)), Tx: tx, Offset5: f.delta()}
	w := f.estep()
	for i := range sens {
		so := &sens[i]
		r := Result{Params: Params{f.theta[2*i], f.theta[2*i+1]}, N: so.heard, Noise: f.sigma[i], SpreadDB: so.spread,
			Censored: so.below, Missed: so.missed}
		var ss, ws float64
		for k := range so.obs[:so.heard] { // the heard frames come first
			o := &so.obs[k]
			e := o.r - tx[o.src] - f.mu(f.theta, i, o)
			ss += o.w * e * e
			ws += o.w
			if !o.cens && w[i][k] < 0.5 {
				r.Outliers++
			}
		}
		if ws > 0 {
			r.RMS = math.Sqrt(ss / ws)
		}
		if f.cov != nil {
			r.SE = Params{math.Sqrt(f.cov.At(2*i, 2*i)), math.Sqrt(f.cov.At(2*i+1, 2*i+1))}
		}
		var lost, n float64
		for _, l := range f.loss[i] {
			lost += l
			n++
		}
		if so.missed > 0 && n > 0 {
			r.Loss = round(lost/n, 3)
		}
		wf.Sensors[i] = r
	}
	if f.off5 && f.cov != nil {
		last := len(f.theta) - 1
		wf.Offset5SE = math.Sqrt(f.cov.At(last, last))
	}
	return wf
}

func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func normPDF(x float64) float64 { return math.Exp(-0.5*x*x) / (math.Sqrt2 * math.SqrtPi) }
