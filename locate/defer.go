package locate

import "time"

// Deferred links. A new pseudonym that no rule links starts a track of its
// own; but when a silent track of its fingerprint was a plausible (if not
// convincing) candidate, the new track remembers it. Should that old track
// then stay silent for longer than its model ever waits between bursts
// while the new one goes on, its phone has most likely become the new
// pseudonym: from the new track's next burst on, its positions carry the
// old track's name (the positions already given keep theirs).

const (
	// minDeferLLR is the least evidence for a deferred link.
	minDeferLLR = -3.0
	// deferSide: both tracks must be in the store with this probability.
	deferSide = 0.5
	// deferWindow is how long after its first burst a new track may still
	// be given the name of the one it continues.
	deferWindow = 3 * time.Minute
)

// pend remembers, for a new track tr of a randomised pseudonym, the best
// candidate its link found, if any.
func (t *Tracker) pend(tr *track, b *Burst) {
	if !b.Rand || t.opt.NoLink || t.deferTo == nil {
		return
	}
	tr.heirOf = t.deferTo.num
	tr.born = b.T
	tr.pdevs = append(tr.pdevs[:0], b.Dev)
}

// settle returns the track that b, assigned to tr, continues: tr itself,
// or the silent track tr took over now that its silence has outlasted its
// rhythm.
func (t *Tracker) settle(tr *track, b *Burst) *track {
	if tr.heirOf == 0 || b.T <= tr.born {
		return tr
	}
	old := t.byNum[tr.heirOf]
	if old == nil || old.last >= tr.born || b.T-tr.born > deferWindow.Milliseconds() {
		tr.heirOf, tr.pdevs = 0, nil
		return tr
	}
	if !t.overdue(old, b.T) || old.side[SideStore] < deferSide || tr.side[SideStore] < deferSide {
		return tr
	}
	// old's phone is tr's: old takes tr's state and pseudonyms.
	num := old.num
	*old = *tr
	old.num, old.heirOf, old.pdevs = num, 0, nil
	for _, d := range tr.pdevs {
		if e, ok := t.devs[d]; ok && e.track == tr.num {
			e.track = num
			t.devs[d] = e
		}
	}
	t.drop(tr)
	t.linkedBy = LinkLater
	return old
}

// overdue says whether track tr, silent since tr.last, has been silent at
// now for longer than its fingerprint's rhythm allows.
func (t *Tracker) overdue(tr *track, now int64) bool {
	r := t.rhythm[tr.fp]
	if r == nil || r.n < rhythmMin {
		return false
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
