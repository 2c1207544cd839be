package sim

import (
	"math"
	"sort"

	"github.com/passant/passant/wire"
)

// SideOracle is the Bayes decision of a burst's side of the shop's front
// (in the store or not) under the simulator's true world, one burst at a
// time: what the physics allows a single burst, with no track memory.
//
// It knows what the world is, never where the phone was: each sensor's true
// rssi_1m (the site's plus its gain error) and exponent, the front's loss,
// the shadowing's spread σ_s, the per-frame fading σ_f, the 5 GHz offset,
// the sensitivity and the loss rate, the transmit offset's distribution
// N(0, τ²), and from the burst's fingerprint the phone model's frames per
// burst. Its prior is where the run's people truly were when they probed:
// the empirical distribution of the truth's burst positions (in 0.5 m bins,
// leaving out the burst's own truth line).
//
// Per sensor the data are the mean x̄ of the n frames it heard (5 GHz frames
// moved to 2.4 GHz by the true offset) and how many it missed. Given the
// level μ = f(c) + b + s at a sensor (f the true path loss at position c, b
// the transmit offset, s the sensor's shadowing), frames are independent:
// each is heard with probability (1-λ) Φ((μ - sens)/√(σ_f²+1)) (λ the loss
// rate, the sensitivity's own 1 dB jitter) and read as μ + N(0, σ_f²); the
// factor Φ(x - sens) of a heard frame's density does not depend on μ, so
//
//	p(data | μ) ∝ exp(-n (x̄ - μ)² / (2 σ_f²)) · (1 - (1-λ) Φ((μ - sens)/√(σ_f²+1)))^(K-n).
//
// Integrating s ~ N(0, σ_s²): a sensor that heard nothing takes the exact
// expectation (tabulated); one that heard gives N(x̄; f + b, σ_s² + σ_f²/n)
// times the missed frames' factor at the posterior mean of μ (an
// approximation that matters only near the sensitivity). Rounding to whole
// dB adds 1/12 dB² per frame. b is integrated on a grid of 21 nodes over
// ±5τ. The side is the one of higher posterior mass.
type SideOracle struct {
	shop   *Shop
	site   *wire.Site
	store  []wire.Point
	pts    []oraclePoint
	bins   map[oracleBin]int
	f      []float64 // f[p*ns+i]: true mean level at sensor i of point p, b = 0
	ns     int
	sil    map[[2]int][]float64 // log P(silent | f + b) per frames (2.4, 5 GHz)
	miss   []float64            // log P(one frame missed | μ)
	bNode  []float64
	bLogW  []float64
	models map[string]*phoneModel
	// Bayes' own estimate of its accuracy: the sum of max(P, 1-P)
	Expected float64
}

type oracleBin struct {
	i, j int32
	in   bool
}

type oraclePoint struct {
	x, y float64
	n    float64
	in   bool
}

// Table range of the levels, dBm, and its step.
const (
	orLo, orHi, orStep = -220.0, 20.0, 0.05
)

// newSideOracle builds the oracle of a shop after its run, from the truth.
func newSideOracle(shop *Shop, truth *Truth, store []wire.Point) *SideOracle {
	o := &SideOracle{shop: shop, site: &shop.layout.Site, store: store, bins: map[oracleBin]int{},
		ns: len(shop.gain), sil: map[[2]int][]float64{}, models: map[string]*phoneModel{}}
	for _, m := range models {
		o.models[m.fp] = m
	}
	var sx, sy []float64
	for _, t := range truth.Bursts {
		k := o.bin(t.X, t.Y)
		p, ok := o.bins[k]
		if !ok {
			p = len(o.pts)
			o.bins[k] = p
			o.pts = append(o.pts, oraclePoint{in: k.in})
			sx, sy = append(sx, 0), append(sy, 0)
		}
		o.pts[p].n++
		sx[p] += t.X
		sy[p] += t.Y
	}
	o.f = make([]float64, len(o.pts)*o.ns)
	for p := range o.pts {
		pt := &o.pts[p]
		pt.x, pt.y = sx[p]/pt.n, sy[p]/pt.n
		for i := 0; i < o.ns; i++ {
			o.f[p*o.ns+i] = o.level(i, pt.x, pt.y)
		}
	}
	cfg := &shop.cfg
	tau := cfg.TxDB
	for k := -10; k <= 10; k++ {
		b := float64(k) * tau / 2
		o.bNode = append(o.bNode, b)
		o.bLogW = append(o.bLogW, -b*b/(2*tau*tau))
	}
	sf := math.Sqrt(cfg.FadeDB*cfg.FadeDB + 1)
	for v := orLo; v <= orHi+orStep; v += orStep {
		o.miss = append(o.miss, math.Log(1-(1-cfg.LossRate)*phi((v-cfg.Sensitive)/sf)))
	}
	return o
}

func (o *SideOracle) bin(x, y float64) oracleBin {
	return oracleBin{int32(math.Floor(x / 0.5)), int32(math.Floor(y / 0.5)), pointIn(wire.Point{x, y}, o.store)}
}

// level is the true mean received level at sensor i of a phone of transmit
// offset 0 at (x, y) on 2.4 GHz, before shadowing (as Shop.rssi).
func (o *SideOracle) level(i int, x, y float64) float64 {
	s := o.shop
	se := &o.site.Sensors[i]
	r := o.site.SensorRadio(i)
	dz := o.site.Radio.PhoneZ - se.Z
	d := math.Max(math.Sqrt((x-se.X)*(x-se.X)+(y-se.Y)*(y-se.Y)+dz*dz), 0.3)
	v := r.RSSI1m - 10*s.expn[i]*math.Log10(d) + s.gain[i]
	if (y < 0) != (se.Y < 0) {
		v -= s.layout.FrontDB
	}
	return v
}

func phi(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// tab reads a table over [orLo, orHi] by linear interpolation.
func tab(t []float64, v float64) float64 {
	if v <= orLo {
		return t[0]
	}
	u := (v - orLo) * (1 / orStep)
	i := int(u)
	if i >= len(t)-1 {
		return t[len(t)-1]
	}
	f := u - float64(i)
	return t[i] + f*(t[i+1]-t[i])
}

// silent returns the table of log P(a sensor hears none of k24 + k5 frames
// | f + b), the shadowing integrated out.
func (o *SideOracle) silent(k24, k5 int) []float64 {
	key := [2]int{k24, k5}
	if t, ok := o.sil[key]; ok {
		return t
	}
	cfg := &o.shop.cfg
	sf := math.Sqrt(cfg.FadeDB*cfg.FadeDB + 1)
	const ns = 121
	var sn, sw [ns]float64
	var tot float64
	for k := range sn {
		z := -6 + 12*float64(k)/(ns-1)
		sn[k], sw[k] = z*cfg.ShadowDB, math.Exp(-z*z/2)
		tot += sw[k]
	}
	var t []float64
	for v := orLo; v <= orHi+orStep; v += orStep {
		var e float64
		for k := range sn {
			mu := v + sn[k]
			p := math.Pow(1-(1-cfg.LossRate)*phi((mu-cfg.Sensitive)/sf), float64(k24)) *
				math.Pow(1-(1-cfg.LossRate)*phi((mu+cfg.Offset5-cfg.Sensitive)/sf), float64(k5))
			e += sw[k] * p
		}
		t = append(t, math.Log(math.Max(e/tot, 1e-300)))
	}
	o.sil[key] = t
	return t
}

// oracleReading is what one sensor heard of a burst, for the oracle.
type oracleReading struct {
	sum     float64 // of the frames' RSSI, 5 GHz frames moved by the true offset
	n24, n5 int
}

// oracleBurst is a burst as the oracle reads it.
type oracleBurst struct {
	fp    string
	rand  bool
	chans uint64 // bit per 2.4 GHz channel heard (1..14), bit 15: 5 GHz
	rd    []oracleReading
}

type burstKey struct {
	dev wire.Dev
	t   int64
}

// oracleBursts groups the batches' frames as Bursts does, keeping what the
// oracle needs per sensor.
func (o *SideOracle) oracleBursts(batches []*wire.Batch) map[burstKey]*oracleBurst {
	type frame struct {
		t      int64
		sensor int
		o      *wire.Observation
	}
	byDev := map[wire.Dev][]frame{}
	for _, b := range batches {
		i := o.site.SensorIndex(b.Sensor)
		if i < 0 {
			continue
		}
		for k := range b.Obs {
			ob := &b.Obs[k]
			byDev[ob.Dev] = append(byDev[ob.Dev], frame{ob.T, i, ob})
		}
	}
	out := map[burstKey]*oracleBurst{}
	for d, fs := range byDev {
		sort.SliceStable(fs, func(a, b int) bool { return fs[a].t < fs[b].t })
		for i := 0; i < len(fs); {
			j := i + 1
			for j < len(fs) && fs[j].t-fs[j-1].t <= BurstGap {
				j++
			}
			ob := &oracleBurst{fp: fs[i].o.FP, rand: fs[i].o.Rand, rd: make([]oracleReading, o.ns)}
			for _, f := range fs[i:j] {
				r := &ob.rd[f.sensor]
				if f.o.Band5GHz() {
					r.sum += f.o.RSSI - o.shop.cfg.Offset5
					r.n5++
					ob.chans |= 1 << 15
				} else {
					r.sum += f.o.RSSI
					r.n24++
					ob.chans |= 1 << uint(f.o.Ch&15)
				}
			}
			out[burstKey{d, fs[i].t}] = ob
			i = j
		}
	}
	return out
}

// frames returns how many frames the phone sent under one address in this
// burst, on 2.4 and 5 GHz, from its model (known by the fingerprint).
func (o *SideOracle) frames(b *oracleBurst) (k24, k5 int) {
	m := o.models[b.fp]
	if m == nil {
		return 0, 0 // unknown: the missed frames say nothing
	}
	k24 = 3 * m.perChan
	if m.fiveG {
		k5 = len(chans5)
	}
	if m.perScan && b.rand {
		// A new address per channel: one channel's frames, the 5 GHz
		// ones with the last (channel 11).
		k24 = m.perChan
		if b.chans&(1<<11|1<<15) == 0 {
			k5 = 0
		}
	}
	return k24, k5
}

// PStore returns the posterior probability that b was sent from inside the
// store, leaving out one truth line at (tx, ty) from the prior.
func (o *SideOracle) PStore(b *oracleBurst, tx, ty float64) float64 {
	cfg := &o.shop.cfg
	sh2 := cfg.ShadowDB * cfg.ShadowDB
	fr2 := cfg.FadeDB*cfg.FadeDB + 1.0/12
	k24, k5 := o.frames(b)
	own := -1
	if p, ok := o.bins[o.bin(tx, ty)]; ok {
		own = p
	}
	// per heard sensor: x̄, 1/v, the frame variance of the mean, missed frames
	type heard struct {
		i             int
		xb, iv, vf    float64
		miss24, miss5 int
	}
	var hs []heard
	var sil []int
	for i, r := range b.rd {
		n := r.n24 + r.n5
		if n == 0 {
			sil = append(sil, i)
			continue
		}
		vf := fr2 / float64(n)
		hs = append(hs, heard{i: i, xb: r.sum / float64(n), iv: 1 / (sh2 + vf), vf: vf,
			miss24: max(k24-r.n24, 0), miss5: max(k5-r.n5, 0)})
	}
	silTab := o.silent(k24, k5)
	if k24+k5 == 0 {
		silTab = nil
	}
	var lse [2]float64
	lse[0], lse[1] = math.Inf(-1), math.Inf(-1)
	ll := make([]float64, len(o.bNode))
	// An upper bound per point: the heard sensors' Gaussian part with b
	// integrated in closed form (the silent and missed-frame factors are
	// probabilities, at most 1). Points are taken in its order until it
	// falls far below the best point's exact value.
	h := o.bNode[1] - o.bNode[0]
	ib := 1 / (cfg.TxDB * cfg.TxDB)
	type cand struct {
		p              int
		up, s0, s1, s2 float64
	}
	cs := make([]cand, 0, len(o.pts))
	for p := range o.pts {
		w := o.pts[p].n
		if p == own {
			w--
		}
		if w <= 0 {
			continue
		}
		f := o.f[p*o.ns : p*o.ns+o.ns]
		var s0, s1, s2 float64
		for _, h := range hs {
			r := h.xb - f[h.i]
			s0 += h.iv
			s1 += h.iv * r
			s2 += h.iv * r * r
		}
		a := s0 + ib
		up := math.Log(w) - 0.5*(s2-s1*s1/a) + 0.5*math.Log(2*math.Pi/a) - math.Log(h)
		cs = append(cs, cand{p, up, s0, s1, s2})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].up > cs[j].up })
	top := math.Inf(-1)
	for _, c := range cs {
		if c.up < top-40 {
			break
		}
		pt := &o.pts[c.p]
		f := o.f[c.p*o.ns : c.p*o.ns+o.ns]
		w := pt.n
		if c.p == own {
			w--
		}
		best := math.Inf(-1)
		for k, bb := range o.bNode {
			l := o.bLogW[k] - 0.5*(c.s2-2*bb*c.s1+bb*bb*c.s0)
			if silTab != nil {
				for _, i := range sil {
					l += tab(silTab, f[i]+bb)
				}
			}
			for _, h := range hs {
				if h.miss24+h.miss5 == 0 {
					continue
				}
				m := f[h.i] + bb
				mu := (h.xb*sh2 + m*h.vf) / (sh2 + h.vf)
				l += float64(h.miss24)*tab(o.miss, mu) + float64(h.miss5)*tab(o.miss, mu+cfg.Offset5)
			}
			ll[k] = l
			best = math.Max(best, l)
		}
		var e float64
		for _, l := range ll {
			e += math.Exp(l - best)
		}
		v := math.Log(w) + best + math.Log(e)
		top = math.Max(top, v)
		side := 0
		if pt.in {
			side = 1
		}
		lse[side] = logAdd(lse[side], v)
	}
	if math.IsInf(lse[0], -1) && math.IsInf(lse[1], -1) {
		return 0.5
	}
	return 1 / (1 + math.Exp(lse[0]-lse[1]))
}

func logAdd(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	if a < b {
		a, b = b, a
	}
	return a + math.Log1p(math.Exp(b-a))
}
