package sim

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// TestLinkDecisions counts the tracker's link decisions for new randomised
// pseudonyms by the simulator's truth (docs/locate.md, "Per-scan linking:
// a joint assignment" and "Per-scan linking: the evidence"): for each new pseudonym of a phone in the store
// whose person had a track before, whether the rule that linked it
// (scan, seq, loose, back, later) chose the track of the person's last
// burst or another person's, and of the new tracks whether a deferred link
// merged them later into the person's track; newcomers (no earlier track)
// taken by another's track; and the merges, right or wrong by the persons
// of the two tracks' last bursts. PASSANT_DECISIONS=<hours> to run;
// PASSANT_DECISIONS_SEED (default 1); PASSANT_DECISIONS_DETAIL=<dir> writes
// each loose link in the store (loose-<layout>-<seed>.txt there): right or
// wrong, how far the person walked since their last burst (truth), and the
// winner's evidence split into its signal and position terms and side
// prior, beside the right track's when the link was wrong. It fails when
// more than 12% of a shop's counted decisions are wrong (about 4-9% on
// main at 3 h).
func TestLinkDecisions(t *testing.T) {
	h, seed := diagRun(t, "PASSANT_DECISIONS", "count the link decisions")
	all := map[string]int{}
	var sum strings.Builder
	for _, layout := range Layouts() {
		c, err := linkDecisions(layout, uint64(seed), h)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sum, "%s: right %d, wrong %d (loose right %d, wrong %d; new merged %d, split %d; merges right %d, wrong %d)\n",
			layout, c["right"], c["wrong"], c["store loose right"], c["store loose wrong"],
			c["store new merged later"], c["store new left split"], c["merge right"], c["merge wrong"])
		for k, n := range c {
			all[k] += n
		}
		if c["right"] == 0 || float64(c["wrong"]) > 0.12*float64(c["right"]+c["wrong"]) {
			t.Errorf("%s: %d right, %d wrong decisions", layout, c["right"], c["wrong"])
		}
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&sum, "%6d  %s\n", all[k], k)
	}
	t.Log("\n" + sum.String())
}

func linkDecisions(layout string, seed uint64, hours float64) (map[string]int, error) {
	shop, batches, truth, err := diagShop(layout, seed, hours)
	if err != nil {
		return nil, err
	}
	site := shop.Site()
	m, err := locate.NewModel(site)
	if err != nil {
		return nil, err
	}
	match := truth.matcher()
	// each person's burst times, for "did the winner's own phone scan
	// soon after"
	times := map[string][]int64{}
	for _, b := range truth.Bursts {
		times[b.Person] = append(times[b.Person], b.T)
	}
	for _, ts := range times {
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	}
	nextScan := func(p string, after int64) int64 {
		ts := times[p]
		i := sort.Search(len(ts), func(i int) bool { return ts[i] > after })
		if i == len(ts) {
			return -1
		}
		return ts[i] - after
	}
	var cands, moves []locate.LinkCandidate
	tracker := locate.NewTracker(m, locate.TrackerOptions{
		LinkTrace: func(c locate.LinkCandidate) {
			if c.Stage == "review" {
				moves = append(moves, c)
				return
			}
			cands = append(cands, c)
		},
	})
	// a loose link's decision on its track, for a review that moves the
	// scan later (locate/review.go)
	type decided struct {
		key, p, right, prev string
		cls                 string
	}
	onTrack := map[string]decided{}
	alias := map[string]string{}
	final := mergedInto(alias)
	c := map[string]int{}
	personLast := map[string]string{} // the track of the person's last burst
	lastPerson := map[string]string{} // the person of the track's last burst
	seenDev := map[wire.Dev]bool{}
	lastPos := map[string][2]float64{}
	dir := os.Getenv("PASSANT_DECISIONS_DETAIL")
	detail := dir != ""
	var det []string
	defer func() {
		if detail {
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("loose-%s-%d.txt", layout, seed)), []byte(strings.Join(det, "\n")+"\n"), 0o644)
		}
	}()
	type pending struct {
		track, right, why string
		born              int64
		in, rightIn       bool
		wasIn             bool // the person's last burst in the store, by the truth
	}
	var news []pending
	type win struct {
		t     int64
		track string
	}
	wins := map[string]win{} // a person whose track a wrong loose link took
	// for the merges and the splits left: a new track's candidates when
	// it began (the bar's n), each track's bursts (time, side), and the
	// merges' times by track
	bornN := map[string]int{}
	bursts := map[string][]trackBurst{}
	md := newMergeDiag(bursts)
	mergedAt, intoAt := map[string]int64{}, map[string][]int64{}
	merges := func() {
		for _, mg := range tracker.Merges() {
			alias[mg.From] = mg.Into
			mergedAt[mg.From] = mg.T
			intoAt[mg.Into] = append(intoAt[mg.Into], mg.T)
			if lp, li := lastPerson[mg.From], lastPerson[mg.Into]; lp != "" && li != "" {
				k := "right"
				if lp != li {
					k = "wrong"
				}
				c["merge "+k]++
				c[fmt.Sprintf("  merge %s: the new track had %s candidates", k, nBucket(bornN[mg.From]))]++
				md.count(c, mg, k, lp, nextScan)
			}
		}
	}
	reviews := func() {
		for _, mv := range moves {
			d, ok := onTrack[mv.Track]
			if !ok {
				continue // not a counted decision
			}
			delete(onTrack, mv.Track)
			c[d.key]--
			k := "store review right"
			if lastPerson[mv.Into] != d.p && final(d.right) != final(mv.Into) {
				k = "store review wrong"
			}
			c[k]++
			c[fmt.Sprintf("  review: %s -> %s (%s)", strings.TrimPrefix(d.key, "store "), strings.TrimPrefix(k, "store "), d.cls)]++
			lastPerson[mv.Track] = d.prev
			lastPerson[mv.Into] = d.p
			personLast[d.p] = mv.Into
		}
		moves = moves[:0]
	}
	for _, b := range Bursts(m, site, batches) {
		cands = cands[:0]
		newDev := !seenDev[b.Dev]
		seenDev[b.Dev] = true
		pos := tracker.Add(b)
		how := tracker.LinkedBy()
		reviews()
		merges()
		tracker.Expire(b.T)
		reviews()
		merges()
		if newDev && how == locate.LinkLoose {
			delete(onTrack, pos.Track) // a review moves this scan, if any
		}
		bt := match(b.Dev, b.T)
		if bt == nil {
			continue
		}
		p := bt.Person
		md.firstSeen(p, b.T)
		if w, ok := wins[p]; ok && newDev && b.T-w.t > 1000 {
			delete(wins, p)
			k := "new track"
			switch {
			case final(pos.Track) == final(w.track):
				k = "its own track back (" + how + ")"
			case how != locate.LinkNone:
				k = "another track (" + how + ")"
			}
			dt := "<20 s"
			if b.T-w.t > 20000 {
				dt = ">20 s"
			}
			c["  wrong loose: winner's next scan "+dt+" went to "+k]++
		}
		if newDev && b.Rand && bt.Y >= 0 && bt.Class != Passerby {
			right, had := personLast[p]
			switch {
			case !had && how != locate.LinkNone && how != locate.LinkLater:
				c["store newcomer taken by "+how]++
			case !had:
			case how == locate.LinkNone:
				rb := bursts[right]
				news = append(news, pending{pos.Track, right, whyNot(cands, right, false, how),
					b.T, pos.PStore >= 0.5, len(rb) > 0 && rb[len(rb)-1].in, lastPos[p][1] >= 0})
			case how == locate.LinkLater:
				// counted with the merges
			default:
				if detail && how == locate.LinkLoose {
					ok := lastPerson[pos.Track] == p || final(right) == final(pos.Track)
					var w, r *locate.LinkCandidate
					for i := range cands {
						if cands[i].Track == pos.Track && cands[i].Stage == "loose" {
							w = &cands[i]
						}
						if cands[i].Track == right {
							r = &cands[i]
						}
					}
					lp := lastPos[p]
					walked := math.Hypot(bt.X-lp[0], bt.Y-lp[1])
					if w != nil {
						wp := posLLR(w.D, w.Sig2)
						k := "right"
						if !ok {
							k = "wrong"
						}
						det = append(det, fmt.Sprintf("%s walked %5.1f  win sig %6.1f pos %6.1f side %4.1f d %5.1f", k, walked, w.LLR-wp, wp, w.Side, w.D))
						if !ok && r != nil {
							rp := posLLR(r.D, r.Sig2)
							det[len(det)-1] += fmt.Sprintf("  | right %s sig %6.1f pos %6.1f side %4.1f d %5.1f own %v dt %5.1f", r.Stage, r.LLR-rp, rp, r.Side, r.D, lastPerson[right] == p, r.Dt)
						}
					}
				}
				if lastPerson[pos.Track] == p || final(right) == final(pos.Track) {
					c["store "+how+" right"]++
					if how == locate.LinkLoose {
						onTrack[pos.Track] = decided{"store " + how + " right", p, right, lastPerson[pos.Track], fmt.Sprint(bt.Class)}
					}
				} else {
					c["store "+how+" wrong"]++
					if how == locate.LinkLoose {
						onTrack[pos.Track] = decided{"store " + how + " wrong", p, right, lastPerson[pos.Track], fmt.Sprint(bt.Class)}
						x := lastPerson[pos.Track]
						wins[x] = win{b.T, pos.Track}
						n := nextScan(x, b.T)
						k := "none within 60 s"
						switch {
						case n < 0 || n > 60000:
						case n <= 20000:
							k = "within 20 s"
						default:
							k = "20-60 s"
						}
						c["  wrong loose: winner's phone scans next "+k]++
					}
				}
			}
		}
		if how == locate.LinkNone && newDev && b.Rand {
			for _, x := range cands {
				if x.Stage == "end" {
					bornN[pos.Track] = x.N
				}
			}
		}
		md.add(pos, b.FP, how == locate.LinkNone && newDev && b.Rand, cands)
		bursts[pos.Track] = append(bursts[pos.Track], trackBurst{b.T, pos.PStore >= 0.5, how, p})
		lastPerson[pos.Track] = p
		lastPos[p] = [2]float64{bt.X, bt.Y}
		personLast[p] = pos.Track
	}
	for _, n := range news {
		if n.track == "" {
			continue
		}
		if final(n.track) == final(n.right) {
			c["store new merged later"]++
		} else {
			c["store new left split"]++
			c["  split: "+n.why]++
			c["  split, why no deferred link: "+splitFate(n.track, n.right, n.born, n.in, n.rightIn, n.wasIn,
				bursts[n.track], bursts[n.right], mergedAt, intoAt[n.right])]++
		}
	}
	var right, wrong int
	for k, n := range c {
		if strings.HasPrefix(k, "store ") {
			if strings.HasSuffix(k, "wrong") || strings.HasSuffix(k, "split") || strings.Contains(k, "newcomer") {
				wrong += n
			} else {
				right += n
			}
		}
	}
	c["right"], c["wrong"] = right, wrong
	return c, nil
}

// trackBurst is a burst of a track: its time and whether the tracker put
// the track in the store then (PStore at least 0.5).
type trackBurst struct {
	t   int64
	in  bool
	how string // how its pseudonym joined the track, when new
	p   string // the person, by the truth
}

// nBucket names a count of candidates: 0, 1, 2, 3, 4+.
func nBucket(n int) string {
	if n >= 4 {
		return "4+"
	}
	return fmt.Sprint(n)
}

// splitFate says why no deferred link (locate/defer.go) joined a new track
// born at born to its person's earlier track right within the 3 minutes
// it may: the right track sent again (another phone's pseudonym took it),
// another new track was merged into it, the new track was merged into
// another, or the right track stayed silent and the sides stood in the
// way (a deferred link needs both in the store): the new track's side at
// its first burst (in) and within the 3 minutes, the right track's at its
// last burst (rightIn), and the person's side then by the truth (wasIn).
func splitFate(track, right string, born int64, in, rightIn, wasIn bool,
	own, rights []trackBurst, mergedAt map[string]int64, into []int64) string {
	const window = 180_000
	if _, ok := mergedAt[track]; ok {
		return "the new track was merged into another"
	}
	for _, x := range rights {
		if x.t > born {
			if x.t-born <= window {
				who := "another phone"
				if x.p == own[0].p {
					who = "the same phone"
				}
				if x.how == "" {
					return "the right track sent again (a known pseudonym, " + who + ")"
				}
				return "the right track sent again (" + x.how + ", " + who + ")"
			}
			break
		}
	}
	for _, t := range into {
		if t > born && t-born <= window {
			return "another new track was merged into the right one"
		}
	}
	everIn := in
	for _, x := range own {
		if x.t-born <= window && x.in {
			everIn = true
		}
	}
	side := func(b bool) string {
		if b {
			return "store"
		}
		return "street"
	}
	return fmt.Sprintf("right track silent; new track %s at first, %s within 3 min; right track %s (truth: %s)",
		side(in), side(everIn), side(rightIn), side(wasIn))
}

// posLLR is sameLLR's position term (locate/rhythm.go).
func posLLR(d, sig2 float64) float64 {
	vs := sig2 + 1
	vo := 15*15 + vs
	return math.Log(vo/vs) - d*d/(2*vs) + d*d/(2*vo)
}
