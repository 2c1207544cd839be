package footfall

import "github.com/passant/passant/wire"

// Classes returns the class of every track-day of the summaries, keyed by
// track (the last day's when a track has several): the report's own
// classification, for tests that look behind its totals.
func Classes(site *wire.Site, days []TrackDay, visits []Visit) map[string]Class {
	tds, _ := classify(site, days, visits)
	out := make(map[string]Class, len(tds))
	for _, td := range tds {
		out[td.track] = td.class
	}
	return out
}

// DoorTimes is doorTimes, for the accuracy diagnosis.
func DoorTimes(v Visit) (start, end float64) { return doorTimes(&v) }

// Handoffs returns the track-days that the door-to-door estimate leaves
// out (markHandoffs), keyed by track like Classes.
func Handoffs(site *wire.Site, days []TrackDay, visits []Visit) map[string]bool {
	tds, _ := classify(site, days, visits)
	out := make(map[string]bool, len(tds))
	for _, td := range tds {
		out[td.track] = td.handoff
	}
	return out
}
