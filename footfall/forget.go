package footfall

import "slices"

// Forget drops everything counted for the named tracks: their open and
// closed visits and their days (the erasure of a person; passant forget).
// Figures already reported for those tracks' hours are not recomputed.
func (c *Counter) Forget(tracks map[string]bool) {
	for t := range tracks {
		delete(c.tracks, t)
		delete(c.open, t)
	}
	c.closed = slices.DeleteFunc(c.closed, func(v Visit) bool { return tracks[v.Track] })
	c.oldDays = slices.DeleteFunc(c.oldDays, func(d dayState) bool { return tracks[d.Track] })
}
