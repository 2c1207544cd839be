package sim

import (
	"fmt"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// mergeDiag describes TestLinkDecisions' merges (deferred links,
// locate/defer.go) by what the tracker could have known when it made them,
// right and wrong by the truth: the new track's evidence for the old one
// at its birth, how long the old one had been silent and the new one had
// lived, how deep in the store the old track's last fix and the new one's
// first lay, whether other new tracks had the old one among their
// candidates (rival claims on it, one of them perhaps its own phone's
// leaving), and for the wrong ones where the old track's phone had gone
// and whether the new track's phone was a newcomer.
type mergeDiag struct {
	bursts   map[string][]trackBurst       // each track's bursts (TestLinkDecisions')
	fp       map[string]string             // each track's fingerprint
	bornLLR  map[string]map[string]float64 // a new track's loose candidates at birth: their evidence with the side prior
	first    map[string]int64              // each person's first burst
	firstFix map[string][2]float64         // each track's first fix
	lastFix  map[string][2]float64         // each track's last fix
}

func newMergeDiag(bursts map[string][]trackBurst) *mergeDiag {
	return &mergeDiag{bursts: bursts, fp: map[string]string{}, bornLLR: map[string]map[string]float64{},
		first: map[string]int64{}, firstFix: map[string][2]float64{}, lastFix: map[string][2]float64{}}
}

// firstSeen notes person p's burst at t.
func (d *mergeDiag) firstSeen(p string, t int64) {
	if _, ok := d.first[p]; !ok {
		d.first[p] = t
	}
}

// add notes a position of the tracker; born when it began a track, with
// the candidates its link weighed.
func (d *mergeDiag) add(pos wire.Position, fp string, born bool, cands []locate.LinkCandidate) {
	if born {
		if _, ok := d.bornLLR[pos.Track]; !ok {
			m := map[string]float64{}
			for _, x := range cands {
				if x.Stage == "loose" {
					m[x.Track] = x.LLR + x.Side
				}
			}
			d.bornLLR[pos.Track] = m
		}
	}
	if _, ok := d.fp[pos.Track]; !ok {
		d.fp[pos.Track] = fp
		d.firstFix[pos.Track] = [2]float64{pos.X, pos.Y}
	}
	d.lastFix[pos.Track] = [2]float64{pos.X, pos.Y}
}

// count adds merge mg, right or wrong (k), to the counts c; lp is the
// person of the old track's last burst, nextScan as in TestLinkDecisions.
func (d *mergeDiag) count(c map[string]int, mg locate.Merge, k, lp string, nextScan func(string, int64) int64) {
	ob, fb := d.bursts[mg.Into], d.bursts[mg.From]
	if len(ob) == 0 || len(fb) == 0 {
		return
	}
	last := ob[len(ob)-1].t
	add := func(s string) { c["  merge "+k+": "+s]++ }
	if l, ok := d.bornLLR[mg.From][mg.Into]; ok {
		add("evidence at birth " + llrBucket(l))
	} else {
		add("evidence at birth unknown")
	}
	add("old track silent " + secBucket((mg.T-last)/1000, 90, 120, 150))
	add("new track's span " + secBucket((fb[len(fb)-1].t-fb[0].t)/1000, 30, 60, 90))
	add(fmt.Sprintf("old track's last fix %s deep, new track's first %s", depthBucket(d.lastFix[mg.Into][1]), depthBucket(d.firstFix[mg.From][1])))
	add(d.rivals(mg, last, lp))
	if k == "wrong" {
		newcomer := "the new track's phone had a track before"
		if d.first[fb[0].p] >= fb[0].t {
			newcomer = "the new track's phone a newcomer"
		}
		where := "the old phone silent till the merge"
		if n := nextScan(lp, last); n >= 0 && last+n <= mg.T {
			where = "the old phone sent elsewhere before the merge"
		} else if n < 0 || last+n > mg.T+10*60_000 {
			where = "the old phone gone (nothing within 10 min after the merge)"
		}
		add(where + "; " + newcomer)
	}
}

// rivals says whether other tracks born after the old track's last burst
// (at last) and before the merge had the old track among their loose
// candidates at birth: rival claims on it; whether one was born earlier
// than the merging track or had more evidence, whether one began on the
// street with the old track its likeliest candidate (a leaving), and
// whether one was the old phone's (lp, by the truth).
func (d *mergeDiag) rivals(mg locate.Merge, last int64, lp string) string {
	fb := d.bursts[mg.From]
	nl, ok := d.bornLLR[mg.From][mg.Into]
	if !ok {
		return "rivals: the new track's evidence unknown"
	}
	n, earlier, better, leaving, own := 0, false, false, false, false
	for k, tb := range d.bursts {
		if k == mg.From || k == mg.Into || len(tb) == 0 || tb[0].t <= last || tb[0].t > mg.T {
			continue
		}
		m := d.bornLLR[k]
		l, ok := m[mg.Into]
		if !ok {
			continue
		}
		n++
		earlier = earlier || tb[0].t < fb[0].t
		better = better || l > nl
		own = own || tb[0].p == lp
		if !tb[0].in {
			top := true
			for _, x := range m {
				top = top && x <= l
			}
			leaving = leaving || top
		}
	}
	if n == 0 {
		return "rivals: none"
	}
	return fmt.Sprintf("rivals: %s; one born earlier %v, with more evidence %v, a street track's likeliest %v, the old phone's %v", nBucket(n), earlier, better, leaving, own)
}

// secBucket names a duration in s by the bounds b (ascending).
func secBucket(s int64, b ...int64) string {
	if s < b[0] {
		return fmt.Sprintf("< %d s", b[0])
	}
	for i := 1; i < len(b); i++ {
		if s < b[i] {
			return fmt.Sprintf("%d-%d s", b[i-1], b[i])
		}
	}
	return fmt.Sprintf(">= %d s", b[len(b)-1])
}

// llrBucket names a link's evidence (log-likelihood ratio) in bins.
func llrBucket(l float64) string {
	for _, b := range []float64{-40, -20, -10, -5, -3, 0, 3.5} {
		if l < b {
			return fmt.Sprintf("< %g", b)
		}
	}
	return ">= 3.5"
}

// depthBucket names a fix's depth into the store (y: the simulated shops'
// front lies on y = 0).
func depthBucket(y float64) string {
	switch {
	case y < 0:
		return "on the street"
	case y < 2:
		return "0-2 m"
	case y < 4:
		return "2-4 m"
	case y < 8:
		return "4-8 m"
	}
	return "8+ m"
}
