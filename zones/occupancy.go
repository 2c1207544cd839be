package zones

import "slices"

// Span is the time a track spends in a zone, [Start, End] in Unix ms, both
// ends included (a span of a single fix has Start == End).
type Span struct{ Start, End int64 }

// Load is the occupancy of a zone during one time bin.
type Load struct {
	Max  int     // the most spans open at one instant of the bin
	Mean float64 // the time-average number of open spans: Σ overlap / bin length
}

// Occupancy returns the load of the spans over each bin [edges[i],
// edges[i+1]); edges must be increasing. The result has len(edges)-1 bins.
// A span open at an instant counts at that instant even when it starts or
// ends there, so a single-fix span raises Max but adds nothing to Mean.
func Occupancy(spans []Span, edges []int64) []Load {
	if len(edges) < 2 {
		return nil
	}
	type event struct {
		t int64
		d int
	}
	ev := make([]event, 0, 2*len(spans))
	for _, s := range spans {
		if s.End < edges[0] || s.Start >= edges[len(edges)-1] || s.End < s.Start {
			continue
		}
		ev = append(ev, event{s.Start, +1}, event{s.End, -1})
	}
	// At equal times starts come first, so spans touching at t overlap at t.
	slices.SortFunc(ev, func(a, b event) int {
		if a.t != b.t {
			if a.t < b.t {
				return -1
			}
			return 1
		}
		return b.d - a.d
	})
	out := make([]Load, len(edges)-1)
	i, cur := 0, 0
	for i < len(ev) && ev[i].t < edges[0] {
		cur += ev[i].d
		i++
	}
	for b := range out {
		start, end := edges[b], edges[b+1]
		mx, prev := cur, start
		var area float64
		for i < len(ev) && ev[i].t < end {
			area += float64(cur) * float64(ev[i].t-prev)
			prev = ev[i].t
			cur += ev[i].d
			mx = max(mx, cur)
			i++
		}
		area += float64(cur) * float64(end-prev)
		out[b] = Load{Max: mx, Mean: area / float64(end-start)}
	}
	return out
}
