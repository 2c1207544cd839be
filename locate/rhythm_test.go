package locate

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/passant/passant/wire"
)

// teachRhythm gives tr 30 bursts of a fixed-MAC phone of fingerprint fp,
// 20 to 30 s apart, far on the street; it returns the time after them.
func teachRhythm(m *Model, tr *Tracker, fp string, rng *rand.Rand) int64 {
	var at int64 = 1
	for i := 0; i < 30; i++ {
		b := burstAt(m, 0, -6, 3, 0, rng)
		b.T, b.Dev, b.FP = at, 99, fp
		tr.Add(b)
		at += 20000 + rng.Int64N(10000)
	}
	return at
}

func TestRhythmLearned(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{})
	if !tr.rhythmFits("ee", 10000) || !tr.rhythmFits("ee", 150000) || tr.rhythmFits("ee", 190000) {
		t.Error("unknown rhythm: want the NoSeqWindow (3 min)")
	}
	teachRhythm(m, tr, "ee", rand.New(rand.NewPCG(1, 2)))
	r := tr.rhythm["ee"]
	if r == nil || r.lo < 19 || r.lo > 22 || r.hi < 28 || r.hi > 31 {
		t.Fatalf("rhythm %+v, want about 20..30 s", r)
	}
	for _, c := range []struct {
		ms   int64
		fits bool
	}{{10000, false}, {19000, true}, {25000, true}, {33000, true}, {40000, false}} {
		if got := tr.rhythmFits("ee", c.ms); got != c.fits {
			t.Errorf("rhythmFits(%d ms) = %v", c.ms, got)
		}
	}
	if tr.rhythmAbove("ee", 10000) || !tr.rhythmAbove("ee", 60000) || !tr.rhythmAbove("other", 1000) {
		t.Error("rhythmAbove")
	}
}

// Two phones of one model stand 4 m apart in the store, a new MAC and
// sequence number with every burst, at different transmit powers: the
// signal tells them apart, where "the only candidate nearby" cannot.
func TestTrackerLinksBySignal(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{})
	rng := rand.New(rand.NewPCG(3, 4))
	at := teachRhythm(m, tr, "gg", rng)
	byPhone := [2]map[string]bool{{}, {}}
	byTrack := map[string]map[int]bool{}
	var dev wire.Dev = 500
	for i := 0; i < 12; i++ {
		for k, p := range [][3]float64{{6, 6, 0}, {10, 6, 7}} {
			b := burstAt(m, p[0], p[1], 1.5, p[2], rng)
			dev++
			b.T = at + int64(i)*25000 + int64(k)*9000
			b.Dev, b.Rand, b.FP = dev, true, "gg"
			b.SeqFirst, b.SeqLast = rng.IntN(4096), -1
			pos := tr.Add(b)
			byPhone[k][pos.Track] = true
			if byTrack[pos.Track] == nil {
				byTrack[pos.Track] = map[int]bool{}
			}
			byTrack[pos.Track][k] = true
		}
	}
	for n, ps := range byTrack {
		if len(ps) > 1 {
			t.Errorf("track %s holds both phones", n)
		}
	}
	for k := range byPhone {
		if len(byPhone[k]) > 2 {
			t.Errorf("phone %d split over %d tracks", k, len(byPhone[k]))
		}
	}
	t.Logf("tracks per phone: %d, %d", len(byPhone[0]), len(byPhone[1]))
}

// A new track that may continue a silent one takes its name once the old
// one has been silent for longer than its model ever waits.
func TestTrackerDeferredLink(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{})
	rng := rand.New(rand.NewPCG(5, 6))
	at := teachRhythm(m, tr, "hh", rng)
	a := burstAt(m, 5, 6, 1.5, 0, rng)
	a.T, a.Dev, a.Rand, a.FP = at, 601, true, "hh"
	pa := tr.Add(a)
	// Far too soon for the rhythm (5 s): no link, a track of its own.
	b := burstAt(m, 6, 6, 1.5, 0, rng)
	b.T, b.Dev, b.Rand, b.FP = at+5000, 602, true, "hh"
	pb := tr.Add(b)
	if pb.Track == pa.Track {
		t.Fatalf("linked after 5 s")
	}
	nb := tr.entryTrack(602)
	old := tr.entryTrack(601)
	// Say the link had found a as a weak candidate.
	tr.byNum[nb].heirs[0], tr.byNum[nb].born = old, b.T
	n := tr.Len()
	// b's pseudonym again, 20 s on: a is silent for 25 s, within its
	// rhythm: still apart.
	c := burstAt(m, 6, 6, 1.5, 0, rng)
	c.T, c.Dev, c.Rand, c.FP = at+25000, 602, true, "hh"
	if p := tr.Add(c); p.Track != pb.Track || tr.LinkedBy() != LinkNone {
		t.Fatalf("at 25 s on %s (%q), want %s", p.Track, tr.LinkedBy(), pb.Track)
	}
	// 50 s on: a is overdue, b's phone was a's.
	c.T = at + 50000
	if p := tr.Add(c); p.Track != pa.Track || tr.LinkedBy() != LinkLater {
		t.Fatalf("at 50 s on %s (%q), want %s", p.Track, tr.LinkedBy(), pa.Track)
	}
	if tr.Len() != n-1 || tr.byNum[nb] != nil {
		t.Errorf("Len %d, want %d", tr.Len(), n-1)
	}
	if ms := tr.Merges(); len(ms) != 1 || ms[0].From != pb.Track || ms[0].Into != pa.Track || ms[0].T != at+50000 {
		t.Errorf("merges %+v, want %s into %s", ms, pb.Track, pa.Track)
	}
	if ms := tr.Merges(); len(ms) != 0 {
		t.Errorf("merges again: %+v", ms)
	}
	c.T = at + 70000
	if p := tr.Add(c); p.Track != pa.Track {
		t.Errorf("later on %s", p.Track)
	}
}

// The rhythms learned stay bounded when fingerprints keep changing.
func TestRhythmBounded(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{})
	for i := 0; i < 3*rhythmFPs; i++ {
		tr.learnRhythm("fp"+strconv.Itoa(i), 20000)
	}
	if len(tr.rhythm) > rhythmFPs {
		t.Fatalf("%d rhythms kept", len(tr.rhythm))
	}
	for i := 0; i < rhythmMin; i++ {
		tr.learnRhythm("steady", 20000)
	}
	if r := tr.rhythm["steady"]; r == nil || r.n != rhythmMin {
		t.Errorf("a new fingerprint not learned when full: %+v", r)
	}
}

// A new track that sends nothing more is still merged into the silent
// track it continues, once that one is overdue (at Expire).
func TestTrackerDeferredLinkAtExpire(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{})
	rng := rand.New(rand.NewPCG(7, 8))
	at := teachRhythm(m, tr, "hh", rng)
	a := burstAt(m, 5, 6, 1.5, 0, rng)
	a.T, a.Dev, a.Rand, a.FP = at, 701, true, "hh"
	pa := tr.Add(a)
	b := burstAt(m, 6, 6, 1.5, 0, rng)
	b.T, b.Dev, b.Rand, b.FP = at+5000, 702, true, "hh"
	pb := tr.Add(b)
	nb := tr.entryTrack(702)
	tr.byNum[nb].heirs[0], tr.byNum[nb].born = tr.entryTrack(701), b.T
	tr.Expire(at + 25000)
	if ms := tr.Merges(); len(ms) != 0 {
		t.Fatalf("merged while a fits its rhythm: %+v", ms)
	}
	tr.Expire(at + 60000)
	ms := tr.Merges()
	if len(ms) != 1 || ms[0].From != pb.Track || ms[0].Into != pa.Track {
		t.Fatalf("merges %+v, want %s into %s", ms, pb.Track, pa.Track)
	}
	// b's pseudonym now names a's track.
	c := burstAt(m, 6, 6, 1.5, 0, rng)
	c.T, c.Dev, c.Rand, c.FP = at+65000, 702, true, "hh"
	if p := tr.Add(c); p.Track != pa.Track {
		t.Errorf("b's pseudonym on %s, want %s", p.Track, pa.Track)
	}
	// Past the window, a pending link is dropped.
	d := burstAt(m, 6, 6, 1.5, 0, rng)
	d.T, d.Dev, d.Rand, d.FP = at+70000, 703, true, "hh"
	tr.Add(d)
	nd := tr.entryTrack(703)
	tr.byNum[nd].heirs[0], tr.byNum[nd].born = tr.entryTrack(702), d.T-1
	tr.byNum[tr.entryTrack(702)].last = d.T - 2
	tr.Expire(d.T + deferWindow.Milliseconds() + 1000)
	if ms := tr.Merges(); len(ms) != 0 || tr.byNum[nd] != nil && tr.byNum[nd].heirs[0] != 0 {
		t.Errorf("merged past the window: %+v", ms)
	}
}

// learnFade separates the fading of a scan's addresses into the part that
// shrinks with the frames (b per frame) and the channels' part (a): from
// 20,000 pairs drawn with a = 9 and b = 6.25 dB² (2.5 dB per frame, as
// the simulator's), over 1-12 and 1-4 frames, both come back within 20%;
// with no pairs the prior (a = 0, b = fadeDB²) holds.
func TestLearnFadeSeparatesChannels(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{})
	if a, b := tr.Fading(); a != 0 || math.Abs(b-fadeDB) > 1e-9 {
		t.Fatalf("prior: channels %.2f dB, %.2f dB per frame; want 0, %.1f", a, b, fadeDB)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const wantA, wantB = 9.0, 6.25
	for i := 0; i < 20000; i++ {
		n0, n1 := 1+rng.IntN(12), 1+rng.IntN(4)
		x := 1/float64(n0) + 1/float64(n1)
		e := rng.NormFloat64() * math.Sqrt(wantA+wantB*x)
		tr.learnFade(x, math.Min(e*e, 9*(tr.fadeA+tr.fadeB*x)))
	}
	if math.Abs(tr.fadeA-wantA) > 0.2*wantA || math.Abs(tr.fadeB-wantB) > 0.2*wantB {
		t.Errorf("learned a %.2f, b %.2f dB²; want %.2f, %.2f", tr.fadeA, tr.fadeB, wantA, wantB)
	}
	t.Logf("learned a %.2f, b %.2f dB²", tr.fadeA, tr.fadeB)
}
