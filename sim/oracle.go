package sim

import (
	"math"
	"sort"

	"github.com/passant/passant/wire"
)

// Oracle is the Bayes posterior of a burst's position under the simulator's
// true world, one burst at a time: what the physics allows a single burst,
// with no track memory. From it come the side of the shop's front (PStore:
// in the store or not) and a position (Estimate: the posterior mean and the
// spatial median).
//
// It knows what the world is, never where the phone was: each sensor's true
// rssi_1m (the site's plus its gain error) and exponent, the front's loss,
// the shadowing's spread σ_s, the per-channel fading σ_c, the per-frame
// fading σ_f, the 5 GHz offset,
// the sensitivity and the loss rate, the transmit offset's distribution
// N(0, τ²), and from the burst's fingerprint the phone model's frames per
// burst. Its prior is where the run's people truly were when they probed:
// the empirical distribution of the truth's burst positions (in 0.5 m bins,
// each bin a point at its lines' mean), leaving out the truth lines of the
// burst's own person within LeaveOut of it.
//
// Per sensor the data are the mean x̄ of the n frames it heard (5 GHz frames
// moved to 2.4 GHz by the true offset) and how many it missed. Given the
// level μ = f(c) + b + s at a sensor (f the true path loss at position c, b
// the transmit offset, s the sensor's shadowing), each channel c has its
// own fading offset g_c ~ N(0, σ_c²), and given μ + g_c a frame on it is
// heard with probability (1-λ) Φ((μ + g_c - sens)/√(σ_f²+1)) (λ the loss
// rate, the sensitivity's own 1 dB jitter) and read as μ + g_c + N(0, σ_f²).
// Integrating s ~ N(0, σ_s²) and the g_c: a sensor that heard nothing takes
// the exact expectation (tabulated, the frames of one channel sharing
// their g_c); one that heard gives N(x̄; f + b, σ_s² + σ_f²/n + σ_c² Σ_c
// (n_c/n)²) (n_c its frames on channel c) times the missed frames' factors
// at the posterior mean of μ: a channel missed wholly with its g_c
// integrated, a frame missed on a channel partly heard as if its fading
// were σ_f² + σ_c² per frame. That part is an approximation, and so is the
// Gaussian: near the sensitivity the channels heard are the ones faded up,
// which biases x̄ up and the Gaussian ignores (with per-frame fading alone
// the factor Φ of a heard frame's density did not depend on μ and this
// was exact); in TestOracle the errors exceed what the posterior expects by
// 1–7%, within 4% with the sensitivity moved out of reach. Rounding to
// whole dB adds 1/12 dB² per frame. b is integrated on a grid of 21 nodes
// over ±5τ, or given (the phone's true offset: what track memory could at
// most learn of it). The side is the one of higher posterior mass.
type Oracle struct {
	shop   *Shop
	site   *wire.Site
	store  []wire.Point
	pts    []oraclePoint
	bins   map[oracleBin]int
	f      []float64 // f[p*ns+i]: true mean level at sensor i of point p, b = 0
	ns     int
	sil    map[[3]int][]float64 // log P(silent | f + b) per frames per channel, channels (2.4, 5 GHz)
	chSil  map[int][]float64    // log P(one channel's m frames all missed | μ)
	miss   []float64            // log P(one frame missed | μ)
	bNode  []float64
	bLogW  []float64
	models map[string]*phoneModel
	lines  map[string][]personLine // per person, in order of time
	// LeaveOut is how far in time (ms) the lines of the burst's own person
	// are left out of the prior; 0: the burst's own line only.
	LeaveOut int64
}

// personLine is one truth line of a person: its time and prior point.
type personLine struct {
	t int64
	p int
}

type oracleBin struct {
	i, j   int32
	in, ib bool // in the store; in the site's bounds
}

type oraclePoint struct {
	x, y float64
	n    float64
	in   bool // in the store
	ib   bool // in the site's bounds
}

// Table range of the levels, dBm, and its step.
const (
	orLo, orHi, orStep = -220.0, 20.0, 0.05
)

// newOracle builds the oracle of a shop after its run, from the truth.
func newOracle(shop *Shop, truth *Truth, store []wire.Point) *Oracle {
	o := &Oracle{shop: shop, site: &shop.layout.Site, store: store, bins: map[oracleBin]int{},
		ns: len(shop.gain), sil: map[[3]int][]float64{}, chSil: map[int][]float64{}, models: map[string]*phoneModel{},
		lines: map[string][]personLine{}, LeaveOut: DefaultLeaveOut}
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
			o.pts = append(o.pts, oraclePoint{in: k.in, ib: k.ib})
			sx, sy = append(sx, 0), append(sy, 0)
		}
		o.pts[p].n++
		o.lines[t.Person] = append(o.lines[t.Person], personLine{t.T, p})
		sx[p] += t.X
		sy[p] += t.Y
	}
	for _, ls := range o.lines {
		sort.SliceStable(ls, func(a, b int) bool { return ls[a].t < ls[b].t })
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
	sf := math.Sqrt(cfg.FadeDB*cfg.FadeDB + cfg.ChannelDB*cfg.ChannelDB + 1)
	for v := orLo; v <= orHi+orStep; v += orStep {
		o.miss = append(o.miss, math.Log(1-(1-cfg.LossRate)*phi((v-cfg.Sensitive)/sf)))
	}
	return o
}

func (o *Oracle) bin(x, y float64) oracleBin {
	p := wire.Point{x, y}
	return oracleBin{int32(math.Floor(x / 0.5)), int32(math.Floor(y / 0.5)), pointIn(p, o.store), o.site.Bounds.Contains(p)}
}

// level is the true mean received level at sensor i of a phone of transmit
// offset 0 at (x, y) on 2.4 GHz, before shadowing (as Shop.rssi).
func (o *Oracle) level(i int, x, y float64) float64 {
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

// silent returns the table of log P(a sensor hears none of the burst's
// frames | f + b): m frames on each of c24 channels of 2.4 GHz and one on
// each of k5 of 5 GHz, each channel with its own fading offset, the
// shadowing and the channels' offsets integrated out.
func (o *Oracle) silent(m, c24, k5 int) []float64 {
	key := [3]int{m, c24, k5}
	if t, ok := o.sil[key]; ok {
		return t
	}
	cfg := &o.shop.cfg
	hm, h1 := o.chanSilent(m), o.chanSilent(1)
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
			e += sw[k] * math.Exp(float64(c24)*tab(hm, mu)+float64(k5)*tab(h1, mu+cfg.Offset5))
		}
		t = append(t, math.Log(math.Max(e/tot, 1e-300)))
	}
	o.sil[key] = t
	return t
}

// chanSilent returns the table of log P(a sensor hears none of m frames on
// one channel | μ), the channel's fading offset N(0, ChannelDB²) integrated
// out.
func (o *Oracle) chanSilent(m int) []float64 {
	if t, ok := o.chSil[m]; ok {
		return t
	}
	cfg := &o.shop.cfg
	sf := math.Sqrt(cfg.FadeDB*cfg.FadeDB + 1)
	nn := 81
	if cfg.ChannelDB == 0 {
		nn = 1
	}
	gn, gw := make([]float64, nn), make([]float64, nn)
	var tot float64
	for k := range gn {
		z := 0.0
		if nn > 1 {
			z = -6 + 12*float64(k)/float64(nn-1)
		}
		gn[k], gw[k] = z*cfg.ChannelDB, math.Exp(-z*z/2)
		tot += gw[k]
	}
	var t []float64
	for v := orLo; v <= orHi+orStep; v += orStep {
		var e float64
		for k := range gn {
			e += gw[k] * math.Pow(1-(1-cfg.LossRate)*phi((v+gn[k]-cfg.Sensitive)/sf), float64(m))
		}
		t = append(t, math.Log(math.Max(e/tot, 1e-300)))
	}
	o.chSil[m] = t
	return t
}

// oracleReading is what one sensor heard of a burst, for the oracle.
type oracleReading struct {
	sum     float64 // of the frames' RSSI, 5 GHz frames moved by the true offset
	n24, n5 int
	nc      [nChans]int // frames per channel
}

// chanShare returns Σ_c (n_c/n)², the share of the channels' fading
// variance left in the mean of the reading's frames.
func (r *oracleReading) chanShare() float64 {
	n := float64(r.n24 + r.n5)
	var s float64
	for _, k := range r.nc {
		s += float64(k) * float64(k)
	}
	return s / (n * n)
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
func (o *Oracle) oracleBursts(batches []*wire.Batch) map[burstKey]*oracleBurst {
	out := map[burstKey]*oracleBurst{}
	eachBurst(o.site, batches, func(d wire.Dev, fs []frame) {
		ob := &oracleBurst{fp: fs[0].o.FP, rand: fs[0].o.Rand, rd: make([]oracleReading, o.ns)}
		for _, f := range fs {
			r := &ob.rd[f.sensor]
			r.nc[chanIndex(f.o.Ch)]++
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
		out[burstKey{d, fs[0].o.T}] = ob
	})
	return out
}

// frames returns how many frames the phone sent under one address in this
// burst, on 2.4 and 5 GHz, from its model (known by the fingerprint).
func (o *Oracle) frames(b *oracleBurst) (k24, k5 int) {
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
