package footfall

import (
	"sort"
	"time"
)

const hourMs = int64(time.Hour / time.Millisecond)

// HourStart returns the UTC millisecond at which the local clock hour
// holding t starts. It subtracts the local minutes and seconds, so it is
// exact on the repeated hour of a DST fall-back and in zones whose offset is
// not a whole number of hours.
func HourStart(t int64, loc *time.Location) int64 {
	lt := time.UnixMilli(t).In(loc)
	return t - int64(lt.Minute())*60000 - int64(lt.Second())*1000 - int64(lt.Nanosecond()/1e6)
}

// HourSpan returns the local hours that the times [first, last] touch:
// from is the start of first's hour, to the end of last's hour.
func HourSpan(first, last int64, loc *time.Location) (from, to int64) {
	return HourStart(first, loc), nextHour(HourStart(last, loc), loc)
}

func nextHour(h int64, loc *time.Location) int64 {
	n := HourStart(h+hourMs, loc)
	if n <= h {
		n = h + hourMs
	}
	return n
}

// Hours returns the start of every local clock hour in [from, to): 23 on
// the day clocks go forward, 25 on the day they go back. from is rounded
// down to its hour.
func Hours(from, to int64, loc *time.Location) []int64 {
	var out []int64
	for h := HourStart(from, loc); h < to; h = nextHour(h, loc) {
		out = append(out, h)
	}
	return out
}

// hourIndex returns the index of the hour holding t among the hour starts
// (edges has one more element, the end), or -1 when t is outside.
func hourIndex(edges []int64, t int64) int {
	if len(edges) < 2 || t < edges[0] || t >= edges[len(edges)-1] {
		return -1
	}
	return sort.Search(len(edges), func(i int) bool { return edges[i] > t }) - 1
}
