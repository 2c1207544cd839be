package locate

import "github.com/passant/passant/wire"

// Forget drops the pseudonyms for which gone is true from the tracker's
// memory of pseudonyms (kept for Memory, 30 days by default, for a
// non-randomised address), and their live tracks, as Expire drops a
// track: the erasure of a person.
func (t *Tracker) Forget(gone func(wire.Dev) bool) {
	nums := map[int32]bool{}
	for i := 0; i < len(t.devList); {
		if s := &t.devList[i]; gone(s.dev) {
			nums[s.track] = true
			t.forgetDev(i) // the last slot moves into i: look at i again
			continue
		}
		i++
	}
	t.dropLive(func(tr *track) bool {
		return nums[tr.num] || gone(tr.dev) || tr.txDev != 0 && gone(tr.txDev)
	})
}
