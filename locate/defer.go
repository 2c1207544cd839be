package locate

import (
	"math"
	"time"
)

// Deferred links. A new pseudonym that no rule links starts a track of its
// own; but when a silent track of its fingerprint could have been its phone
// (the silence fits the model's rhythm, the phone could have walked there),
// the new track remembers the likeliest such candidate, however weak its
// signal and position evidence: a shopper walks 10 to 20 m between bursts,
// which changes the RSSI at every sensor as much as another phone would.
// Should that old track then stay silent for longer than its model ever
// waits between bursts while the new one is about, and both are in the
// store (phones come in through the door, they do not appear amid the
// shelves), its phone has most likely become the new pseudonym: the old
// track takes over the new one. From then on the phone's positions carry
// the old track's name, and the tracker reports a Merge so that whoever
// counted the new track's earlier positions (the footfall counter) counts
// them as the old track's.

// minDeferLLR is the least evidence for a deferred link: none. A floor of
// -3 (what a phone that stood still would show) kept 50 more splits in the
// four simulated shops (3 h, seed 1) for 3 fewer merged tracks of 121.
var minDeferLLR = math.Inf(-1)

const (
	// deferSide: both tracks must be in the store with this probability.
	deferSide = 0.5
	// deferWindow is how long after its first burst a new track may still
	// be given the name of the one it continues.
	deferWindow = 3 * time.Minute
)

// Merge says that track From turned out to be the phone of track Into:
// the positions given so far under From's name are Into's. T is the event
// time of the decision.
type Merge struct {
	From, Into string
	T          int64
}

// Merges returns the merges decided since the last call, in the order they
// were made. The slice is reused: use it before the next Add or Expire.
func (t *Tracker) Merges() []Merge {
	m := t.merges
	t.merges = t.merges[:0]
	return m
}

// maxHeirs is how many candidates a new track keeps for a deferred link:
// the likeliest of those in the store (a silent track's side does not
// change, and heir passes over any that is not in the store; kept among
// all candidates, street tracks that fit a little better crowded out an
// in-store one that a shopper had walked 15 m away from).
const maxHeirs = 3

// heirList holds the likeliest candidates of a link, best first.
type heirList struct {
	num [maxHeirs]int32
	llr [maxHeirs]float64
}

// add puts candidate num with log-likelihood ratio l in its place.
func (h *heirList) add(num int32, l float64) {
	for i := range h.num {
		if h.num[i] == 0 || l > h.llr[i] {
			copy(h.num[i+1:], h.num[i:maxHeirs-1])
			copy(h.llr[i+1:], h.llr[i:maxHeirs-1])
			h.num[i], h.llr[i] = num, l
			return
		}
	}
}

// pend remembers, for a new track tr of a randomised pseudonym, the best
// candidates its link found, if any.
func (t *Tracker) pend(tr *track, b *Burst) {
	if !b.Rand || t.opt.NoLink || t.heirsTo.num[0] == 0 {
		return
	}
	tr.heirs = t.heirsTo.num
	tr.born = b.T
}

// settle returns the track that b, assigned to tr, continues: tr itself,
// or the silent track tr took over now that its silence has outlasted its
// rhythm (and, in turn, the one that one took over).
func (t *Tracker) settle(tr *track, b *Burst) *track {
	if b.T <= tr.born {
		return tr
	}
	for {
		old := t.heir(tr, b.T)
		if old == nil {
			return tr
		}
		t.merge(tr, old, b.T)
		t.linkedBy = LinkLater
		tr = old
	}
}

// resolve settles, at event time now, every pending deferred link whose
// old track has outlasted its rhythm: also those of phones that sent
// nothing since their new pseudonym's first burst (they may have left).
func (t *Tracker) resolve(now int64) {
	if t.opt.NoLink {
		return
	}
	for i := 0; i < len(t.live); i++ {
		tr := t.live[i]
		if tr.heirs[0] == 0 || now <= tr.born {
			continue
		}
		if old := t.heir(tr, now); old != nil {
			t.merge(tr, old, now)
			i = -1 // the live list changed: look again (merges are rare)
		}
	}
}

// heir returns the track that tr's phone continues, decided at now, or nil
// while undecided; a pending link that can no longer be is dropped. The
// candidates are taken in order of likelihood: one that has sent again
// since tr began (another phone took it up, or its own phone came back),
// has expired or is not in the store is passed over; one that may still
// send again (not yet overdue) holds the decision, since it is likelier
// than those after it.
func (t *Tracker) heir(tr *track, now int64) *track {
	if tr.heirs[0] == 0 {
		return nil
	}
	if now-tr.born > deferWindow.Milliseconds() {
		tr.heirs = [maxHeirs]int32{}
		return nil
	}
	if tr.side[SideStore] < deferSide {
		return nil
	}
	for _, n := range tr.heirs {
		if n == 0 {
			break
		}
		old := t.byNum[n]
		if old == nil || old.last >= tr.born || old.side[SideStore] < deferSide {
			continue
		}
		if !t.overdue(old, now) {
			return nil
		}
		return old
	}
	tr.heirs = [maxHeirs]int32{}
	return nil
}

// merge hands tr's state and pseudonyms to old, which keeps its own name
// (and its own pending link, if any), and drops tr.
func (t *Tracker) merge(tr, old *track, now int64) {
	num, heirs, born := old.num, old.heirs, old.born
	*old = *tr
	old.num, old.heirs, old.born = num, heirs, born
	old.before = nil // its own past is not tr's
	for i := range t.devList {
		if e := &t.devList[i]; e.track == tr.num {
			e.track = num
		}
	}
	t.drop(tr)
	t.merges = append(t.merges, Merge{From: t.name(tr.num), Into: t.name(num), T: now})
}

// overdue says whether track tr, silent since tr.last, has been silent at
// now for longer than its fingerprint's rhythm allows (NoSeqWindow while
// the rhythm is unknown).
func (t *Tracker) overdue(tr *track, now int64) bool {
	r := t.rhythm[tr.fp]
	if r == nil || r.n < rhythmMin {
		// No rhythm learned (phones that take a new MAC for every scan):
		// overdue after the longest silence a link allows then.
		return t.opt.NoSeqWindow > 0 && now-tr.last > t.opt.NoSeqWindow.Milliseconds()
	}
	return float64(now-tr.last)/1000 > rhythmHiFrac*r.hi
}

// drop removes tr from the live tracks.
func (t *Tracker) drop(tr *track) {
	delete(t.byNum, tr.num)
	for i, x := range t.live {
		if x == tr {
			copy(t.live[i:], t.live[i+1:])
			t.live[len(t.live)-1] = nil
			t.live = t.live[:len(t.live)-1]
			return
		}
	}
}
