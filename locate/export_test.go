package locate

import (
	"fmt"

	"github.com/passant/passant/wire"
)

// entryTrack returns the track of pseudonym d's entry (0 when none).
func (t *Tracker) entryTrack(d wire.Dev) int32 {
	i, ok := t.devs[d]
	if !ok {
		return 0
	}
	return t.devList[i].track
}

// CheckDevs checks that devs and devList agree: each pseudonym's slot
// holds it, and every slot is some pseudonym's.
func (t *Tracker) CheckDevs() error {
	if len(t.devs) != len(t.devList) {
		return fmt.Errorf("%d pseudonyms mapped, %d slots", len(t.devs), len(t.devList))
	}
	for i, s := range t.devList {
		if j, ok := t.devs[s.dev]; !ok || int(j) != i {
			return fmt.Errorf("slot %d holds %v, mapped to %d (%v)", i, s.dev, j, ok)
		}
	}
	return nil
}

// Pseudonyms returns the pseudonyms remembered and their tracks.
func (t *Tracker) Pseudonyms() map[wire.Dev]int32 {
	m := make(map[wire.Dev]int32, len(t.devList))
	for _, s := range t.devList {
		m[s.dev] = s.track
	}
	return m
}

// NamesCached returns how many track names the tracker caches.
func (t *Tracker) NamesCached() int { return len(t.names) }
