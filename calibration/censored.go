package calibration

import "math"

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
