package calibration

import "math"

// txOffsets returns each walker's median residual under ps (the reference
// walker's is 0; a walker without samples gets 0).
func txOffsets(samples [][]Sample, ps []Params, walkers int, keep func(Sample) bool) []float64 {
	tx := make([]float64, max(walkers, 1))
	if walkers <= 1 {
		return tx
	}
	res := make([][]float64, walkers)
	for i := range samples {
		for _, s := range samples[i] {
			if (keep == nil || keep(s)) && s.Src > 0 {
				res[s.Src] = append(res[s.Src], s.RSSI-ps[i].Expected(s.D))
			}
		}
	}
	// Relative to the reference walker's own median residual.
	var ref []float64
	for i := range samples {
		for _, s := range samples[i] {
			if (keep == nil || keep(s)) && s.Src == 0 {
				ref = append(ref, s.RSSI-ps[i].Expected(s.D))
			}
		}
	}
	r0 := 0.0
	if len(ref) > 0 {
		r0 = median(ref)
	}
	for w := 1; w < walkers; w++ {
		if len(res[w]) > 0 {
			tx[w] = median(res[w]) - r0
		}
	}
	return tx
}

func spread(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	var m, m2 float64
	for _, x := range v {
		m += x
		m2 += x * x
	}
	n := float64(len(v))
	m /= n
	return math.Sqrt(math.Max(m2/n-m*m, 0))
}
