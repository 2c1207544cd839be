package locate

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

func TestTrackerLinksRandomisedPseudonyms(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{})
	rng := rand.New(rand.NewPCG(5, 6))
	// Phone A stands at (5, 5) and changes its MAC every 3 bursts, its
	// sequence numbers continuing; phone B, another model, stands at
	// (15, 8) with a fixed MAC.
	tracksA := map[string]bool{}
	seq := 100
	var devA wire.Dev = 1000
	for i := 0; i < 12; i++ {
		if i%3 == 0 {
			devA++
		}
		b := burstAt(m, 5, 5, 4, 0, rng)
		b.T, b.Dev, b.Rand, b.FP = int64(i)*30000+1, devA, true, "aaaa0001"
		b.SeqFirst, b.SeqLast = seq, seq+5
		seq += 20
		p := tr.Add(b)
		tracksA[p.Track] = true
		if p.T != b.T || p.Dev != devA || p.N != 6 || p.Zone != "" {
			t.Fatalf("position %+v", p)
		}
		c := burstAt(m, 15, 8, 4, 0, rng)
		c.T, c.Dev, c.FP, c.SeqFirst, c.SeqLast = int64(i)*30000+10, 7, "bbbb0002", i*10, i*10+3
		if q := tr.Add(c); q.Track != "k2" && i > 0 {
			t.Errorf("fixed MAC on track %s", q.Track)
		}
	}
	if len(tracksA) != 1 || !tracksA["k1"] {
		t.Errorf("phone A on tracks %v, want k1 only", tracksA)
	}
	if tr.Len() != 2 {
		t.Errorf("Len = %d", tr.Len())
	}
	tr.Expire(12*30000 + int64(16*time.Minute/time.Millisecond))
	if tr.Len() != 0 {
		t.Errorf("after expiry Len = %d", tr.Len())
	}
	// The fixed MAC comes back: its old name.
	c := burstAt(m, 15, 8, 4, 0, rng)
	c.T, c.Dev, c.SeqFirst, c.SeqLast = 2e6, 7, -1, -1
	if q := tr.Add(c); q.Track != "k2" {
		t.Errorf("returning fixed MAC on %s, want k2", q.Track)
	}
}

func TestTrackerKeepsApartDistantPhones(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{})
	rng := rand.New(rand.NewPCG(7, 8))
	// Same model, both randomising; sequence numbers reset on each MAC; one
	// in the back left corner, the other on the street at the right, their
	// pseudonyms alternate in time.
	seen := map[string]int{}
	for i := 0; i < 10; i++ {
		a := burstAt(m, 2, 10, 3, 0, rng)
		a.T, a.Dev, a.Rand, a.FP, a.SeqFirst, a.SeqLast = int64(i)*20000, wire.Dev(100+i), true, "cccc", 0, 4
		pa := tr.Add(a)
		b := burstAt(m, 19, -4, 3, 0, rng)
		b.T, b.Dev, b.Rand, b.FP, b.SeqFirst, b.SeqLast = int64(i)*20000+3000, wire.Dev(200+i), true, "cccc", 0, 4
		pb := tr.Add(b)
		if pa.Track == pb.Track {
			t.Fatalf("burst %d: both phones on %s", i, pa.Track)
		}
		seen[pa.Track]++
	}
	t.Logf("phone A (no sequence continuity) over %d tracks", len(seen))
}

func TestTrackerNoLink(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{NoLink: true})
	rng := rand.New(rand.NewPCG(9, 9))
	names := map[string]bool{}
	for i := 0; i < 4; i++ {
		b := burstAt(m, 5, 5, 3, 0, rng)
		b.T, b.Dev, b.Rand, b.FP, b.SeqFirst, b.SeqLast = int64(i)*20000, wire.Dev(i+1), true, "dd", i*10, i*10+3
		names[tr.Add(b).Track] = true
	}
	if len(names) != 4 {
		t.Errorf("NoLink: %d tracks, want 4", len(names))
	}
}

// BenchmarkTrackerMemory reports the heap held per live tracked device:
// each iteration adds one burst of a new device (three in four randomised).
func BenchmarkTrackerMemory(b *testing.B) {
	m := testSite(b)
	rng := rand.New(rand.NewPCG(1, 1))
	bursts := make([]*Burst, 64)
	for i := range bursts {
		bursts[i] = burstAt(m, 20*rng.Float64(), 12*rng.Float64(), 4, 0, rng)
	}
	m.PointFix = true // the fix's cost does not matter here
	tr := NewTracker(m, TrackerOptions{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n := 0
	for b.Loop() {
		bu := bursts[n%len(bursts)]
		bu.T, bu.Dev, bu.Rand, bu.FP = int64(n), wire.Dev(n+1), n%4 != 0, "" // nothing to link
		tr.Add(bu)
		n++
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if tr.Len() != n {
		b.Fatalf("%d live tracks for %d devices", tr.Len(), n)
	}
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "B/device")
}

// BenchmarkTrackerAdd measures one burst through the tracker (linking,
// locating, filtering) with 6 sensors.
func BenchmarkTrackerAdd(b *testing.B) {
	m := testSite(b)
	rng := rand.New(rand.NewPCG(2, 2))
	bursts := make([]*Burst, 256)
	for i := range bursts {
		bursts[i] = burstAt(m, -3+26*rng.Float64(), -6+19*rng.Float64(), 4, 3*rng.NormFloat64(), rng)
		bursts[i].Dev = wire.Dev(i%50 + 1)
		bursts[i].FP = "abcd0123"
	}
	tr := NewTracker(m, TrackerOptions{})
	i := 0
	for b.Loop() {
		bu := bursts[i%len(bursts)]
		bu.T = int64(i) * 300
		tr.Add(bu)
		i++
	}
}
