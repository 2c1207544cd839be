package calibration

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// censoredFit is the state of the walk's joint fit (see censored.go): the
// parameters (A_i, n_i, δ), each sensor's noise σ_i and outlier share ε_i,
// and its loss rate λ per channel.
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
