package footfall

import "github.com/passant/passant/wire"

// Classes returns the class of every track-day of the summaries, keyed by
// track (the last day's when a track has several): the report's own
// classification, for tests that look behind its totals.
func Classes(site *wire.Site, days []TrackDay, visits []Visit) map[string]Class {
	return byTrack(site, days, visits, func(td *trackDay) Class { return td.class })
}

// Handoffs returns the track-days that the door-to-door estimate leaves
// out (markHandoffs), keyed by track like Classes.
func Handoffs(site *wire.Site, days []TrackDay, visits []Visit) map[string]bool {
	return byTrack(site, days, visits, func(td *trackDay) bool { return td.handoff })
}

// byTrack classifies the summaries and returns what get says of each
// track-day, keyed by track.
func byTrack[T any](site *wire.Site, days []TrackDay, visits []Visit, get func(*trackDay) T) map[string]T {
	tds, _ := classify(site, days, visits)
	out := make(map[string]T, len(tds))
	for i := range tds {
		out[tds[i].track] = get(&tds[i])
	}
	return out
}

// DoorTimes is doorTimes, for the accuracy diagnosis.
func DoorTimes(v Visit) (start, end float64) { return doorTimes(&v) }

// JoinMap returns Joins by track: joined track → the track it counts as.
func JoinMap(site *wire.Site, days []TrackDay, visits []Visit) map[string]string {
	out := map[string]string{}
	for _, j := range Joins(site, days, visits) {
		out[j.Track] = j.Into
	}
	return out
}

// SetJoinVisitors sets joinVisitors (for measuring) and returns a func
// that restores it.
func SetJoinVisitors(on bool) func() {
	old := joinVisitors
	joinVisitors = on
	return func() { joinVisitors = old }
}

// SetSupersedeAfter sets supersedeAfter (0: off) and returns its undo.
func SetSupersedeAfter(ms int64) func() {
	old := supersedeAfter
	supersedeAfter = ms
	return func() { supersedeAfter = old }
}

// PresentTracks returns the tracks Present counts in the store, with the
// time of each one's latest fix.
func (c *Counter) PresentTracks(now, within int64) map[string]int64 {
	out := map[string]int64{}
	for _, ts := range c.present(now, within) {
		out[ts.store.Track] = ts.lastFix
	}
	return out
}

// ChainPiece is a track-day's classification with its staff chain.
type ChainPiece struct {
	Class  Class
	Chain  int  // the staff chain (from 1; 0 when none)
	Counts bool // counts the staff member (a chain's first piece, or a staff track alone)
	Visits int  // store visits
}

// ChainPieces returns every track-day's ChainPiece, keyed by track like
// Classes.
func ChainPieces(site *wire.Site, days []TrackDay, visits []Visit) map[string]ChainPiece {
	return byTrack(site, days, visits, func(td *trackDay) ChainPiece {
		return ChainPiece{Class: td.class, Chain: td.chain, Counts: td.class == Staff && !td.chainPart, Visits: td.visits}
	})
}
