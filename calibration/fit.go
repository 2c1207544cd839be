// Package calibration fits a site's radio model to what its sensors really
// hear: from an installer's walk with a reference phone (Walk, Calibrate),
// continuously from anchors at known positions (SelfFitter), and it predicts
// the accuracy a sensor layout can reach (AccuracyMap, Suggest).
//
// The model is the contract's log-distance path loss per sensor i,
//
//	rssi = A_i - 10·n_i·log10(d)
//
// with A_i = rssi_1m (relative to the reference device's transmit power)
// and n_i the exponent, d the 3-D distance in metres.
package calibration

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Sample is one frame a sensor heard of a device at a known distance.
type Sample struct {
	RSSI float64 // dBm, moved to the 2.4 GHz band
	D    float64 // 3-D distance in metres
	W    float64 // weight; 0 means 1
	Seg  int     // the walk segment it came from (for validation)
	Src  int     // the walker it came from (0: the reference)
	// Floor is the detection floor for this frame in the same units as
	// RSSI (a 5 GHz frame's floor moved like its RSSI); 0: Prior.Floor.
	// Fit leaves frames near it out.
	Floor float64
	// Censor is the censoring point of the walk's joint fit (Data.Fit), in
	// the units of RSSI (0: none): a frame heard below it, or missed, is a
	// censored observation.
	Censor float64
	Band5  bool // a 5 GHz frame
	Ch     int  // the channel (frames are lost per sensor and channel)
}

// Params are one sensor's path-loss parameters.
type Params struct {
	RSSI1m   float64 `json:"rssi_1m"`
	Exponent float64 `json:"exponent"`
}

// Prior is what a fit is pulled towards: the site's values and how far the
// data may move them before it has to be convincing. A Gaussian prior
// A ~ N(P.RSSI1m, SigmaA²), n ~ N(P.Exponent, SigmaN²) regularises the fit:
// with few samples, or samples all at one distance, the prior dominates.
type Prior struct {
	Params
	SigmaA float64 // dB; 0 means DefaultSigmaA
	SigmaN float64 // 0 means DefaultSigmaN
	// Floor is the sensor's detection floor, dBm (0: none). Frames whose
	// predicted RSSI lies within FloorMargin noise sigmas of it are left
	// out: near the floor only the frames that happened to be strong are
	// heard, which would flatten the fitted exponent.
	Floor float64
}

// Defaults of the fit.
const (
	DefaultSigmaA = 6.0  // dB: installations differ by a few dB per sensor
	DefaultSigmaN = 0.35 // exponents differ by a few tenths
	// MinNoise is the floor of the per-frame noise used for weighting, dB.
	MinNoise = 2.0
	// HuberK is where outlier down-weighting starts, in noise sigmas.
	HuberK = 1.5
	// FloorMargin is how many noise sigmas above the detection floor a
	// frame's prediction must lie to count.
	FloorMargin = 2.0
	minD        = 0.5
)

// Result is a fitted sensor model.
type Result struct {
	Params
	N        int     `json:"samples"`
	RMS      float64 `json:"rms_db"`   // residual RMS of the samples, dB
	Noise    float64 `json:"noise_db"` // robust per-frame noise (1.4826·MAD), dB
	SE       Params  `json:"se"`       // standard errors of the fitted values
	Outliers int     `json:"outliers"` // samples down-weighted below 0.5
	// Censored counts the samples left out as too near the detection floor
	// (Fit), or heard below the censoring point (Data.Fit).
	Censored int `json:"censored"`
	// Missed counts the frames of the walk the sensor did not hear (censored
	// observations of Data.Fit), and Loss is its fitted share of frames
	// lost whatever their strength (mean over channels).
	Missed   int     `json:"missed,omitempty"`
	Loss     float64 `json:"loss,omitempty"`
	SpreadDB float64 `json:"spread"` // standard deviation of 10·log10(d) over the samples, dB
}

// Fit fits one sensor's rssi_1m and exponent to samples by weighted least
// squares with a Gaussian prior, iteratively reweighted so that outliers (a
// body in the way, a reflection) count less: Huber weights first, then
// Tukey's biweight from the Huber solution, so that far outliers count
// nothing. With x = -10·log10(d) the model is linear, rssi = A + n·x, and
// each iteration solves the 2×2 normal equations
//
//	(XᵀWX/σ² + P) θ = XᵀWr/σ² + P θ₀,  P = diag(1/σ_A², 1/σ_n²)
//
// with Gonum's Cholesky factorisation; σ is the robust noise of the
// residuals. Samples with a detection floor are fitted in two stages: a
// first fit on all, then a second without the samples whose first-stage
// prediction lies within FloorMargin·σ of their floor (selected on the
// distance alone, which does not bias the fit, and fixed before the second
// stage, which cannot run away). With no samples the prior is returned.
func Fit(samples []Sample, prior Prior) Result {
	if prior.SigmaA <= 0 {
		prior.SigmaA = DefaultSigmaA
	}
	if prior.SigmaN <= 0 {
		prior.SigmaN = DefaultSigmaN
	}
	res := Result{Params: prior.Params, N: len(samples)}
	if len(samples) == 0 {
		res.SE = Params{prior.SigmaA, prior.SigmaN}
		return res
	}
	xs := make([]float64, len(samples))
	keep := make([]bool, len(samples))
	var mx, mx2, wsum float64
	floors := false
	for i, s := range samples {
		xs[i] = -10 * math.Log10(math.Max(s.D, minD))
		keep[i] = true
		w := weightOf(s)
		mx += w * xs[i]
		mx2 += w * xs[i] * xs[i]
		wsum += w
		floors = floors || floorOf(s, prior) != 0
	}
	mx /= wsum
	res.SpreadDB = math.Sqrt(math.Max(mx2/wsum-mx*mx, 0))
	first := irls(samples, xs, keep, prior)
	if !floors {
		first.apply(&res)
		return res
	}
	for i, s := range samples {
		if fl := floorOf(s, prior); fl != 0 && first.theta[0]+first.theta[1]*xs[i] < fl+FloorMargin*first.sigma {
			keep[i] = false
			res.Censored++
		}
	}
	if res.Censored == len(samples) {
		first.apply(&res)
		res.Censored = 0
		return res
	}
	second := irls(samples, xs, keep, prior)
	second.apply(&res)
	return res
}

type irlsResult struct {
	theta    [2]float64
	sigma    float64
	rms      float64
	se       Params
	outliers int
}

func (r *irlsResult) apply(res *Result) {
	res.RSSI1m, res.Exponent = r.theta[0], r.theta[1]
	res.Noise, res.RMS, res.SE, res.Outliers = r.sigma, r.rms, r.se, r.outliers
}

// irls is the reweighted fit of the samples that keep marks.
func irls(samples []Sample, xs []float64, keep []bool, prior Prior) irlsResult {
	sa, sn := prior.SigmaA, prior.SigmaN
	theta := [2]float64{prior.RSSI1m, prior.Exponent}
	hub := make([]float64, len(samples))
	for i := range hub {
		hub[i] = 1
	}
	var resid []float64
	sigma := 4.0
	var cov mat.SymDense
	for iter := 0; iter < 20; iter++ {
		a := mat.NewSymDense(2, []float64{1 / (sa * sa), 0, 0, 1 / (sn * sn)})
		b := mat.NewVecDense(2, []float64{prior.RSSI1m / (sa * sa), prior.Exponent / (sn * sn)})
		s2 := sigma * sigma
		for i, s := range samples {
			if !keep[i] {
				continue
			}
			w := weightOf(s) * hub[i] / s2
			x := xs[i]
			a.SetSym(0, 0, a.At(0, 0)+w)
			a.SetSym(0, 1, a.At(0, 1)+w*x)
			a.SetSym(1, 1, a.At(1, 1)+w*x*x)
			b.SetVec(0, b.AtVec(0)+w*s.RSSI)
			b.SetVec(1, b.AtVec(1)+w*x*s.RSSI)
		}
		var ch mat.Cholesky
		if !ch.Factorize(a) {
			break
		}
		var th mat.VecDense
		if err := ch.SolveVecTo(&th, b); err != nil {
			break
		}
		if err := ch.InverseTo(&cov); err != nil {
			break
		}
		next := [2]float64{th.AtVec(0), th.AtVec(1)}
		resid = resid[:0]
		for i, s := range samples {
			if keep[i] {
				resid = append(resid, s.RSSI-next[0]-next[1]*xs[i])
			}
		}
		sigma = math.Max(robustSigma(resid), MinNoise)
		tukey := iter >= 6 // after Huber has settled, redescend: far outliers count nothing
		for i, s := range samples {
			u := (s.RSSI - next[0] - next[1]*xs[i]) / sigma
			if tukey {
				hub[i] = bisquare(u)
			} else {
				hub[i] = huber(u)
			}
		}
		done := tukey && math.Abs(next[0]-theta[0]) < 1e-4 && math.Abs(next[1]-theta[1]) < 1e-5
		theta = next
		if done {
			break
		}
	}
	r := irlsResult{theta: theta, sigma: sigma}
	var ss, ws float64
	for i, s := range samples {
		if !keep[i] {
			continue
		}
		e := s.RSSI - theta[0] - theta[1]*xs[i]
		w := weightOf(s)
		ss += w * e * e
		ws += w
		if hub[i] < 0.5 {
			r.outliers++
		}
	}
	if ws > 0 {
		r.rms = math.Sqrt(ss / ws)
	}
	if cov.SymmetricDim() == 2 {
		r.se = Params{math.Sqrt(cov.At(0, 0)), math.Sqrt(cov.At(1, 1))}
	}
	return r
}

func floorOf(s Sample, p Prior) float64 {
	if s.Floor != 0 {
		return s.Floor
	}
	return p.Floor
}

func weightOf(s Sample) float64 {
	if s.W <= 0 {
		return 1
	}
	return s.W
}

// huber is the Huber weight of a standardised residual u.
func huber(u float64) float64 {
	u = math.Abs(u)
	if u <= HuberK {
		return 1
	}
	return HuberK / u
}

// bisquare is Tukey's biweight of a standardised residual u.
func bisquare(u float64) float64 {
	const c = 4.685
	if math.Abs(u) >= c {
		return 0
	}
	v := 1 - (u/c)*(u/c)
	return v * v
}

// robustSigma is 1.4826 times the median absolute deviation of r from its
// median: the standard deviation of Gaussian noise, unmoved by outliers.
func robustSigma(r []float64) float64 {
	if len(r) == 0 {
		return 0
	}
	c := append([]float64(nil), r...)
	med := median(c)
	for i := range c {
		c[i] = math.Abs(c[i] - med)
	}
	return 1.4826 * median(c)
}

// median returns the median of v, reordering v.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// Residual returns the RMS residual of samples under p, dB (0 for none).
func Residual(samples []Sample, p Params) float64 {
	if len(samples) == 0 {
		return 0
	}
	var ss float64
	for _, s := range samples {
		r := s.RSSI - p.Expected(s.D)
		ss += r * r
	}
	return math.Sqrt(ss / float64(len(samples)))
}

// Expected returns the model's RSSI at distance d.
func (p Params) Expected(d float64) float64 {
	return p.RSSI1m - 10*p.Exponent*math.Log10(math.Max(d, minD))
}
