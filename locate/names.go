package locate

import (
	"strconv"
	"strings"
)

// Track names. The tracker names track number n "k"+n. The names of the
// tracks made since the oldest live one are cached (name), so that a
// position costs no allocation; the cache is cut back to the oldest live
// track when the tracker prunes its memory of pseudonyms (pruneNames),
// which bounds it by the tracks made while one lives instead of every
// track ever made (about 50–70 kB a day on a busy site). A track older
// than the cache, one that a remembered pseudonym brought back, is named
// afresh: the same name.

// name returns the name of track number n: "k1", "k2", ...
func (t *Tracker) name(n int32) string {
	i := int(n) - int(t.namesAt)
	if i < 0 {
		return "k" + strconv.Itoa(int(n))
	}
	for i >= len(t.names) {
		t.names = append(t.names, "k"+strconv.Itoa(int(t.namesAt)+len(t.names)))
	}
	return t.names[i]
}

// pruneNames drops the cached names of the tracks made before the oldest
// live one (all of them when none lives).
func (t *Tracker) pruneNames() {
	oldest := t.next + 1
	for _, tr := range t.live {
		oldest = min(oldest, tr.num)
	}
	drop := int(oldest) - int(t.namesAt)
	if drop <= 0 {
		return
	}
	if drop >= len(t.names) {
		t.names = nil
	} else {
		t.names = append([]string(nil), t.names[drop:]...) // frees the old array
	}
	t.namesAt = oldest
}

// Remembered returns whether the tracker may still give a position the
// track of a name it gave: whether the track is live or a pseudonym it
// remembers (Memory) would bring the track back. A track it does not
// remember is gone for good: track numbers are never made again. The
// answer holds for the tracker as it is now; build it again after Expire.
func (t *Tracker) Remembered() func(name string) bool {
	nums := make(map[int32]struct{}, len(t.live)+len(t.devList))
	for _, tr := range t.live {
		nums[tr.num] = struct{}{}
	}
	for i := range t.devList {
		nums[t.devList[i].track] = struct{}{}
	}
	return func(name string) bool {
		s, ok := strings.CutPrefix(name, "k")
		n, err := strconv.ParseInt(s, 10, 32)
		if !ok || err != nil {
			return true // not a name of the tracker's: not the tracker's to drop
		}
		_, ok = nums[int32(n)]
		return ok
	}
}

// PrunedAt returns the event time at which the tracker last pruned its
// memory of pseudonyms (in Expire, at most once an hour): when tracks it
// remembered may have gone for good.
func (t *Tracker) PrunedAt() int64 { return t.pruned }
