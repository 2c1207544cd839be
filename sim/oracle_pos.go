package sim

import (
	"math"
	"sort"
)

// DefaultLeaveOut is the Oracle's default LeaveOut, ms: the lines of the
// burst's own person within 2 s, so that the other addresses of the same
// burst (phones that change their MAC per channel leave one truth line per
// address, all at the same place) are not in the prior either.
const DefaultLeaveOut = 2000

// OracleEstimate is one estimator's point for a burst, with what the
// posterior expects of it: the error E‖c − X‖, and the mass of the points
// in the site's bounds within R of c (the accuracy table counts errors of
// bursts in bounds only).
type OracleEstimate struct {
	X, Y, ExpErr, MassR float64
}

// OracleFix is the Oracle's reading of one burst.
type OracleFix struct {
	PStore float64 // posterior probability of the store's side
	PBound float64 // posterior probability of the site's bounds
	// Err is the 1-sigma error per axis, √(tr Σ / 2), Σ the posterior
	// covariance.
	Err float64
	R   float64 // the radius of Disc
	// Mean is the posterior mean; Median the spatial median, the point
	// minimising the expected error E‖c − X‖ (Weiszfeld's iteration);
	// Disc the point holding the most posterior mass in bounds within R,
	// which maximises the share of the errors in bounds at most R over all
	// estimators of one burst (searched among the posterior's points, then
	// mean-shifted).
	Mean, Median, Disc OracleEstimate
}

// PStore returns the posterior probability that b was sent from inside the
// store, the transmit offset integrated, for the burst of truth t.
func (o *Oracle) PStore(b *oracleBurst, t *BurstTruth) float64 {
	return o.Estimate(b, t, false, 0).PStore
}

// Estimate returns the oracle's posterior reading of b, for the burst of
// truth t (whose person's lines are left out of the prior); with knownTx,
// the phone's transmit offset is given (t.Tx) instead of integrated; r is
// the disc estimator's radius.
func (o *Oracle) Estimate(b *oracleBurst, t *BurstTruth, knownTx bool, r float64) OracleFix {
	var tx *float64
	if knownTx {
		tx = &t.Tx
	}
	ws := o.posterior(b, o.leaveOut(t), tx)
	nan := OracleEstimate{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	fix := OracleFix{PStore: 0.5, R: r, Mean: nan, Median: nan, Disc: nan}
	if len(ws) == 0 {
		return fix
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].lw > ws[j].lw })
	top := ws[0].lw
	// normalised weights, the negligible ones dropped
	ps := make([]weighted, 0, len(ws))
	var tot, in, ib, mx, my float64
	for _, w := range ws {
		v := math.Exp(w.lw - top)
		if v < 1e-9 {
			break
		}
		pt := &o.pts[w.p]
		ps = append(ps, weighted{pt.x, pt.y, v, pt.ib})
		tot += v
		if pt.in {
			in += v
		}
		if pt.ib {
			ib += v
		}
		mx += v * pt.x
		my += v * pt.y
	}
	mx, my = mx/tot, my/tot
	var vxx, vyy float64
	for i := range ps {
		ps[i].w /= tot
		vxx += ps[i].w * (ps[i].x - mx) * (ps[i].x - mx)
		vyy += ps[i].w * (ps[i].y - my) * (ps[i].y - my)
	}
	fix.PStore, fix.PBound = in/tot, ib/tot
	fix.Err = math.Sqrt((vxx + vyy) / 2)
	est := func(cx, cy float64) OracleEstimate {
		e := OracleEstimate{X: cx, Y: cy}
		for _, p := range ps {
			d := math.Hypot(p.x-cx, p.y-cy)
			e.ExpErr += p.w * d
			if d <= r && p.ib {
				e.MassR += p.w
			}
		}
		return e
	}
	fix.Mean = est(mx, my)
	cx, cy := spatialMedian(ps, mx, my)
	fix.Median = est(cx, cy)
	dx, dy := discMode(ps, r, fix.Median)
	fix.Disc = est(dx, dy)
	return fix
}

// weighted is a point of the posterior with its normalised weight and
// whether it lies in the site's bounds.
type weighted struct {
	x, y, w float64
	ib      bool
}

// spatialMedian returns argmin_c Σ w_p ‖x_p − c‖ by Weiszfeld's iteration
// c ← Σ (w_p / ‖x_p − c‖) x_p / Σ w_p / ‖x_p − c‖ from (cx, cy), distances
// floored at 1 cm.
func spatialMedian(ps []weighted, cx, cy float64) (float64, float64) {
	for it := 0; it < 100; it++ {
		var sw, sx, sy float64
		for _, p := range ps {
			d := math.Max(math.Hypot(p.x-cx, p.y-cy), 0.01)
			sw += p.w / d
			sx += p.w * p.x / d
			sy += p.w * p.y / d
		}
		nx, ny := sx/sw, sy/sw
		moved := math.Hypot(nx-cx, ny-cy)
		cx, cy = nx, ny
		if moved < 1e-4 {
			break
		}
	}
	return cx, cy
}

// discMode returns a point c of high mass Σ w_p [‖x_p − c‖ ≤ r] over the
// points in bounds: the best of the spatial median med and the heaviest
// points (ps in order of weight; up to 256 or 0.99999 of the mass), then
// the best of two grids of 9 × 9 around it (steps r/4, then r/16), then a
// few flat-kernel mean-shift steps (each kept only if it adds mass). A
// search, not the exact maximum: 4 times the candidates moved the share of
// errors within r by at most 0.1 point (narrow, small, 3 h, seed 1).
func discMode(ps []weighted, r float64, med OracleEstimate) (float64, float64) {
	r2 := r * r
	mass := func(cx, cy float64) float64 {
		var m float64
		for _, p := range ps {
			if p.ib && (p.x-cx)*(p.x-cx)+(p.y-cy)*(p.y-cy) <= r2 {
				m += p.w
			}
		}
		return m
	}
	bx, by, bm := med.X, med.Y, med.MassR
	var cum float64
	for k, p := range ps {
		if k >= 256 || cum > 0.99999 {
			break
		}
		cum += p.w
		if !p.ib {
			continue
		}
		if m := mass(p.x, p.y); m > bm {
			bx, by, bm = p.x, p.y, m
		}
	}
	for _, step := range []float64{r / 4, r / 16} {
		cx, cy := bx, by
		for i := -4; i <= 4; i++ {
			for j := -4; j <= 4; j++ {
				x, y := cx+float64(i)*step, cy+float64(j)*step
				if m := mass(x, y); m > bm {
					bx, by, bm = x, y, m
				}
			}
		}
	}
	for it := 0; it < 8; it++ {
		var sw, sx, sy float64
		for _, p := range ps {
			if p.ib && (p.x-bx)*(p.x-bx)+(p.y-by)*(p.y-by) <= r2 {
				sw += p.w
				sx += p.w * p.x
				sy += p.w * p.y
			}
		}
		if sw == 0 {
			break
		}
		nx, ny := sx/sw, sy/sw
		m := mass(nx, ny)
		if m <= bm {
			break
		}
		bx, by, bm = nx, ny, m
	}
	return bx, by
}

// oracleWeight is one prior point's unnormalised posterior log weight.
type oracleWeight struct {
	p  int
	lw float64
}

// leaveOut returns the prior points of the truth lines left out for a
// burst of truth t (a point once per line).
func (o *Oracle) leaveOut(t *BurstTruth) []int {
	ls := o.lines[t.Person]
	k := sort.Search(len(ls), func(i int) bool { return ls[i].t >= t.T-o.LeaveOut })
	var ex []int
	for ; k < len(ls) && ls[k].t <= t.T+o.LeaveOut; k++ {
		ex = append(ex, ls[k].p)
	}
	return ex
}

// posterior returns the unnormalised log posterior weights of the prior's
// points for burst b, leaving out one count of the points in ex per
// occurrence; points far below the best (e^-40) may be missing. With tx
// non-nil the transmit offset is *tx, otherwise it is integrated.
func (o *Oracle) posterior(b *oracleBurst, ex []int, tx *float64) []oracleWeight {
	cfg := &o.shop.cfg
	sh2 := cfg.ShadowDB * cfg.ShadowDB
	fr2 := cfg.FadeDB*cfg.FadeDB + 1.0/12
	ch2 := cfg.ChannelDB * cfg.ChannelDB
	k24, k5 := o.frames(b)
	// The channels the burst's address was sent on (indices of chans24):
	// all three, or for phones with an address per channel the one heard
	// (channel 11 if only its 5 GHz frames were).
	var exp24 []int
	perChan := 1
	if m := o.models[b.fp]; m != nil {
		perChan = m.perChan
		for k, ch := range chans24 {
			if !(m.perScan && b.rand) || b.chans&(1<<uint(ch)) != 0 {
				exp24 = append(exp24, k)
			}
		}
		if len(exp24) == 0 {
			exp24 = []int{2}
		}
	}
	// per heard sensor: x̄, 1/v, the frames' and channels' variance of the
	// mean, the channels missed wholly (2.4, 5 GHz) and the frames missed
	// on 2.4 GHz channels partly heard
	type heard struct {
		i                   int
		xb, iv, vf          float64
		full24, full5, part int
	}
	var hs []heard
	var sil []int
	for i, r := range b.rd {
		n := r.n24 + r.n5
		if n == 0 {
			sil = append(sil, i)
			continue
		}
		vf := fr2/float64(n) + ch2*r.chanShare()
		h := heard{i: i, xb: r.sum / float64(n), iv: 1 / (sh2 + vf), vf: vf}
		for _, k := range exp24 {
			if r.nc[k] == 0 {
				h.full24++
			} else {
				h.part += max(perChan-r.nc[k], 0)
			}
		}
		if k5 > 0 {
			for _, c := range r.nc[len(chans24):] {
				if c == 0 {
					h.full5++
				}
			}
		}
		hs = append(hs, h)
	}
	var silTab, chm, ch1 []float64
	if k24+k5 > 0 {
		silTab = o.silent(perChan, len(exp24), k5)
		chm, ch1 = o.chanSilent(perChan), o.chanSilent(1)
	}
	weight := func(p int) float64 {
		w := o.pts[p].n
		for _, q := range ex {
			if q == p {
				w--
			}
		}
		return w
	}
	bNode, bLogW := o.bNode, o.bLogW
	if tx != nil {
		bNode, bLogW = []float64{*tx}, []float64{0}
	}
	ll := make([]float64, len(bNode))
	// An upper bound per point: the heard sensors' Gaussian part with b
	// integrated in closed form (or at the given b; the silent and
	// missed-frame factors are probabilities, at most 1). Points are taken
	// in its order until it falls far below the best point's exact value.
	h := o.bNode[1] - o.bNode[0]
	ib := 1 / (cfg.TxDB * cfg.TxDB)
	type cand struct {
		p              int
		w              float64
		up, s0, s1, s2 float64
	}
	cs := make([]cand, 0, len(o.pts))
	for p := range o.pts {
		w := weight(p)
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
		var up float64
		if tx != nil {
			up = math.Log(w) - 0.5*(s2-2*(*tx)*s1+(*tx)*(*tx)*s0)
		} else {
			a := s0 + ib
			up = math.Log(w) - 0.5*(s2-s1*s1/a) + 0.5*math.Log(2*math.Pi/a) - math.Log(h)
		}
		cs = append(cs, cand{p, w, up, s0, s1, s2})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].up > cs[j].up })
	top := math.Inf(-1)
	var out []oracleWeight
	for _, c := range cs {
		if c.up < top-40 {
			break
		}
		f := o.f[c.p*o.ns : c.p*o.ns+o.ns]
		best := math.Inf(-1)
		for k, bb := range bNode {
			l := bLogW[k] - 0.5*(c.s2-2*bb*c.s1+bb*bb*c.s0)
			if silTab != nil {
				for _, i := range sil {
					l += tab(silTab, f[i]+bb)
				}
			}
			for _, h := range hs {
				if h.full24+h.full5+h.part == 0 || silTab == nil {
					continue
				}
				m := f[h.i] + bb
				mu := (h.xb*sh2 + m*h.vf) / (sh2 + h.vf)
				l += float64(h.full24)*tab(chm, mu) + float64(h.full5)*tab(ch1, mu+cfg.Offset5) +
					float64(h.part)*tab(o.miss, mu)
			}
			ll[k] = l
			best = math.Max(best, l)
		}
		var e float64
		for _, l := range ll {
			e += math.Exp(l - best)
		}
		v := math.Log(c.w) + best + math.Log(e)
		top = math.Max(top, v)
		out = append(out, oracleWeight{c.p, v})
	}
	return out
}
