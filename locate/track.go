package locate

import (
	"math"
	"slices"
	"time"

	"github.com/passant/passant/wire"
)

// TrackerOptions tune a Tracker; the zero value gives the defaults.
type TrackerOptions struct {
	// Expiry is the silence, in event time, after which a track is dropped
	// (default 15 min). A non-randomised device that comes back later gets
	// its old track name again; its filter starts afresh.
	Expiry time.Duration
	// MaxSpeed is the walking-speed limit, m/s (default 2): the filter
	// never moves a track faster, and a randomised pseudonym is linked to a
	// track only where the track could have walked in the time between.
	MaxSpeed float64
	// LinkWindow is how long after the last burst of a randomised
	// pseudonym a new pseudonym may continue its track (default 3 min).
	LinkWindow time.Duration
	// SeqGap is the largest forward step of the 802.11 sequence number
	// (mod 4096) between the last frame of the old pseudonym and the first
	// of the new one that counts as continuity (default 32).
	SeqGap int
	// ScanGap is how soon after a burst of a randomised pseudonym a burst
	// of a new one with the same known fingerprint counts as the same scan
	// of the same phone (default 250 ms): iPhones change their MAC and
	// sequence number with every channel of a scan.
	ScanGap time.Duration
	// NoSeqWindow is how soon a new pseudonym without sequence continuity
	// (phones that restart their counter with each MAC) may continue a
	// track of the same fingerprint while the fingerprint's rhythm is not
	// known (default 3 min; negative: never). Phones that take a new MAC
	// for every scan never show their rhythm under one pseudonym, and real
	// ones wait longer than 100 s: the ProbingPatterns Galaxy S21 scans
	// every 120 and 160 s, the Oppo every 60 s, the iPhones 2 to 170 s
	// apart.
	NoSeqWindow time.Duration
	// Accel is the white-acceleration density of the constant-velocity
	// model, m²/s³ (default 0.05).
	Accel float64
	// SideHold is the time constant of staying on one side of the shop's
	// front (in the store or outside) between bursts (default 10 min).
	SideHold time.Duration
	// Memory is how long a non-randomised device's track name is kept
	// after it was last seen (default 30 days).
	Memory time.Duration
	// NoSelfCalibration keeps the site file's path-loss exponents as
	// they are; by default the tracker learns a site-wide correction from
	// the bursts (see Tracker.ExponentShift).
	NoSelfCalibration bool
	// NoLink turns linking of randomised pseudonyms off: every pseudonym
	// is its own track (for comparison).
	NoLink bool
	// LinkTrace, when set, receives every live track of the fingerprint
	// that linking a new randomised pseudonym weighed, and how far it got
	// (diagnostics; see LinkCandidate).
	LinkTrace func(LinkCandidate)
}

func (o TrackerOptions) withDefaults() TrackerOptions {
	if o.Expiry <= 0 {
		o.Expiry = 15 * time.Minute
	}
	if o.MaxSpeed <= 0 {
		o.MaxSpeed = 2
	}
	if o.LinkWindow <= 0 {
		o.LinkWindow = 3 * time.Minute
	}
	if o.SeqGap <= 0 {
		o.SeqGap = 32
	}
	if o.ScanGap <= 0 {
		o.ScanGap = 250 * time.Millisecond
	}
	if o.NoSeqWindow == 0 {
		o.NoSeqWindow = 3 * time.Minute
	}
	if o.Accel <= 0 {
		o.Accel = 0.05
	}
	if o.SideHold <= 0 {
		o.SideHold = 10 * time.Minute
	}
	if o.Memory <= 0 {
		o.Memory = 30 * 24 * time.Hour
	}
	return o
}

// axis is a constant-velocity Kalman filter along one axis: state
// (p, v), covariance [pp, pv, vv].
type axis struct {
	p, v       float64
	pp, pv, vv float64
}

// predict moves the state dt seconds ahead with white acceleration q:
//
//	F = [1 dt; 0 1],  Q = q [dt³/3 dt²/2; dt²/2 dt]
func (a *axis) predict(dt, q float64) {
	a.p += a.v * dt
	pp := a.pp + 2*dt*a.pv + dt*dt*a.vv + q*dt*dt*dt/3
	pv := a.pv + dt*a.vv + q*dt*dt/2
	a.vv += q * dt
	a.pp, a.pv = pp, pv
}

// update takes a measurement z of the position with variance r.
func (a *axis) update(z, r float64) {
	s := a.pp + r
	kp, kv := a.pp/s, a.pv/s
	y := z - a.p
	a.p += kp * y
	a.v += kv * y
	pp := (1 - kp) * a.pp
	pv := (1 - kp) * a.pv
	vv := a.vv - kv*a.pv
	a.pp, a.pv, a.vv = pp, pv, vv
}

// track is one live track: about 160 bytes, and up to maxBefore copies of
// its earlier states.
type track struct {
	num     int32
	last    int64 // event time of the last burst, ms
	dev     wire.Dev
	rand    bool
	fp      string
	seqLast int
	rssi    []float32 // the last burst's RSSI per sensor, NaN: not heard
	frames  []uint8   // and its frames per sensor
	// a deferred link (see defer.go): the silent tracks this new one may
	// continue, likeliest first (0: none), and from when
	heirs [maxHeirs]int32
	born  int64
	// its states before its last few loose links (see contest.go), nil
	// while there are none
	before *earlier
	side   Sides // belief over the sides of the front
	x, y   axis
	gain   gainMark // its last update of the sensors' gains (learnGains)
	// and of the store's level (learnLevel)
	levelMark gainMark
	// its phone's transmit offset learned from the bursts of pseudonym
	// txDev (txLearn): Σ precision × offset and Σ precision
	txDev      wire.Dev
	txSd, txPd float64
}

// devEntry maps a pseudonym to its track.
type devEntry struct {
	track int32
	rand  bool
	last  int64
}

// devSlot is a pseudonym and its entry, in Tracker.devList.
type devSlot struct {
	dev wire.Dev
	devEntry
}

// Tracker turns bursts into tracked positions, in event time: it assigns
// each burst to a track (linking randomised pseudonyms of one phone), locates
// it with a Solver and filters each track with a constant-velocity Kalman
// filter under a walking-speed limit. It is deterministic: the same bursts in
// the same order give the same tracks. It is not safe for concurrent use.
type Tracker struct {
	opt      TrackerOptions
	solver   *Solver
	bounds   wire.Rect
	live     []*track // by creation
	cands    []int32  // link's candidates among them (linkCands)
	byNum    map[int32]*track
	devs     map[wire.Dev]int32 // a pseudonym's slot in devList
	devList  []devSlot          // the pseudonyms remembered, in no order (addDev)
	next     int32
	pruned   int64
	names    []string // cached names of tracks namesAt, namesAt+1, ... (name)
	namesAt  int32
	global   Sides // prior of the sides of all bursts, learned
	fresh    Sides // prior of the sides of new tracks' first bursts, learned
	last     Fix   // the last burst's own fix
	linkedBy string
	sensors  int
	deferTo  heirList // the best candidates of the last link, however weak
	heirsTo  heirList // of them, those in the store (deferred links' candidates)
	merges   []Merge
	reviews  []scanReview // loose links waiting for their scan's review (review.go)
	nLoose   int          // the candidates the last link compared
	post     Sides        // the sides' posterior of the burst being added
	// the fading learned from the addresses of one scan (learnFade):
	// the sums n, Σx, Σx², Σy, Σxy of y = e² = a + b·x, x = 1/n₀ + 1/n₁,
	// and a (dB², the channels' part) and b (dB² per frame) fitted
	fadeFit      [5]float64
	fadeA, fadeB float64
	// intervals between a pseudonym's bursts, per fingerprint: the
	// model's probing rhythm (see rhythm.go)
	rhythm map[string]*rhythm
	gains  gainState // learned gain error per sensor (learnGains)
	areas  Sides     // the sides' prior mass by the zones (Solver.SideAreas)
	levelN int       // the store's level's updates so far (learnLevel)
	// the level's recent updates, decayed: [0] others, [1] from a side
	// on the grid's edge (learnLevel)
	levelRecent [2]float64
	// the running mean of the weights of the level's updates on the
	// store's side (learnLevel)
	levelStore struct {
		w float64
		n int
	}
}

// Fix returns the fix of the last burst given to Add, before filtering.
func (t *Tracker) Fix() Fix { return t.last }

// BurstSides returns the last burst's own posterior of the sides, under
// the prior of all bursts: before the track's memory (a diagnostic).
func (t *Tracker) BurstSides() Sides { return t.post }

// NewTracker returns a Tracker for m.
func NewTracker(m *Model, opts TrackerOptions) *Tracker {
	t := &Tracker{opt: opts.withDefaults(), solver: NewSolver(m), bounds: m.Bounds,
		byNum: map[int32]*track{}, devs: map[wire.Dev]int32{},
		sensors: len(m.Sensors), rhythm: map[string]*rhythm{}}
	t.global = t.solver.SideAreas()
	t.areas = t.global
	t.fresh = t.global
	if len(m.Sensors) >= 3 && m.ExponentSigma > burstExponentSigma {
		t.solver.SetExponentSigma(burstExponentSigma)
	}
	t.solveFade()
	return t
}

// Len returns the number of live tracks.
func (t *Tracker) Len() int { return len(t.live) }

// Add assigns b to a track, locates it and filters the track. It returns
// the position of the burst (T = b.T, Dev, Track, X, Y, Err, N, PStore,
// the track's probability of the store's side, and the burst's FP and
// Rand; Zone left empty). A burst without a usable reading keeps its track and returns the
// track's predicted position with N = 0.
func (t *Tracker) Add(b *Burst) wire.Position {
	t.linkedBy = LinkNone
	t.reviewDue(b.T)
	var post Sides
	di, seen, known := t.txPrior(b)
	fix, ok := t.solver.LocateSides(b, &t.global, &post)
	t.post = post
	tr := t.assign(b, fix, ok, di, seen, known)
	if t.linkedBy == LinkScan {
		t.extendReview(tr, b.T)
	}
	tr = t.settle(tr, b)
	dt := float64(b.T-tr.last) / 1000
	fresh := tr.last == 0
	if ok {
		// Learn the sides' prior (an EM step on the mixture weights),
		// kept off the extremes and drawn towards the zones' areas
		// (learnSides).
		t.learnSides(&t.global, t.solver.learnedSides(&post))
		if fresh {
			// A new track: the side prior of new tracks' first
			// bursts, learned apart (an EM step as above). Phones
			// come into range on the street; a burst that is as
			// likely in the store as outside is most likely a
			// passer-by's.
			if f, ok := t.solver.Resides(&t.fresh, &post); ok {
				fix = f
			}
			t.learnSides(&t.fresh, t.solver.learnedSides(&post))
		}
		if !fresh {
			// The track's side, carried over with a chance to have
			// crossed the front since: a two-state hidden Markov
			// model filtered forward.
			p := 1 - math.Exp(-math.Max(dt, 0)/t.opt.SideHold.Seconds())
			var prior Sides
			mem := t.sideMemory(tr.side)
			for i := range prior {
				prior[i] = (1-p)*mem[i] + p*t.global[i]
			}
			if f, ok := t.solver.Resides(&prior, &post); ok {
				fix = f
			} else {
				// A least-squares fix: its side is evidence with a
				// likelihood of 0.9 against 0.05 for each other side.
				// When the track's past outweighs it, the grid decides
				// under the track's prior.
				ls := 0
				for i := range post {
					if post[i] > post[ls] {
						ls = i
					}
				}
				var tot float64
				for i := range post {
					l := 0.05
					if i == ls {
						l = 0.9
					}
					post[i] = l * prior[i]
					tot += post[i]
				}
				best := ls
				for i := range post {
					post[i] /= tot
					if post[i] > post[best] {
						best = i
					}
				}
				if best != ls {
					if f, ok := t.solver.GridSides(&prior, &post); ok {
						fix = f
					}
				}
			}
		}
		tr.side = post
		t.txLearn(tr, b.Dev, &post)
	}
	t.last = fix
	t.learnExponent()
	t.learnGains(tr, b.T)
	t.learnLevel(tr, *t.solver.learnedSides(&post), b.T)
	// The burst's offset prior held until here: gainResiduals' pass over
	// the coarse grid and OffsetEstimates after a mid-grid fix (offsetAt)
	// redo the fix's sums, about the fix's μ + m.
	t.solver.txShift, t.solver.txPrec = 0, 0
	if !fresh && dt > 0 {
		tr.x.predict(dt, t.opt.Accel)
		tr.y.predict(dt, t.opt.Accel)
	}
	if ok {
		r := math.Max((fix.Cov[0]+fix.Cov[2])/2, 0.01)
		if fresh {
			tr.x = axis{p: fix.X, pp: r, vv: 1}
			tr.y = axis{p: fix.Y, pp: r, vv: 1}
		} else {
			// Gate impossible jumps: a fix farther than the track could
			// have walked (plus 3 sigma) is down-weighted so that the
			// update moves the track at most that far.
			reach := t.opt.MaxSpeed*math.Max(dt, 0) + 3*math.Sqrt(r+(tr.x.pp+tr.y.pp)/2)
			jump := math.Hypot(fix.X-tr.x.p, fix.Y-tr.y.p)
			if jump > reach && jump > 0 {
				r *= (jump / reach) * (jump / reach)
			}
			tr.x.update(fix.X, r)
			tr.y.update(fix.Y, r)
			t.limitSpeed(tr)
			// The track's position keeps to the side of the front its fix
			// was given: a filter that lags behind a phone that crossed
			// (a shopper walking out, heard faintly) restarts at the fix.
			if fs := t.solver.SideOf(fix.X, fix.Y); fs != t.solver.SideOf(tr.x.p, tr.y.p) {
				tr.x = axis{p: fix.X, pp: r, vv: 1}
				tr.y = axis{p: fix.Y, pp: r, vv: 1}
			}
		}
	}
	if b.T > tr.last {
		tr.last = b.T
	}
	tr.dev, tr.rand, tr.fp = b.Dev, b.Rand, b.FP
	if b.SeqLast >= 0 {
		tr.seqLast = b.SeqLast
	}
	if ok {
		t.keepSignature(tr, b, !fresh && dt >= 0 && dt <= t.opt.ScanGap.Seconds())
	}
	p := t.bounds.Clamp(wire.Point{tr.x.p, tr.y.p})
	tr.x.p, tr.y.p = p[0], p[1]
	return wire.Position{T: b.T, Dev: b.Dev, Track: t.name(tr.num), X: p[0], Y: p[1],
		Err: math.Min(math.Sqrt((tr.x.pp+tr.y.pp)/2), math.Sqrt(diag2(t.bounds))), N: fix.N,
		PStore: math.Max(tr.side[SideStore], 1e-3), // 0 would read as unknown
		FP:     b.FP, Rand: b.Rand}
}

// limitSpeed clamps the track's velocity to the walking-speed limit.
func (t *Tracker) limitSpeed(tr *track) {
	v := math.Hypot(tr.x.v, tr.y.v)
	if v > t.opt.MaxSpeed {
		k := t.opt.MaxSpeed / v
		tr.x.v *= k
		tr.y.v *= k
	}
}

// assign finds or creates the track of b; i and seen are b.Dev's slot in
// devList and whether it is known, known the slot's track if it is live
// (txPrior looked them up).
func (t *Tracker) assign(b *Burst, fix Fix, ok bool, i int32, seen bool, known *track) *track {
	t.deferTo, t.heirsTo = heirList{}, heirList{}
	if seen {
		e := &t.devList[i].devEntry
		if b.FP != "" && !t.opt.NoLink {
			t.learnRhythm(b.FP, b.T-e.last)
		}
		e.last = b.T
		if known != nil {
			return known
		}
		return t.create(b, e.track)
	}
	if b.Rand && !t.opt.NoLink {
		if tr := t.link(b, fix, ok); tr != nil {
			t.addDev(b.Dev, devEntry{track: tr.num, rand: true, last: b.T})
			if t.linkedBy == LinkLoose && ok {
				t.startReview(tr, b, fix)
			}
			return tr
		}
	}
	t.next++
	t.addDev(b.Dev, devEntry{track: t.next, rand: b.Rand, last: b.T})
	tr := t.create(b, t.next)
	t.pend(tr, b)
	return tr
}

// addDev remembers pseudonym d, not remembered yet, with entry e.
//
// The entries live in devList, a slot each, and devs maps a pseudonym to
// its slot: an update is a write to the slot, and merge and takeBack,
// which move all the pseudonyms of a track to another, scan the slots in
// order instead of iterating a map (the small 10 h replay: 145 merges over
// about 1,100 pseudonyms each; a server remembers non-randomised ones for
// Memory, a month). The moves are independent of the order of the scan.
func (t *Tracker) addDev(d wire.Dev, e devEntry) {
	t.devs[d] = int32(len(t.devList))
	t.devList = append(t.devList, devSlot{dev: d, devEntry: e})
}

// forgetDev forgets the pseudonym in slot i: the last slot moves into it.
func (t *Tracker) forgetDev(i int) {
	delete(t.devs, t.devList[i].dev)
	last := len(t.devList) - 1
	if i != last {
		t.devList[i] = t.devList[last]
		t.devs[t.devList[i].dev] = int32(i)
	}
	t.devList = t.devList[:last]
}

// dropLive drops the live tracks for which drop is true, in order.
func (t *Tracker) dropLive(drop func(*track) bool) {
	t.live = slices.DeleteFunc(t.live, func(tr *track) bool {
		if drop(tr) {
			delete(t.byNum, tr.num)
			return true
		}
		return false
	})
}

func (t *Tracker) create(b *Burst, num int32) *track {
	tr := &track{num: num, dev: b.Dev, rand: b.Rand, fp: b.FP, seqLast: -1}
	t.live = append(t.live, tr)
	t.byNum[num] = tr
	return tr
}

// Expire drops the tracks silent for longer than the expiry at event time
// now, and forgets pseudonyms of randomised MACs with them; names of
// non-randomised devices are kept for Memory. It first settles the deferred
// links that are due by now (see Merges).
func (t *Tracker) Expire(now int64) {
	t.reviewDue(now)
	t.resolve(now)
	cut := now - t.opt.Expiry.Milliseconds()
	t.dropLive(func(tr *track) bool { return tr.last < cut })
	// Prune the pseudonym map at most once an hour of event time.
	if now-t.pruned < time.Hour.Milliseconds() {
		return
	}
	t.pruned = now
	mem := now - t.opt.Memory.Milliseconds()
	for i := 0; i < len(t.devList); {
		if e := &t.devList[i]; e.last < mem || (e.rand && e.last < cut && t.byNum[e.track] == nil) {
			t.forgetDev(i) // the last slot moves into i: look at i again
			continue
		}
		i++
	}
	t.pruneNames()
}
