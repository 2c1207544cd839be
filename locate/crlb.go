package locate

import "math"

// CRLB returns the Cramér–Rao lower bound on the 1-sigma per-axis error,
// metres, of any unbiased fix of a phone at (x, y) heard by every sensor of
// m with Gaussian noise of sigmaDB on each reading, the transmit power known:
//
//	g_i = -(10 n_i / ln 10) (x - x_i, y - y_i) / d_i²
//	F   = (1/σ²) Σ g_i g_iᵀ
//	bound = √(trace(F⁻¹) / 2)
//
// It returns +Inf where F is singular (fewer than two sensors, or all on a
// line through the point).
func CRLB(m *Model, x, y float64, sigmaDB float64) float64 {
	var fxx, fxy, fyy float64
	for i := range m.Sensors {
		se := &m.Sensors[i]
		dx, dy, dz := x-se.X, y-se.Y, m.PhoneZ-se.Z
		d2 := math.Max(dx*dx+dy*dy+dz*dz, 0.01)
		k := -dbPerNeper * se.Exponent / d2
		gx, gy := k*dx, k*dy
		fxx += gx * gx
		fxy += gx * gy
		fyy += gy * gy
	}
	s2 := sigmaDB * sigmaDB
	fxx, fxy, fyy = fxx/s2, fxy/s2, fyy/s2
	det := fxx*fyy - fxy*fxy
	if !(det > 1e-12*(fxx*fyy)) || det <= 0 {
		return math.Inf(1)
	}
	// trace of the inverse of [[a b][b c]] is (a + c) / det
	return math.Sqrt((fxx + fyy) / det / 2)
}
