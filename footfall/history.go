package footfall

import (
	"slices"

	"github.com/passant/passant/wire"
)

// History records on which local days each track was a visitor: what new
// versus returning and the loyalty buckets need from before a report's
// range. The zero History is empty and ready to use.
type History struct {
	visitor map[string][]int32 // track -> civil day numbers, sorted, distinct
}

// NewHistory builds a history from stored summaries: a track was a visitor
// on a day when the contract's definitions make it one (a store visit that
// is not a bounce, and not staff).
func NewHistory(site *wire.Site, days []TrackDay, visits []Visit) History {
	var h History
	tds, _ := classify(site, days, visits)
	for i := range tds {
		if tds[i].class == Visitor {
			h.add(tds[i].track, tds[i].day)
		}
	}
	return h
}

// Add records that the track was a visitor on the local date day
// (YYYY-MM-DD); a malformed date is ignored.
func (h *History) Add(track, day string) {
	if n, ok := dayNumber(day); ok {
		h.add(track, n)
	}
}

func (h *History) add(track string, day int32) {
	if h.visitor == nil {
		h.visitor = map[string][]int32{}
	}
	ds := h.visitor[track]
	i, found := slices.BinarySearch(ds, day)
	if !found {
		h.visitor[track] = slices.Insert(ds, i, day)
	}
}

// Days returns the local dates on which the track was a visitor, oldest
// first.
func (h History) Days(track string) []string {
	var out []string
	for _, d := range h.visitor[track] {
		out = append(out, dayString(d))
	}
	return out
}

// Len returns the number of tracks in the history.
func (h History) Len() int { return len(h.visitor) }

// countIn returns how many of the track's visitor days lie in [a, b], from
// both histories.
func countIn(a, b int32, lists ...[]int32) int {
	n := 0
	var seen []int32
	for _, ds := range lists {
		i, _ := slices.BinarySearch(ds, a)
		for ; i < len(ds) && ds[i] <= b; i++ {
			if !slices.Contains(seen, ds[i]) {
				seen = append(seen, ds[i])
				n++
			}
		}
	}
	return n
}

// Loyalty buckets, from the visitor days of a track up to and including the
// day it is judged on.
const (
	FirstTime  = "first-time" // no earlier visitor day within the history window
	Occasional = "occasional" // an earlier visitor day within the window, but neither weekly nor daily
	Weekly     = "weekly"     // visitor in 2 or more of the last 4 weeks (7-day blocks ending that day)
	Daily      = "daily"      // visitor on 5 or more of the last 7 days
)

// loyalty returns the bucket of a visitor judged on day d, with a history
// window of window days.
func loyalty(d, window int32, lists ...[]int32) string {
	if countIn(d-6, d, lists...) >= 5 {
		return Daily
	}
	weeks := 0
	for k := int32(0); k < 4; k++ {
		if countIn(d-7*k-6, d-7*k, lists...) > 0 {
			weeks++
		}
	}
	if weeks >= 2 {
		return Weekly
	}
	if countIn(d-window, d-1, lists...) > 0 {
		return Occasional
	}
	return FirstTime
}
