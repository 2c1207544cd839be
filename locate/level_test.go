package locate

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/passant/passant/wire"
)

// TestModelFrontDB reads the front's loss from the site file's radio
// (front_db, an extension), with the default when it is absent.
func TestModelFrontDB(t *testing.T) {
	js := `{"site":"f","bounds":[[-3,-7],[23,14]],"radio":{"rssi_1m":-45,"exponent":2.5,"offset_5ghz":-6%s},
	 "sensors":[{"id":"a","x":0,"y":0,"z":2.5}],
	 "zones":[{"id":"store","kind":"store","polygon":[[0,0],[20,0],[20,12],[0,12]]}]}`
	for _, c := range []struct {
		extra string
		want  float64
	}{{"", DefaultFrontDB}, {`,"front_db":5.5`, 5.5}, {`,"front_db":0`, 0}} {
		site, err := wire.ParseSite([]byte(fmtSite(js, c.extra)), false)
		if err != nil {
			t.Fatalf("%q: %v", c.extra, err)
		}
		m, err := NewModel(site)
		if err != nil {
			t.Fatal(err)
		}
		if m.FrontDB != c.want {
			t.Errorf("%q: FrontDB %v, want %v", c.extra, m.FrontDB, c.want)
		}
	}
	if _, err := wire.ParseSite([]byte(fmtSite(js, `,"front_db":-2`)), false); err == nil {
		t.Error("a negative front_db was accepted")
	}
}

func fmtSite(js, extra string) string { return strings.Replace(js, "%s", extra, 1) }

// sideWorld draws bursts of phones in the store and on the street just
// outside its front, as the sensors hear them with a common gain error of
// gain dB, the front's loss front dB for phones outside, 3 dB transmit
// offsets and 4 dB of noise; truthIn says where each phone was.
func sideWorld(m *Model, n int, gain, front float64, seed uint64) (bs []*Burst, truthIn []bool) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for k := 0; k < n; k++ {
		in := rng.IntN(2) == 0
		x, y := 1+18*rng.Float64(), 1+10*rng.Float64()
		loss := 0.0
		if !in {
			y, loss = -1-3*rng.Float64(), front
		}
		b := burstAt(m, x, y, 4, 3*rng.NormFloat64()+gain-loss, rng)
		b.T, b.Dev = int64(k)*1000+1, wire.Dev(k+1)
		bs = append(bs, b)
		truthIn = append(truthIn, in)
	}
	return bs, truthIn
}

// TestTrackerLearnsLevel: sensors that all read 4 dB low make phones in the
// store look like phones behind the front; the tracker learns the level
// from the bursts (phones' own offsets average out) and puts more phones
// on the right side than a tracker that keeps the site file's level.
func TestTrackerLearnsLevel(t *testing.T) {
	m := testSite(t)
	bs, truthIn := sideWorld(m, 1500, -4, 4, 21)
	right := func(opt TrackerOptions) (int, float64) {
		tr := NewTracker(m, opt)
		n := 0
		for i, b := range bs {
			p := tr.Add(b)
			if i >= len(bs)/2 && (tr.solver.SideOf(p.X, p.Y) == SideStore) == truthIn[i] {
				n++
			}
		}
		return n, tr.Level()
	}
	learned, level := right(TrackerOptions{})
	fixed, _ := right(TrackerOptions{NoSelfCalibration: true})
	if math.Abs(level-(-4)) > 1.5 {
		t.Errorf("learned level %.2f dB, want -4 ± 1.5", level)
	}
	if learned <= fixed {
		t.Errorf("right side for %d of %d with the learned level, %d with the site's", learned, len(bs)/2, fixed)
	}
	t.Logf("level %.2f dB; right side %d (learned) vs %d (fixed) of %d", level, learned, fixed, len(bs)/2)
}

// TestFrontLossInLikelihood: two sensors on the shop's front wall hear a
// phone in the store as they hear its mirror image on the street; only the
// front's loss tells them apart. With the loss in the model, more phones
// are put on the right side than by a model without it.
func TestFrontLossInLikelihood(t *testing.T) {
	site := &wire.Site{Site: "c", Bounds: wire.Rect{{-4, -7}, {20, 11}},
		Radio:   wire.Radio{RSSI1m: -45, Exponent: 2.5, Offset5GHz: -6, PhoneZ: 1.2},
		Sensors: []wire.Sensor{{ID: "a", X: 4, Y: 0.3, Z: 2.5}, {ID: "b", X: 12, Y: 0.3, Z: 2.5}},
		Zones: []wire.Zone{
			{ID: "street", Kind: wire.ZoneOutside, Polygon: []wire.Point{{-4, -7}, {20, -7}, {20, 0}, {-4, 0}}},
			{ID: "store", Kind: wire.ZoneStore, Polygon: []wire.Point{{0, 0}, {16, 0}, {16, 10}, {0, 10}}},
		}}
	right := func(front float64) int {
		m, err := NewModel(site)
		if err != nil {
			t.Fatal(err)
		}
		m.FrontDB = front
		s := NewSolver(m)
		rng := rand.New(rand.NewPCG(22, 1))
		n := 0
		for k := 0; k < 600; k++ {
			in := k%2 == 0
			x, y, loss := 1+14*rng.Float64(), 1+5*rng.Float64(), 0.0
			if !in {
				y, loss = 0.6-y, 6 // the mirror image, behind the front
			}
			b := burstAt(m, x, y, 2, rng.NormFloat64()-loss, rng)
			if f, ok := s.Locate(b); ok && (s.SideOf(f.X, f.Y) == SideStore) == in {
				n++
			}
		}
		return n
	}
	with, without := right(6), right(0)
	if with <= without+30 {
		t.Errorf("right side for %d of 600 with the front's loss, %d without", with, without)
	}
	t.Logf("right side for %d of 600 with the front's loss, %d without", with, without)
}

// TestPositionStoreSide: a position carries its track's probability of the
// store's side (footfall's entry rule reads it). It lies in (0, 1], is
// higher for phones in the store than for phones outside, and the fixes
// placed in the store with it at least 0.6 are more often truly in the
// store than all fixes placed there.
func TestPositionStoreSide(t *testing.T) {
	m := testSite(t)
	bs, truthIn := sideWorld(m, 1500, 0, 4, 22)
	tr := NewTracker(m, TrackerOptions{})
	var sum [2]float64
	var n [2]int
	var placed, placedIn, sure, sureIn int
	for i, b := range bs {
		p := tr.Add(b)
		if !(p.PStore > 0 && p.PStore <= 1) {
			t.Fatalf("burst %d: PStore %v, want (0, 1]", i, p.PStore)
		}
		k := 0
		if truthIn[i] {
			k = 1
		}
		sum[k] += p.PStore
		n[k]++
		if tr.solver.SideOf(p.X, p.Y) == SideStore {
			placed++
			if p.PStore >= 0.6 {
				sure++
			}
			if truthIn[i] {
				placedIn++
				if p.PStore >= 0.6 {
					sureIn++
				}
			}
		}
	}
	in, out := sum[1]/float64(n[1]), sum[0]/float64(n[0])
	if in < out+0.2 {
		t.Errorf("mean PStore %.2f in the store, %.2f outside: want a gap of 0.2", in, out)
	}
	all, conf := float64(placedIn)/float64(placed), float64(sureIn)/float64(sure)
	if conf <= all {
		t.Errorf("fixes placed in the store truly in: %.3f with PStore >= 0.6, %.3f of all", conf, all)
	}
	t.Logf("mean PStore %.2f in, %.2f out; placed in the store truly in %.3f (all %d), %.3f (PStore >= 0.6, %d)", in, out, all, placed, conf, sure)
}

// TestWindowSidesFromCoarse: where a window fix stands (wideSides) and
// holds no cell of the street, the sides' posterior given back is the
// coarse grid's over the whole bounds, not the window's; where it holds
// cells of both sides, the window's; the learning takes the window's own
// (learnedSides). For phones on the street the window is surer of the
// store than the whole grid is.
// Resides under a prior that makes the coarse grid sure of the street
// takes the whole grid's fix there.
func TestWindowSidesFromCoarse(t *testing.T) {
	m := testSite(t)
	bs, truthIn := sideWorld(m, 600, 0, 4, 7)
	s := NewSolver(m)
	areas := s.SideAreas()
	street := Sides{SideOther: 0.01, SideStore: 0.01, SideOutside: 0.98}
	var stood, differ, flipped, both int
	var winIn, coarseIn float64
	var nOut int
	for i, b := range bs {
		var post Sides
		if _, ok := s.LocateSides(b, &areas, &post); !ok || !s.winStood {
			continue
		}
		stood++
		var wpost, cpost Sides
		g := s.grid
		s.post.choose(s, &areas, &wpost, false)
		s.grid = s.coarse
		s.cpost.choose(s, &areas, &cpost, false)
		s.grid = g
		want := cpost
		if s.post.bestC[SideStore] >= 0 && s.post.bestC[SideOutside] >= 0 {
			want = wpost
			both++
		}
		if post != want {
			t.Fatalf("burst %d: sides %v, want %v (the coarse grid's %v, the window's %v)", i, post, want, cpost, wpost)
		}
		if l := *s.learnedSides(&post); l != wpost {
			t.Fatalf("burst %d: learned sides %v, want the window's %v", i, l, wpost)
		}
		if math.Abs(wpost[SideStore]-cpost[SideStore]) > 0.05 {
			differ++
		}
		if !truthIn[i] {
			nOut++
			winIn += wpost[SideStore]
			coarseIn += cpost[SideStore]
		}
		var rpost Sides
		f, ok := s.Resides(&street, &rpost)
		if !ok {
			t.Fatalf("burst %d: Resides after a window fix failed", i)
		}
		if !s.winStood {
			flipped++
			if bestSide(&rpost) == bestSide(&wpost) || s.SideOf(f.X, f.Y) != bestSide(&rpost) {
				t.Errorf("burst %d: Resides left the window (%v) for the whole grid's %v at (%.1f, %.1f)", i, wpost, rpost, f.X, f.Y)
			}
		}
	}
	if stood < 100 || differ < 10 || nOut < 10 || flipped == 0 || both == 0 || both == stood {
		t.Fatalf("window fixes that stood %d, sides differing %d, of phones outside %d, left under the street's prior %d: too few to test", stood, differ, nOut, flipped)
	}
	if winIn/float64(nOut) <= coarseIn/float64(nOut) {
		t.Errorf("phones outside, window fixes: mean store side %.3f by the window, %.3f by the coarse grid: want the window surer",
			winIn/float64(nOut), coarseIn/float64(nOut))
	}
	t.Logf("window fixes that stood %d (holding both sides %d; sides differing by 0.05: %d); phones outside %d: store side %.3f by the window, %.3f by the coarse grid; left for the whole grid under the street's prior %d",
		stood, both, differ, nOut, winIn/float64(nOut), coarseIn/float64(nOut), flipped)
}

// TestLevelStandingPhone: a phone that stands in the store all day (staff
// at the till) sends a third of all bursts, with a transmit offset 5 dB
// above the others'. The store's level is the sensors': the phones' own
// offsets average out over phones, and the standing phone is one phone,
// its bursts one draw of its offset and its shadowing (renewed over
// gainDecorrS), so it moves the level by under 1.5 dB (learned per burst:
// 2.2-2.6 dB on four draws of the others; weighted, 0.8-1.1 dB). Its
// readings here are noiseless, so that its track stands still too: with 4
// dB of noise its filtered position moves 1-2 m from burst to burst, and
// the weight of its updates (learnLevel, renewed) falls to about 0.45
// instead of 0.1.
func TestLevelStandingPhone(t *testing.T) {
	m := testSite(t)
	level := func(standing bool) float64 {
		others, _ := sideWorld(m, 1400, -4, 4, 23)
		var bs []*Burst
		for i, b := range others {
			bs = append(bs, b)
			if standing && i%2 == 1 {
				s := burstAt(m, 10, 6, 0, 5-4, nil)
				s.Dev = wire.Dev(1 << 40) // one phone, one pseudonym
				bs = append(bs, s)
			}
		}
		tr := NewTracker(m, TrackerOptions{})
		for i, b := range bs {
			b.T = int64(i)*15_000 + 1 // a burst every 15 s
			tr.Add(b)
			tr.Expire(b.T)
		}
		return tr.Level()
	}
	without, with := level(false), level(true)
	if math.Abs(with-without) > 1.5 {
		t.Errorf("a standing phone 5 dB loud moved the level from %.2f to %.2f dB", without, with)
	}
	t.Logf("level %.2f dB without the standing phone, %.2f with it", without, with)
}
