package locate

import "math"

// The baselines the accuracy table compares the solver with.

// Strongest is the simplest baseline: the position of the sensor that heard
// b loudest. False when b has no usable reading.
func Strongest(m *Model, b *Burst) (Fix, bool) {
	best, br := -1, math.Inf(-1)
	for _, r := range b.Readings {
		if r.Sensor >= 0 && r.Sensor < len(m.Sensors) && r.N > 0 && r.RSSI > br {
			best, br = r.Sensor, r.RSSI
		}
	}
	if best < 0 {
		return Fix{}, false
	}
	se := &m.Sensors[best]
	return Fix{X: se.X, Y: se.Y, N: 1}, true
}

// Centroid is the weighted-centroid baseline: the hearing sensors'
// positions weighted by 1/d̂², d̂ the model's range of each reading
// (d̂ = 10^((P_i - y_i) / (10 n_i))). False when b has no usable reading.
func (s *Solver) Centroid(b *Burst) (Fix, bool) {
	s.load(b)
	if s.k == 0 {
		return Fix{}, false
	}
	x, y := s.centroid()
	return Fix{X: x, Y: y, N: s.k}, true
}
