package locate

import "math"

// The per-cell terms of the grid posterior (posterior.fix): the sums of a
// cell's readings with the transmit offset integrated out in closed form
// (postSums), and the terms of the sensors that heard nothing (misses,
// missTerms, logPhi). The AVX2 kernels (rows_amd64.s) and the AVX-512 loop
// (grid_vec.go) do these operations lane by lane in the same order.

// postSums returns the log posterior of a cell or a far point before the
// silent sensors' terms, prior - ½ q, and 1/det A, from its log-distance
// to sensor i, l[i*stride+off]: the per-cell formulas of fix's general
// loop (farRows does four far points at a time on AVX2, the same
// operations lane by lane).
func postSums(l []float64, stride, off int, gi []int, gw, gu, gc []float64, mu, a00, in, prior float64) (lp, id, bh, vb float64) {
	var swl, swll, swr, swlr, swrr float64
	for j, i := range gi {
		l := l[i*stride+off]
		w := gw[j]
		r := (gu[j] - mu) + gc[j]*l
		wl := w * l
		swl += wl
		swll += wl * l
		wr := w * r
		swr += wr
		swlr += wl * r
		swrr += wr * r
	}
	a11 := swll + in
	id = 1 / (a00*a11 - swl*swl)
	bh, vb = (a11*swr-swl*swlr)*id, a11*id
	q := swrr - (a11*swr*swr-2*swl*swr*swlr+a00*swlr*swlr)*id
	return prior - 0.5*q, id, bh, vb
}

// missTerms returns the silent sensors' terms (fix) of a cell or far point
// whose log-distance to sensor i is l[i*stride+off], on a side of level mu,
// with the transmit offset's posterior mean bh and variance vb there: the
// operations of missRows, in its order.
func (p *posterior) missTerms(l []float64, stride, off int, mu, bh, vb float64) float64 {
	inv := 1 / math.Sqrt(p.s2+vb)
	o := (mu + bh) * inv
	var t float64
	for h, i := range p.mi {
		t += logPhi((p.mp[h]+p.mc[h]*l[i*stride+off])*inv - o)
	}
	return t
}

// misses lists the sensors that did not hear the burst and were listening.
func (s *Solver) misses() {
	s.miss = s.miss[:0]
	if s.m.MissDBm == 0 {
		return
	}
	j := 0
	for i := range s.m.Sensors {
		if j < s.k && s.idx[j] == i {
			j++
			continue
		}
		if i < 64 && s.deaf&(1<<uint(i)) != 0 {
			continue
		}
		s.miss = append(s.miss, i)
	}
}

// logPhi is log(ε + (1-ε) Φ(z)), Φ the standard normal distribution
// function: the chance that a sensor hears nothing of a phone whose level
// there would be z standard deviations above its sensitivity, with ε the
// chance that it misses a burst anyway (frames lost, busy on another
// channel). From a table, linear interpolation on [-12, 6].
func logPhi(z float64) float64 {
	if z >= phiHi {
		return 0
	}
	if z <= phiLo {
		return logPhiTab[0]
	}
	u := (z - phiLo) * phiScale
	i := int(u)
	f := u - float64(i)
	return logPhiTab[i] + f*(logPhiTab[i+1]-logPhiTab[i])
}

const (
	phiLo, phiHi = -12.0, 6.0
	phiN         = 1024
	phiScale     = phiN / (phiHi - phiLo)
	missFloor    = 0.05
)

var logPhiTab = func() [phiN + 2]float64 {
	var t [phiN + 2]float64
	for i := range t {
		z := phiLo + float64(i)/phiScale
		t[i] = math.Log(missFloor + (1-missFloor)*0.5*math.Erfc(-z/math.Sqrt2))
	}
	return t
}()
