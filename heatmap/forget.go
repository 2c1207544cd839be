package heatmap

// Forget drops the open fixes of the tracks for which gone is true,
// uncounted (an erased person's open fix holds their pseudonym; what the
// tiles have counted stays: occupancy, about nobody).
func (b *Builder) Forget(gone func(track string) bool) {
	for k := range b.open {
		if gone(k) {
			delete(b.open, k)
		}
	}
}

// Forget drops the spans of the tracks for which gone is true, and the
// merges into or from them: an erased person. Their occupancy stays in the
// tiles it was added to; if they were staff it is not taken out again.
func (l *Log) Forget(gone func(track string) bool) {
	for t, spans := range l.tracks {
		if gone(t) {
			l.n -= len(spans)
			delete(l.tracks, t)
		}
	}
	for from, into := range l.alias {
		if gone(from) || gone(into) {
			delete(l.alias, from)
		}
	}
}
