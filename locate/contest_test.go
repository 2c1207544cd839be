package locate

import (
	"math/rand/v2"
	"testing"

	"github.com/passant/passant/wire"
)

// A shopper's phone first heard beside a standing phone of its model, 20 s
// after that one's burst, takes its track (it fits, and phones are not
// expected to appear amid the store); 7 s later the standing phone's own
// new pseudonym fits the track as it was before better than the shopper's
// did: it takes the track back, and the shopper's pseudonym leaves with a
// track of its own.
func TestTrackerContestTakesBack(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{})
	rng := rand.New(rand.NewPCG(9, 10))
	at := teachRhythm(m, tr, "kk", rng)
	// the shopper's phone differs at each sensor by its power and shadowing
	off := []float64{4, -3, 5, -4, 3, -5}
	burst := func(x, y float64, off []float64, ms int64, dev wire.Dev) *Burst {
		b := &Burst{T: ms, Dev: dev, Rand: true, FP: "kk", SeqFirst: rng.IntN(4096), SeqLast: -1}
		for i := range m.Sensors {
			b.Readings = append(b.Readings, Reading{Sensor: i, RSSI: m.Expected(i, x, y) + off[i], N: 4})
		}
		return b
	}
	none := make([]float64, len(m.Sensors))
	var staff string
	for i := 0; i < 10; i++ {
		p := tr.Add(burst(10, 6, none, at+int64(i)*25_000, wire.Dev(700+i)))
		if i > 0 && p.Track != staff {
			t.Fatalf("burst %d of the standing phone on %s, want %s", i, p.Track, staff)
		}
		staff = p.Track
	}
	last := at + 9*25_000
	p := tr.Add(burst(10.3, 6, off, last+20_000, 800))
	if p.Track != staff || tr.LinkedBy() != LinkLoose {
		t.Fatalf("the shopper's first burst on %s (%q), want it to take %s", p.Track, tr.LinkedBy(), staff)
	}
	p = tr.Add(burst(10, 6, none, last+27_000, 710))
	if p.Track != staff || tr.LinkedBy() != LinkBack {
		t.Fatalf("the standing phone's next burst on %s (%q), want %s taken back", p.Track, tr.LinkedBy(), staff)
	}
	p = tr.Add(burst(12, 7, off, last+45_000, 800))
	if p.Track == staff || tr.LinkedBy() != LinkNone {
		t.Errorf("the shopper's second burst on %s (%q), want a track of its own", p.Track, tr.LinkedBy())
	}
	p = tr.Add(burst(10, 6, none, last+52_000, 711))
	if p.Track != staff {
		t.Errorf("the standing phone's next burst on %s, want %s", p.Track, staff)
	}
}

// A standing phone that restarts its sequence number with every MAC may by
// chance continue the counter of a phone of its model walking past on the
// street (one time in 128): its own track, whose signal and place it fits,
// still wins over that sequence continuity.
func TestTrackerSequenceIsEvidence(t *testing.T) {
	m := testSite(t)
	tr := NewTracker(m, TrackerOptions{})
	rng := rand.New(rand.NewPCG(11, 12))
	at := teachRhythm(m, tr, "ss", rng)
	burst := func(x, y float64, ms int64, dev wire.Dev, seq int) *Burst {
		b := &Burst{T: ms, Dev: dev, Rand: true, FP: "ss", SeqFirst: seq, SeqLast: seq + 2}
		for i := range m.Sensors {
			b.Readings = append(b.Readings, Reading{Sensor: i, RSSI: m.Expected(i, x, y) + noise(1, rng), N: 4})
		}
		return b
	}
	var staff string
	for i := 0; i < 6; i++ {
		p := tr.Add(burst(10, 6, at+int64(i)*25_000, wire.Dev(900+i), 1000*i%4096))
		staff = p.Track
	}
	last := at + 5*25_000
	street := tr.Add(burst(4, -5, last+5_000, 950, 3000))
	p := tr.Add(burst(10, 6, last+25_000, 906, 3007))
	if p.Track != staff || p.Track == street.Track {
		t.Errorf("the standing phone on %s (%q), want %s (the street phone's is %s)", p.Track, tr.LinkedBy(), staff, street.Track)
	}
}

// TestTrackerPerScanSequenceIsChance: a fingerprint whose phones start every
// address of a scan on a fresh sequence number (iPhones) gets no sequence
// links; one never seen changing its address within a scan still does.
func TestTrackerPerScanSequenceIsChance(t *testing.T) {
	for _, perScan := range []bool{false, true} {
		m := testSite(t)
		tr := NewTracker(m, TrackerOptions{})
		rng := rand.New(rand.NewPCG(21, 22))
		at := teachRhythm(m, tr, "ps", rng)
		burst := func(x, y float64, ms int64, dev wire.Dev, seq int) *Burst {
			b := &Burst{T: ms, Dev: dev, Rand: true, FP: "ps", SeqFirst: seq, SeqLast: seq + 1}
			for i := range m.Sensors {
				b.Readings = append(b.Readings, Reading{Sensor: i, RSSI: m.Expected(i, x, y) + noise(1, rng), N: 2})
			}
			return b
		}
		dev := wire.Dev(1000)
		var last int64
		for i := 0; i < 12; i++ {
			last = at + int64(i)*25_000
			tr.Add(burst(10, 6, last, dev, rng.IntN(4000)))
			dev++
			if perScan {
				for k := int64(1); k <= 2; k++ {
					tr.Add(burst(10, 6, last+40*k, dev, rng.IntN(4000)))
					dev++
				}
			}
		}
		// another phone of the model 30 m down the street, whose first
		// sequence number happens to continue the standing phone's last
		b := burst(-10, -8, last+25_000, dev, 0)
		b.SeqFirst = (tr.live[len(tr.live)-1].seqLast + 3) % 4096
		tr.Add(b)
		if got := tr.LinkedBy(); (got == LinkSeq) == perScan {
			t.Errorf("per-scan %v: linked by %q", perScan, got)
		}
	}
}
