package sim

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// BurstGap is the silence between two frames of one pseudonym that ends a
// burst in Bursts, ms: a burst lasts a few hundred ms (sensor clocks add
// ±300 ms), a phone's bursts are 15 s or more apart.
const BurstGap = 1500

// Bursts groups the frames of batches into the locator's bursts, simply:
// per pseudonym, frames (of any sensor) closer than BurstGap make one
// burst; per sensor the mean RSSI in dB (5 GHz frames moved to 2.4 GHz by
// the sensor's offset) and the frame count. Bursts come out in order of T.
// It is the benchmark's stand-in for the server's pipeline: no clock
// alignment, no reordering window.
func Bursts(m *locate.Model, site *wire.Site, batches []*wire.Batch) []*locate.Burst {
	var out []*locate.Burst
	n := len(m.Sensors)
	sum := make([]float64, n)
	cnt := make([]int, n)
	eachBurst(site, batches, func(d wire.Dev, fs []frame) {
		clear(sum)
		clear(cnt)
		first, last := fs[0].o, fs[len(fs)-1].o
		b := &locate.Burst{T: first.T, End: last.T, Dev: d, Rand: first.Rand, FP: first.FP,
			SeqFirst: first.Seq, SeqLast: last.Seq}
		for _, f := range fs {
			r := f.o.RSSI
			if f.o.Band5GHz() {
				r -= m.Sensors[f.sensor].Offset5
			}
			sum[f.sensor] += r
			cnt[f.sensor]++
		}
		for s := 0; s < n; s++ {
			if cnt[s] > 0 {
				b.Readings = append(b.Readings, locate.Reading{Sensor: s, RSSI: sum[s] / float64(cnt[s]), N: cnt[s]})
			}
		}
		out = append(out, b)
	})
	sort.SliceStable(out, func(a, b int) bool { return out[a].T < out[b].T })
	return out
}

// frame is one observation of a burst and the index of its sensor.
type frame struct {
	sensor int
	o      *wire.Observation
}

// eachBurst calls f for every burst of batches' frames, pseudonym by
// pseudonym in order of their ids, bursts in time order: per pseudonym,
// frames (of any of the site's sensors) closer than BurstGap make one.
func eachBurst(site *wire.Site, batches []*wire.Batch, f func(d wire.Dev, fs []frame)) {
	byDev := map[wire.Dev][]frame{}
	for _, b := range batches {
		i := site.SensorIndex(b.Sensor)
		if i < 0 {
			continue
		}
		for k := range b.Obs {
			o := &b.Obs[k]
			byDev[o.Dev] = append(byDev[o.Dev], frame{i, o})
		}
	}
	devs := make([]wire.Dev, 0, len(byDev))
	for d := range byDev {
		devs = append(devs, d)
	}
	sort.Slice(devs, func(a, b int) bool { return devs[a] < devs[b] })
	for _, d := range devs {
		fs := byDev[d]
		sort.SliceStable(fs, func(a, b int) bool { return fs[a].o.T < fs[b].o.T })
		for i := 0; i < len(fs); {
			j := i + 1
			for j < len(fs) && fs[j].o.T-fs[j-1].o.T <= BurstGap {
				j++
			}
			f(d, fs[i:j])
			i = j
		}
	}
}

// Method is one way of locating a burst, for the accuracy table.
type Method struct {
	Name   string
	Errors []float64 // metres, per burst whose truth lies in the bounds
	Side   int       // bursts on the right side of the front
	Sides  int
	Within int // bursts with the error at most the fix's own Err (calibration)
	// ErrIn and ErrOut split Errors by where the truth was: in the store
	// or not.
	ErrIn, ErrOut []float64
	// SideIn and SidesIn count the bursts whose truth was in the store:
	// on the right side, and all.
	SideIn, SidesIn int
}

// countSide counts a fix in the store (in) or not against the truth.
func (m *Method) countSide(in, truthIn bool) {
	m.Sides++
	if in == truthIn {
		m.Side++
	}
	if truthIn {
		m.SidesIn++
		if in {
			m.SideIn++
		}
	}
}

// Quantile returns the q-quantile of the method's errors.
func (m *Method) Quantile(q float64) float64 {
	if len(m.Errors) == 0 {
		return math.NaN()
	}
	e := append([]float64(nil), m.Errors...)
	sort.Float64s(e)
	return e[int(math.Min(float64(len(e)-1), math.Floor(q*float64(len(e)))))]
}

// Accuracy is the outcome of one simulated shop.
type Accuracy struct {
	Layout  string
	Hours   float64
	Bursts  int
	Matched int
	// Replayed counts the positions of the server pipeline, when run.
	Replayed int
	Methods  []*Method
	CRLB     []float64 // per matched burst in bounds
	// Oracle holds the rows of the Bayes oracle (Oracle): one burst at a
	// time under the true world, three estimators, the transmit offset
	// integrated and given; OracleR is the radius of the disc estimator:
	// half the weighted centroid's p90.
	Oracle  []*OracleRow
	OracleR float64
	// Linking, against the truth: phones seen, tracks, tracks holding
	// more than one person (merges) and the extra tracks of phones split
	// over several (splits), with and without linking.
	Phones, Tracks, Merged, Splits int
	// MergeBy counts the bursts that joined a track of another person,
	// by linking rule ("" : a known pseudonym).
	MergeBy                                           map[string]int
	NoLinkTracks, NoLinkSplits, RandPhones, RandSplit int
}

// ReplayFunc runs the server's pipeline over batches in arrival order and
// returns the positions it writes (as passant replay does).
type ReplayFunc func(site *wire.Site, batches []*wire.Batch) ([]wire.Position, error)

// RunAccuracy simulates hours of the layout, groups its output into bursts
// and locates every burst with the Solver, the Tracker and the baselines;
// with replay (may be nil) also the server pipeline's positions, matched to
// the truth by pseudonym and time.
func RunAccuracy(ctx context.Context, layout string, cfg Config, hours float64, replay ReplayFunc) (*Accuracy, error) {
	return RunAccuracyWith(ctx, layout, cfg, hours, AccuracyOptions{Replay: replay})
}

// AccuracyOptions choose the optional rows of RunAccuracyWith.
type AccuracyOptions struct {
	Replay ReplayFunc // the server pipeline's row (nil: none)
	// Oracle adds the Bayes oracle's rows (Oracle; about 3 s per
	// simulated shop-hour).
	Oracle bool
	// OracleLeaveOut is the oracle's LeaveOut; 0: DefaultLeaveOut.
	OracleLeaveOut time.Duration
}

// RunAccuracyWith is RunAccuracy with options.
func RunAccuracyWith(ctx context.Context, layout string, cfg Config, hours float64, opt AccuracyOptions) (*Accuracy, error) {
	replay := opt.Replay
	shop, err := NewShop(layout, cfg)
	if err != nil {
		return nil, err
	}
	var batches []*wire.Batch
	truth := &Truth{}
	from := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	err = shop.Run(ctx, from, from.Add(time.Duration(hours*float64(time.Hour))), func(_ string, b *wire.Batch) error {
		batches = append(batches, b)
		return nil
	}, truth)
	if err != nil {
		return nil, err
	}
	site := shop.Site()
	m, err := locate.NewModel(site)
	if err != nil {
		return nil, err
	}
	bursts := Bursts(m, site, batches)
	a := &Accuracy{Layout: layout, Hours: hours, Bursts: len(bursts)}
	match := truth.matcher()
	var store []wire.Point
	for _, z := range site.Zones {
		if z.Kind == wire.ZoneStore {
			store = z.Polygon
		}
	}
	var ojobs []oracleJob
	solver := locate.NewSolver(m)
	tracker := locate.NewTracker(m, locate.TrackerOptions{})
	nolink := locate.NewTracker(m, locate.TrackerOptions{NoLink: true})
	names := []string{"passant", "least squares", "tracker", "strongest sensor", "weighted centroid"}
	for _, n := range names {
		a.Methods = append(a.Methods, &Method{Name: n})
	}
	sigma := math.Hypot(shop.cfg.ShadowDB, shop.cfg.GainDB)
	trackPersons := map[string]map[string]bool{}
	personTracks := map[string]map[string]bool{}
	personNoLink := map[string]map[string]bool{}
	randPerson := map[string]bool{}
	lastPerson := map[string]string{}
	prevPerson := map[string]string{} // the one before lastPerson
	a.MergeBy = map[string]int{}
	// A deferred link merges a track into an older one after the fact:
	// the merged track's bursts count as the older one's.
	alias := map[string]string{}
	final := mergedInto(alias)
	type assigned struct{ track, person string }
	var done []assigned
	merges := func() {
		for _, mg := range tracker.Merges() {
			alias[mg.From] = mg.Into
			if lp, ok := lastPerson[mg.From]; ok && lp != lastPerson[mg.Into] {
				a.MergeBy[locate.LinkLater]++
			}
		}
	}
	for _, b := range bursts {
		pos := tracker.Add(b)
		how := tracker.LinkedBy()
		merges()
		nl := nolink.Add(b)
		tracker.Expire(b.T)
		merges()
		nolink.Expire(b.T)
		t := match(b.Dev, b.T)
		if t == nil {
			continue
		}
		a.Matched++
		lp, ok := lastPerson[pos.Track]
		if how == locate.LinkBack {
			// A contest gives the track back to whom it had before
			// the undone link: wrong when that was someone else.
			lp, ok = prevPerson[pos.Track]
		}
		if ok && lp != t.Person && how != locate.LinkLater {
			a.MergeBy[how]++
		}
		if q, ok := lastPerson[pos.Track]; ok && q != t.Person {
			prevPerson[pos.Track] = q
		}
		lastPerson[pos.Track] = t.Person
		done = append(done, assigned{pos.Track, t.Person})
		add(personNoLink, t.Person, nl.Track)
		if t.Rand {
			randPerson[t.Person] = true
		}
		truthP := wire.Point{t.X, t.Y}
		inBounds := site.Bounds.Contains(truthP)
		truthIn := pointIn(truthP, store)
		if opt.Oracle {
			ojobs = append(ojobs, oracleJob{burstKey{b.Dev, b.T}, t, inBounds, truthIn})
		}
		fixes := make([]locate.Fix, len(names))
		fixes[0] = tracker.Fix()
		fixes[1], _ = solver.LeastSquares(b)
		fixes[2] = locate.Fix{X: pos.X, Y: pos.Y, Err: pos.Err}
		fixes[3], _ = locate.Strongest(m, b)
		fixes[4], _ = solver.Centroid(b)
		for k, f := range fixes {
			me := a.Methods[k]
			me.countSide(pointIn(wire.Point{f.X, f.Y}, store), truthIn)
			if inBounds {
				e := math.Hypot(f.X-t.X, f.Y-t.Y)
				me.Errors = append(me.Errors, e)
				if truthIn {
					me.ErrIn = append(me.ErrIn, e)
				} else {
					me.ErrOut = append(me.ErrOut, e)
				}
				if e <= f.Err {
					me.Within++
				}
			}
		}
		if inBounds {
			a.CRLB = append(a.CRLB, locate.CRLB(m, t.X, t.Y, sigma))
		}
	}
	if opt.Oracle {
		a.oracle(shop, truth, store, batches, ojobs, opt.OracleLeaveOut)
	}
	if replay != nil {
		if err := a.replay(replay, site, batches, match, store); err != nil {
			return nil, err
		}
	}
	for _, d := range done {
		add(trackPersons, final(d.track), d.person)
		add(personTracks, d.person, final(d.track))
	}
	for _, ps := range trackPersons {
		if len(ps) > 1 {
			a.Merged++
		}
	}
	a.Tracks = len(trackPersons)
	a.Phones = len(personTracks)
	for p, ts := range personTracks {
		a.Splits += len(ts) - 1
		if randPerson[p] {
			a.RandPhones++
			a.RandSplit += len(ts) - 1
		}
	}
	nlTracks := map[string]bool{}
	for _, ts := range personNoLink {
		a.NoLinkSplits += len(ts) - 1
		for t := range ts {
			nlTracks[t] = true
		}
	}
	a.NoLinkTracks = len(nlTracks)
	return a, nil
}

func add(m map[string]map[string]bool, k, v string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][v] = true
}

func absI(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// pointIn reports whether p lies in poly (edges included).
func pointIn(p wire.Point, poly []wire.Point) bool {
	in := false
	n := len(poly)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a[1] > p[1]) != (b[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if p[0] < x {
				in = !in
			} else if p[0] == x {
				return true
			}
		}
	}
	return in
}

// WriteTable prints the accuracy table of results as Markdown.
func WriteTable(w io.Writer, rs []*Accuracy) {
	fmt.Fprintln(w, "| shop | method | median m | p75 m | p90 m | inside/outside right | within err |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rs {
		for _, me := range r.Methods {
			within := "–"
			if me.Name == "passant" || me.Name == "least squares" || me.Name == "tracker" || me.Name == "passant replay" {
				within = pct(me.Within, len(me.Errors))
			}
			fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %.2f | %s | %s |\n", r.Layout, me.Name,
				me.Quantile(0.5), me.Quantile(0.75), me.Quantile(0.9), pct(me.Side, me.Sides), within)
		}
		c := &Method{Errors: r.CRLB}
		fmt.Fprintf(w, "| %s | Cramér–Rao bound | %.2f | %.2f | %.2f | | |\n", r.Layout, c.Quantile(0.5), c.Quantile(0.75), c.Quantile(0.9))
		for _, o := range r.Oracle {
			fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %.2f | %s (expects %s) | %s |\n", r.Layout, o.Name,
				o.Quantile(0.5), o.Quantile(0.75), o.Quantile(0.9), pct(o.Side, o.Sides),
				pct(int(math.Round(o.ExpSide)), o.Sides), pct(o.Within, len(o.Errors)))
		}
	}
}

// WriteLinking prints the linking table of results as Markdown.
func WriteLinking(w io.Writer, rs []*Accuracy) {
	fmt.Fprintln(w, "| shop | phones | tracks | merged tracks | wrong links: scan, seq, loose, later, back | splits (extra tracks) | splits of randomising phones | without linking: tracks, splits |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %d | %d (%s) | %d, %d, %d, %d, %d | %d (%.2f per phone) | %d over %d phones | %d, %d |\n", r.Layout, r.Phones, r.Tracks,
			r.Merged, pct(r.Merged, r.Tracks), r.MergeBy["scan"], r.MergeBy["seq"], r.MergeBy["loose"], r.MergeBy["later"], r.MergeBy["back"],
			r.Splits, float64(r.Splits)/float64(max(r.Phones, 1)),
			r.RandSplit, r.RandPhones, r.NoLinkTracks, r.NoLinkSplits)
	}
}

func pct(a, b int) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
}

// WriteBreakdown prints the errors split by the truth's side.
func WriteBreakdown(w io.Writer, rs []*Accuracy) {
	fmt.Fprintln(w, "| shop | method | in store: n, median, p90, side right | outside: n, median, p90, side right |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rs {
		for _, me := range r.Methods {
			in, out := &Method{Errors: me.ErrIn}, &Method{Errors: me.ErrOut}
			fmt.Fprintf(w, "| %s | %s | %d, %.2f, %.2f, %s | %d, %.2f, %.2f, %s |\n", r.Layout, me.Name,
				len(in.Errors), in.Quantile(0.5), in.Quantile(0.9), pct(me.SideIn, me.SidesIn),
				len(out.Errors), out.Quantile(0.5), out.Quantile(0.9), pct(me.Side-me.SideIn, me.Sides-me.SidesIn))
		}
		for _, o := range r.Oracle {
			in, out := &Method{Errors: o.ErrIn}, &Method{Errors: o.ErrOut}
			fmt.Fprintf(w, "| %s | %s | %d, %.2f, %.2f, %s | %d, %.2f, %.2f, %s |\n", r.Layout, o.Name,
				len(in.Errors), in.Quantile(0.5), in.Quantile(0.9), pct(o.SideIn, o.SidesIn),
				len(out.Errors), out.Quantile(0.5), out.Quantile(0.9), pct(o.Side-o.SideIn, o.Sides-o.SidesIn))
		}
	}
}

// replay adds the row of the server pipeline's positions.
func (a *Accuracy) replay(replay ReplayFunc, site *wire.Site, batches []*wire.Batch,
	match func(wire.Dev, int64) *BurstTruth, store []wire.Point) error {
	ps, err := replay(site, batches)
	if err != nil {
		return fmt.Errorf("sim: replay: %w", err)
	}
	me := &Method{Name: "passant replay"}
	for _, p := range ps {
		t := match(p.Dev, p.T)
		if t == nil {
			continue
		}
		truthP := wire.Point{t.X, t.Y}
		truthIn := pointIn(truthP, store)
		me.countSide(pointIn(wire.Point{p.X, p.Y}, store), truthIn)
		if site.Bounds.Contains(truthP) {
			e := math.Hypot(p.X-t.X, p.Y-t.Y)
			me.Errors = append(me.Errors, e)
			if e <= p.Err {
				me.Within++
			}
			if truthIn {
				me.ErrIn = append(me.ErrIn, e)
			} else {
				me.ErrOut = append(me.ErrOut, e)
			}
		}
	}
	a.Methods = append([]*Method{me}, a.Methods...)
	a.Replayed = len(ps)
	return nil
}

// mergedInto returns a function that follows a track through alias
// (merged track → the track it was merged into) to the one that holds it
// in the end.
func mergedInto(alias map[string]string) func(string) string {
	return func(k string) string {
		for {
			n, ok := alias[k]
			if !ok {
				return k
			}
			k = n
		}
	}
}
