package sim

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// Diagnostics of the side of the shop's front for weak phones (docs/footfall.md,
// "2026-12-05 night: weak phones at the front"). Both simulate a shop as
// TestAccuracy (footfall) does: PASSANT_ORACLE_LAYOUT, PASSANT_ORACLE_SEED,
// PASSANT_ORACLE_HOURS (from 09:00 local). PASSANT_ORACLE_FLAT=1 gives the
// oracle a flat prior over the places people were (each 0.5 m bin of the
// truth's bursts once, not by how many), as a tracker's uniform prior
// within each side of the front is.

// oracleRun is a simulated run with its oracle.
type oracleRun struct {
	site  *wire.Site
	tr    *Truth
	bs    []*wire.Batch
	store []wire.Point
	o     *Oracle
	obs   map[burstKey]*oracleBurst
	match func(wire.Dev, int64) *BurstTruth
}

func newOracleRun(t *testing.T) *oracleRun {
	t.Helper()
	layout := os.Getenv("PASSANT_ORACLE_LAYOUT")
	seed, err := strconv.ParseUint(os.Getenv("PASSANT_ORACLE_SEED"), 10, 64)
	if err != nil {
		t.Fatalf("PASSANT_ORACLE_SEED: %v", err)
	}
	hours, err := strconv.ParseFloat(os.Getenv("PASSANT_ORACLE_HOURS"), 64)
	if err != nil {
		t.Fatalf("PASSANT_ORACLE_HOURS: %v", err)
	}
	shop, err := NewShop(layout, Config{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	r := &oracleRun{site: shop.Site(), tr: &Truth{}}
	from := time.Date(2026, 12, 3, 9, 0, 0, 0, r.site.Location())
	to := from.Add(time.Duration(hours * float64(time.Hour)))
	emit := func(_ string, b *wire.Batch) error { r.bs = append(r.bs, b); return nil }
	if err := shop.Run(context.Background(), from, to, emit, r.tr); err != nil {
		t.Fatal(err)
	}
	for _, z := range r.site.Zones {
		if z.Kind == wire.ZoneStore {
			r.store = z.Polygon
		}
	}
	r.o = newOracle(shop, r.tr, r.store)
	if os.Getenv("PASSANT_ORACLE_FLAT") != "" {
		for p := range r.o.pts {
			r.o.pts[p].n = 1
		}
	}
	r.obs = r.o.oracleBursts(r.bs)
	r.match = r.tr.matcher()
	return r
}

// TestOraclePersons prints, for the persons PASSANT_ORACLE_PERSONS
// (p1,p2,...), each burst's truth, the one-burst oracle's probability of
// the store (the offset integrated, and known), the tracker's own for the
// burst under the prior of all bursts (before the track's memory) and its
// track's after it, and a count over their bursts in the store.
func TestOraclePersons(t *testing.T) {
	ps := os.Getenv("PASSANT_ORACLE_PERSONS")
	if ps == "" {
		t.Skip("set PASSANT_ORACLE_PERSONS (and PASSANT_ORACLE_LAYOUT, _SEED, _HOURS)")
	}
	r := newOracleRun(t)
	m, err := locate.NewModel(r.site)
	if err != nil {
		t.Fatal(err)
	}
	type sides struct {
		one, track float64
		name       string
	}
	got := map[burstKey]sides{}
	tracker := locate.NewTracker(m, locate.TrackerOptions{})
	for _, b := range Bursts(m, r.site, r.bs) {
		pos := tracker.Add(b)
		tracker.Expire(b.T)
		got[burstKey{b.Dev, b.T}] = sides{tracker.BurstSides()[locate.SideStore], pos.PStore, pos.Track}
	}
	asked := map[string]bool{}
	for _, p := range strings.Split(ps, ",") {
		asked[p] = true
	}
	type line struct {
		person string
		t      int64
		s      string
	}
	var lines []line
	var in, oracle, known, one, track int
	for k, ob := range r.obs {
		bt := r.match(k.dev, k.t)
		if bt == nil || !asked[bt.Person] {
			continue
		}
		isIn := pointIn(wire.Point{bt.X, bt.Y}, r.store)
		f0, f1 := r.o.Estimate(ob, bt, false, 0), r.o.Estimate(ob, bt, true, 0)
		q := got[k]
		if isIn {
			in++
			oracle += b2i(f0.PStore >= 0.5)
			known += b2i(f1.PStore >= 0.5)
			one += b2i(q.one >= 0.5)
			track += b2i(q.track >= 0.5)
		}
		lines = append(lines, line{bt.Person, k.t, fmt.Sprintf("%s %s tx %+.1f true (%5.1f, %5.1f) store %v readings %d: oracle %.2f, offset known %.2f; tracker's burst %.2f, track %.2f %s",
			bt.Person, time.UnixMilli(k.t).In(r.site.Location()).Format("15:04:05"), bt.Tx, bt.X, bt.Y, isIn, heard(ob),
			f0.PStore, f1.PStore, q.one, q.track, q.name)})
	}
	slices.SortFunc(lines, func(a, b line) int {
		if c := strings.Compare(a.person, b.person); c != 0 {
			return c
		}
		return int(a.t - b.t)
	})
	for _, l := range lines {
		t.Log(l.s)
	}
	t.Logf("their %d bursts in the store put there: oracle %d, offset known %d; tracker's burst %d, track %d", in, oracle, known, one, track)
}

// TestOracleStays compares, per person and side of the front, the
// one-burst oracle with two stay oracles over all of the person's bursts
// in the front strip (|y| < 8 m, across the store's width) on that side,
// all taken on one side: the phone's transmit offset shared by the bursts
// and integrated once (what a track could learn of it), and integrated
// per burst (a track's memory without the offset). Per side, person class
// and offset (below −2 dB or not): bursts right. PASSANT_ORACLE_STAYS=1
// (v: each stay too).
func TestOracleStays(t *testing.T) {
	mode := os.Getenv("PASSANT_ORACLE_STAYS")
	if mode == "" {
		t.Skip("set PASSANT_ORACLE_STAYS (and PASSANT_ORACLE_LAYOUT, _SEED, _HOURS)")
	}
	r := newOracleRun(t)
	o := r.o
	x0, x1 := math.Inf(1), math.Inf(-1)
	for _, p := range r.store {
		x0, x1 = math.Min(x0, p[0]), math.Max(x1, p[0])
	}
	type stay struct {
		n, one    int
		in        bool
		sin, sout []float64 // Σ over the bursts of the side's log mass per offset node
		iin, iout float64   // Σ over the bursts of the side's log mass, offset integrated per burst
		class     string
		tx        float64
		who       string
	}
	stays := map[string]*stay{}
	nk := len(o.bNode)
	li, lo := make([]float64, nk), make([]float64, nk)
	for k, ob := range r.obs {
		bt := r.match(k.dev, k.t)
		if bt == nil || bt.X < x0 || bt.X > x1 || math.Abs(bt.Y) > 8 {
			continue
		}
		in := pointIn(wire.Point{bt.X, bt.Y}, r.store)
		key := bt.Person + "/out"
		if in {
			key = bt.Person + "/in"
		}
		s := stays[key]
		if s == nil {
			s = &stay{sin: make([]float64, nk), sout: make([]float64, nk), in: in, class: bt.Class, tx: bt.Tx, who: key}
			stays[key] = s
		}
		s.n++
		s.one += b2i((o.Estimate(ob, bt, false, 0).PStore >= 0.5) == in)
		ex := o.leaveOut(bt)
		for j, b := range o.bNode {
			li[j], lo[j] = math.Inf(-1), math.Inf(-1)
			for _, w := range o.posterior(ob, ex, &b) {
				if o.pts[w.p].in {
					li[j] = logAdd(li[j], w.lw)
				} else {
					lo[j] = logAdd(lo[j], w.lw)
				}
			}
			// a side the posterior left out entirely: far below the other
			top := math.Max(li[j], lo[j])
			li[j], lo[j] = math.Max(li[j], top-40), math.Max(lo[j], top-40)
			s.sin[j] += li[j]
			s.sout[j] += lo[j]
		}
		s.iin += o.integrate(li)
		s.iout += o.integrate(lo)
	}
	type count struct{ stays, bursts, one, shared, perBurst int }
	res := map[string]*count{}
	var keys []string
	for _, s := range stays {
		if s.n < 2 {
			continue
		}
		pin := 1 / (1 + math.Exp(o.integrate(s.sout)-o.integrate(s.sin)))
		pinB := 1 / (1 + math.Exp(s.iout-s.iin))
		key := "street " + s.class
		if s.in {
			key = "store " + s.class
		}
		if s.tx < -2 {
			key += ", offset < -2 dB"
		} else {
			key += ", offset >= -2 dB"
		}
		c := res[key]
		if c == nil {
			c = &count{}
			res[key] = c
			keys = append(keys, key)
		}
		c.stays++
		c.bursts += s.n
		c.one += s.one
		c.shared += s.n * b2i((pin >= 0.5) == s.in)
		c.perBurst += s.n * b2i((pinB >= 0.5) == s.in)
		if mode == "v" {
			t.Logf("%s %s tx %+.1f: %d bursts, %d right one by one; stay: offset shared %.3f, per burst %.3f", s.who, s.class, s.tx, s.n, s.one, pin, pinB)
		}
	}
	slices.Sort(keys)
	pc := func(a, b int) float64 { return 100 * float64(a) / float64(b) }
	for _, k := range keys {
		c := res[k]
		t.Logf("%-36s %4d stays, %5d bursts right: one burst %.1f%%, stay with the offset shared %.1f%%, per burst %.1f%%",
			k, c.stays, c.bursts, pc(c.one, c.bursts), pc(c.shared, c.bursts), pc(c.perBurst, c.bursts))
	}
}

// integrate returns log Σ_k w_k exp(l_k) over the offset's nodes (its
// prior's weights, unnormalised as in posterior).
func (o *Oracle) integrate(l []float64) float64 {
	a := math.Inf(-1)
	for j := range o.bNode {
		a = logAdd(a, o.bLogW[j]+l[j])
	}
	return a
}

// logAdd returns log(exp(a) + exp(b)).
func logAdd(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	m := math.Max(a, b)
	return m + math.Log(math.Exp(a-m)+math.Exp(b-m))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// heard returns how many sensors heard b.
func heard(b *oracleBurst) int {
	n := 0
	for _, r := range b.rd {
		n += b2i(r.n24+r.n5 > 0)
	}
	return n
}
