package locate

import (
	"math"

	"github.com/passant/passant/wire"
	"gonum.org/v1/gonum/mat"
)

// ln10 is the natural logarithm of 10; 10/ln10 turns d(log10 d) into dB.
const dbPerNeper = 10 / math.Ln10

// Solver computes fixes of bursts under one Model. It keeps preallocated
// workspaces, so a fix allocates nothing in steady state; it is not safe for
// concurrent use (use one Solver per goroutine).
//
// The core is weighted nonlinear least squares in the RSSI domain:
//
//	minimise Σ_i ρ((y_i - f_i(x, y) - b) / σ_i) + b²/(2τ²)
//	f_i(x, y) = P_i - 10 n_i log10(d_i),  d_i = √((x-x_i)² + (y-y_i)² + (z_p-z_i)²)
//
// with ρ Huber's loss (robust to one bad link), σ_i² = σ² + σ_f²/N_i, and b
// the device's transmit offset, estimated as a nuisance parameter (with the
// prior N(0, τ²)) when 4 or more sensors heard the burst and held at 0
// otherwise. It is solved by Levenberg–Marquardt on gonum/mat, started from
// the weighted centroid and kept inside the site bounds. Where the geometry is
// poor (one or two sensors, or a fix outside the sensors' hull, where distance
// and transmit offset trade off) the Solver returns the posterior mean over a
// bounded grid with a prior from the site's zones instead (see Grid).
type Solver struct {
	m    *Model
	grid *Grid
	hull []wire.Point // the sensors' convex hull, grown by hullMargin

	// readings of the current burst
	k     int // number of usable readings
	idx   []int
	y     []float64 // RSSI, dB
	v     []float64 // variance σ_i², dB²
	sd    []float64 // σ_i (leastSquares)
	w     []float64 // robust weights 1/σ_i² * huber (this and the next three a multiple of 4 long: costx4)
	jx    []float64 // ∂f_i/∂x
	jy    []float64
	r     []float64 // residuals y_i - f_i - b
	d2    []float64 // cost's squared distances (these five a multiple of 4 long)
	lg    []float64 // and their log10; costx4's terms
	cin   []float64 // costx4's rows (costRows)
	cinOK bool      // cin holds the burst's rows
	ca    costArgs  // costx4's arguments (setCostArgs)

	a        [2]*mat.SymDense // normal matrices, 2×2 and 3×3
	g        [2]*mat.VecDense
	d        [2]*mat.VecDense
	f        [2]*mat.SymDense // factorisation workspace
	post     posterior
	mid      *Grid     // the grid of whole-grid fixes at midCells (nil: grid is)
	mpost    posterior // its workspace
	midFix   bool      // the last fix is mpost's (a whole-grid fix on mid)
	coarse   *Grid     // the grid at coarseCells, for wideSides and gainResiduals
	cpost    posterior // its workspace
	huber    float64   // Huber's threshold (huberK; +Inf: plain least squares)
	noLS     bool      // testing: always use the grid
	gridFix  bool      // the last fix came from the grid
	winFix   bool      // the last fix was the posterior over a window around a least-squares fix
	dn       float64   // correction of every sensor's exponent (SetExponentShift)
	dnSigma  float64   // what is left uncertain of it (SetExponentSigma; 0: the model's)
	dnEst    float64   // the last least-squares fix's estimate of a further correction
	dnOK     bool
	sideOff  [3]float64 // mean received offset per side of the front, dB (SetSideOffset)
	txShift  float64    // the phone's transmit offset's prior mean about sideOff, dB (txPrior)
	txPrec   float64    // and the precision it adds to the model's, 1/dB² (txPrior)
	level    float64    // SetLevel
	miss     []int      // sensors that did not hear the burst
	deaf     uint64     // sensors known not to be listening (Burst.Deaf)
	gain     []float64  // learned gain error per sensor, dB (SetGains)
	res      []float64  // gainResiduals' residuals
	cOK      bool       // cpost holds the last burst's posterior (wideSides)
	winStood bool       // the last fix is a window's that wideSides let stand: its sides are cpost's
	winSides Sides      // and the window's own posterior of the sides (learnedSides)
	lsMin    int        // fewest readings for a least-squares fix
	lsMaxErr float64    // largest Err of a least-squares fix kept
	noGrd    bool       // testing: never use the grid
}

// hullMargin is how far outside the sensors' hull a least-squares fix is
// still trusted, metres.
const hullMargin = 1.0

// NewSolver returns a Solver for m.
func NewSolver(m *Model) *Solver {
	n := len(m.Sensors)
	n4 := (n + 3) &^ 3 // costx4 reads and writes the readings 4 at a time
	s := &Solver{m: m, huber: huberK,
		miss: make([]int, 0, n), idx: make([]int, n), res: make([]float64, n), y: make([]float64, n), v: make([]float64, n), sd: make([]float64, n),
		w: make([]float64, n4), r: make([]float64, n4), jx: make([]float64, n4), jy: make([]float64, n4), d2: make([]float64, n4), lg: make([]float64, n4),
		cin: make([]float64, 9*n4),
	}
	for i, k := range []int{2, 3} {
		s.a[i] = mat.NewSymDense(k, nil)
		s.g[i] = mat.NewVecDense(k, nil)
		s.d[i] = mat.NewVecDense(k, nil)
		s.f[i] = mat.NewSymDense(k, nil)
	}
	pts := make([]wire.Point, n)
	for i, se := range m.Sensors {
		pts[i] = wire.Point{se.X, se.Y}
	}
	s.hull = convexHull(pts)
	s.lsMin, s.lsMaxErr = 3, math.Inf(1)
	s.SetLevel(0)
	s.grid = NewGrid(m)
	s.post.init(s.grid)
	if s.grid != nil && sensorsWidth(m) >= lineWidth {
		s.mid = newGrid(m, midCells, true)
		s.mid.cellMajor()
		s.mpost.init(s.mid)
	}
	s.coarse = newGrid(m, coarseCells, false)
	s.coarse.cellMajor()
	s.cpost.init(s.coarse)
	s.cpost.coarse = true
	return s
}

// Model returns the solver's model.
func (s *Solver) Model() *Model { return s.m }

// load copies the usable readings of b into the workspaces.
func (s *Solver) load(b *Burst) {
	s.k, s.cinOK = 0, false
	s.deaf = b.Deaf
	m := s.m
	sf2 := m.FrameSigmaDB * m.FrameSigmaDB
	s2 := m.SigmaDB * m.SigmaDB
	for _, r := range b.Readings {
		if r.Sensor < 0 || r.Sensor >= len(m.Sensors) || r.N <= 0 || math.IsNaN(r.RSSI) || math.IsInf(r.RSSI, 0) {
			continue
		}
		// Insert in order of sensor (readings should come sorted; this
		// keeps a careless caller correct), keeping the first of a
		// duplicate sensor.
		j := s.k
		for j > 0 && s.idx[j-1] > r.Sensor {
			j--
		}
		if j > 0 && s.idx[j-1] == r.Sensor {
			continue
		}
		copy(s.idx[j+1:s.k+1], s.idx[j:s.k])
		copy(s.y[j+1:s.k+1], s.y[j:s.k])
		copy(s.v[j+1:s.k+1], s.v[j:s.k])
		s.idx[j] = r.Sensor
		s.y[j] = max(min(r.RSSI, 20), -150)
		if s.gain != nil {
			s.y[j] -= s.gain[r.Sensor]
		}
		s.v[j] = s2 + sf2/float64(r.N)
		s.k++
	}
}

// Locate returns the fix of b; false when b has no usable reading.
func (s *Solver) Locate(b *Burst) (Fix, bool) {
	return s.LocateSides(b, nil, nil)
}

// LocateSides is Locate with a prior over the sides of the shop's front
// (nil: one density everywhere), as a tracker knows it from the track's
// past; post, when not nil, receives the posterior of the sides (for a
// least-squares fix: 1 for the side its point lies on).
func (s *Solver) LocateSides(b *Burst, prior, post *Sides) (Fix, bool) {
	s.load(b)
	s.gridFix, s.winFix, s.dnOK, s.cOK, s.midFix, s.winStood = false, false, false, false, false, false
	if s.k == 0 {
		return Fix{}, false
	}
	if s.k >= s.lsMin && !s.noLS {
		// The point first: one outside the hull goes to the grid without
		// the covariance that finish would compute for it.
		withB := s.k >= 4
		x, y, b, fresh := s.lsPoint(withB)
		kept := s.noGrd || s.grid == nil || pointInPolygon(wire.Point{x, y}, s.hull)
		var f Fix
		if kept {
			f = s.finish(x, y, b, withB, fresh)
			kept = s.noGrd || s.grid == nil || f.Err <= s.lsMaxErr
		}
		if kept {
			s.estimateDn(f.X, f.Y)
			if s.grid != nil && !s.m.PointFix {
				// Least squares has found the side and the place; the
				// posterior mean on that side, over a window around the
				// fix, gives the point (its shrinkage beats the point
				// estimate's spread).
				r := max(3*f.Err, 4)
				s.post.window(s.grid, f.X-r, f.Y-r, f.X+r, f.Y+r)
				g := s.post.fix(s, prior, post)
				s.post.all(s.grid)
				if g.Err > 0 && !math.IsNaN(g.X) {
					s.winFix = true
					if s.coarse != nil {
						return s.wideSides(g, prior, post), true
					}
					return g, true
				}
			}
			if post != nil {
				*post = Sides{}
				post[s.SideOf(f.X, f.Y)] = 1
			}
			return f, true
		}
	}
	if s.grid != nil && !s.noGrd {
		s.gridFix = true
		return s.wholeFix(prior, post), true
	}
	if s.k >= 3 {
		return s.leastSquares(s.k >= 4), true
	}
	return s.fallback(), true
}

// rangeOf inverts the model at sensor i: the horizontal distance at which
// it expects rssi, metres.
func (s *Solver) rangeOf(i int, rssi float64) float64 {
	se := &s.m.Sensors[i]
	d := math.Pow(10, (se.RSSI1m-rssi)/(10*(se.Exponent+s.dn)))
	dz := s.m.PhoneZ - se.Z
	return math.Sqrt(max(d*d-dz*dz, 0))
}

// centroid returns the weighted centroid of the hearing sensors, each
// weighted by 1/d̂², d̂ the model's range of its reading.
func (s *Solver) centroid() (x, y float64) {
	var sw float64
	for j := 0; j < s.k; j++ {
		se := &s.m.Sensors[s.idx[j]]
		d := max(s.rangeOf(s.idx[j], s.y[j]), 0.5)
		w := 1 / (d * d)
		x += w * se.X
		y += w * se.Y
		sw += w
	}
	return x / sw, y / sw
}

// fallback handles one or two sensors without a grid: one sensor gives its
// own position with the range as error; two give the point on the segment
// between them that splits it in the ratio of the ranges, with half the
// segment's length added to the error.
func (s *Solver) fallback() Fix {
	a := &s.m.Sensors[s.idx[0]]
	ra := s.rangeOf(s.idx[0], s.y[0])
	if s.k == 1 {
		e := max(ra, 1)
		return Fix{X: a.X, Y: a.Y, Cov: [3]float64{e * e, 0, e * e}, Err: e, N: 1}
	}
	c := &s.m.Sensors[s.idx[1]]
	rc := s.rangeOf(s.idx[1], s.y[1])
	t := ra / max(ra+rc, 1e-9)
	x, y := a.X+t*(c.X-a.X), a.Y+t*(c.Y-a.Y)
	l := math.Hypot(c.X-a.X, c.Y-a.Y)
	e := max(l/2, min(ra, rc))
	return Fix{X: x, Y: y, Cov: [3]float64{e * e, 0, e * e}, Err: e, N: 2}
}

// diag2 is the squared half diagonal of the bounds: the variance of a fix
// that knows nothing.
func diag2(r wire.Rect) float64 {
	w, h := r[1][0]-r[0][0], r[1][1]-r[0][1]
	return (w*w + h*h) / 4
}

// errOf is the 1-sigma error per axis, sqrt(trace(Cov)/2), capped at what
// the bounds allow.
func errOf(cov [3]float64, bounds wire.Rect) float64 {
	e := math.Sqrt(max((cov[0]+cov[2])/2, 0))
	return min(e, math.Sqrt(diag2(bounds)))
}

// SideOf returns the side of the front of (x, y): SideStore, SideOutside
// or SideOther.
func (s *Solver) SideOf(x, y float64) int {
	if s.grid == nil {
		return SideOther
	}
	return int(s.grid.side[s.grid.cellAt(x, y)])
}

// SetGains sets each sensor's gain error, dB, taken off its readings
// (learned by a Tracker); nil: none.
func (s *Solver) SetGains(g []float64) { s.gain = g }

// gainResiduals returns, per reading of the last burst (sensor index and
// residual, dB), what a gain error of its sensor would have to explain:
//
//	r_i = y_i - P_i + c_i E[L_i] - mean over the readings,
//
// L_i = 10 log10 d_i and c_i the exponent in force, the expectation over
// the burst's posterior on the coarse grid over the whole bounds (the
// street beyond them included) with the sides weighted by prior, as its
// side decision weighs them. The mean is taken out because what all
// readings share is the phone's transmit offset and its side's level, not
// a gain. ok needs gainMinReadings readings and a grid. The posterior is
// the one wideSides computed for the burst when it did, the whole-grid
// fix's own on the mid grid (Solver.mid) when the burst had one (a pass
// over the coarse grid less per such burst: about 10% of `large`'s
// replay; the accuracy tables within noise, docs/locate.md, "Eleventh
// round"); otherwise it costs a pass over the coarse grid.
func (s *Solver) gainResiduals(prior *Sides) (idx []int, res []float64, ok bool) {
	if s.k < gainMinReadings || s.coarse == nil {
		return nil, nil, false
	}
	g, p := s.coarse, &s.cpost
	if !s.cOK && s.midFix {
		// The whole-grid fix's own posterior, on the mid grid.
		g, p = s.mid, &s.mpost
	} else if !s.cOK {
		fine := s.grid
		s.grid = g
		p.all(g)
		p.fix(s, prior, nil)
		s.grid = fine
		s.cOK = true
	}
	var scale [4]float64
	for i := range 3 {
		scale[i] = 1
		if prior != nil && g.area[i] > 0 {
			scale[i] = prior[i] / g.area[i]
		}
	}
	el := s.res[:s.k]
	clear(el)
	var far []float64 // the far points' weights, when the last fix had them
	if len(g.far) > 0 && len(p.farLP) >= len(g.far) {
		far = p.farLP[:len(g.far)]
	}
	var sw float64
	if avx2 && g.lc != nil && len(g.farSide) == len(g.far) {
		// The cells' and the far points' sums in one pass each.
		sw = weightedLCells(g, p.lp, far, &scale, s.idx[:s.k], el)
		far = nil
	} else {
		sw = weightedL(g, p.lp, &scale, s.idx[:s.k], el)
	}
	if far != nil {
		for f, w := range p.farLP[:len(g.far)] {
			if w == 0 {
				continue
			}
			w *= scale[sideOutside]
			sw += w
			for j, i := range s.idx[:s.k] {
				el[j] += w * g.far[f].l[i]
			}
		}
	}
	if !(sw > 0) {
		return nil, nil, false
	}
	var mean float64
	for j, i := range s.idx[:s.k] {
		se := &s.m.Sensors[i]
		el[j] = s.y[j] - se.RSSI1m + (se.Exponent+s.dn)*el[j]/sw
		mean += el[j]
	}
	mean /= float64(s.k)
	for j := range el {
		el[j] -= mean
	}
	return s.idx[:s.k], el, true
}

// gainMinReadings is the fewest readings of a burst whose residuals teach
// the gains: with three, two differences between sensors are left once
// the common offset is taken out.
const gainMinReadings = 3
