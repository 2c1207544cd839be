package footfall

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// Build computes report.json over the local hours [from, to) from track-day
// summaries, visits (store and area visits; one summary per visit) and till
// transactions. txns nil means no point-of-sale data was given, and the
// transactions and conversion fields are left out; an empty non-nil slice
// reports 0 transactions. hist holds the visitor days from before the input
// (the zero History when the input is the whole history); the input's own
// visitor days count too.
//
// Each track-day is counted once, in the local hour of its first
// detection, with its final class for the day; totals and days sum the
// track-days. A visitor's dwell is the time in the store over its visits
// that day that are not bounces; dwell medians and buckets are over
// visitors. Build is pure: the same arguments give the same report.
func Build(site *wire.Site, from, to int64, days []TrackDay, visits []Visit, txns []Transaction, hist History) wire.Report {
	rep, _ := build(site, from, to, days, visits, txns, hist, nil, false)
	return rep
}

// BuildJoins is Build that also returns the joins of street fragments it
// made (Joins of the same summaries), classifying the summaries once for
// both.
func BuildJoins(site *wire.Site, from, to int64, days []TrackDay, visits []Visit, txns []Transaction, hist History) (wire.Report, []Join) {
	return build(site, from, to, days, visits, txns, hist, nil, true)
}

// build is Build, with the joins when withJoins. With past (BuildAfter),
// days and visits are those from past's day on, and past stands for the
// summaries before it.
func build(site *wire.Site, from, to int64, days []TrackDay, visits []Visit, txns []Transaction, hist History, past *Past, withJoins bool) (wire.Report, []Join) {
	loc := site.Location()
	store := storeZone(site)
	window := int32(site.Footfall.HistoryDays)
	if window <= 0 {
		window = wire.DefaultHistoryDays
	}

	starts := Hours(from, to, loc)
	edges := append(slices.Clone(starts), to)
	if len(starts) == 0 {
		edges = nil
	}
	rep := wire.Report{Site: site.Site, From: from, To: to,
		Hours: make([]wire.Hour, len(starts)), Zones: []wire.ZoneStat{}, Paths: []wire.PathStat{}}

	// Local days of the hours.
	type dayAgg struct {
		day    wire.Day
		dwells []float64
		est    []float64 // estimated dwells
		pbEst  int64     // passers-by estimate, millionths
		known  share     // visitors whose phone keeps its address
		num    int32
		tx     int
	}
	var dayList []*dayAgg
	hourDay := make([]int, len(starts))
	hours := site.Open.Compile()
	for i, h := range starts {
		rep.Hours[i].Start = h
		lt := time.UnixMilli(h).In(loc)
		rep.Hours[i].Open = hours.IsOpen(lt)
		y, m, d := lt.Date()
		n := civil(y, m, d)
		if len(dayList) == 0 || dayList[len(dayList)-1].num != n {
			dayList = append(dayList, &dayAgg{num: n, day: wire.Day{Date: lt.Format(time.DateOnly),
				Start: time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMilli()}})
		}
		hourDay[i] = len(dayList) - 1
	}

	var doors map[string]doorState
	var carry float64
	var pastVisitor map[string][]int32
	if past != nil {
		doors, carry, pastVisitor = maps.Clone(past.doors), past.carry, past.visitor
		visits = past.withReach(visits)
	}
	tds, idx := classifyAfter(site, days, past.own(visits), doors)
	if past != nil && slices.ContainsFunc(tds, func(td trackDay) bool { return td.day < past.day || td.first < past.start }) {
		return wire.Report{}, nil // not split at past's midnight (BuildAfter)
	}
	weight, stats := passerWeights(tds)
	var dets [][2]int64
	if withJoins {
		dets = detections(tds)
	}
	into := joinStreetAfter(tds, stats, staffMillis(site), &carry)
	var joins []Join
	if withJoins {
		joins = joinsOf(tds, dets, into)
	}

	// Visitor days of the input, for new and returning.
	input := map[string][]int32{}
	for i := range tds {
		if tds[i].class == Visitor {
			input[tds[i].track] = append(input[tds[i].track], tds[i].day)
		}
	}
	for k, ds := range input {
		slices.Sort(ds)
		input[k] = slices.Compact(ds)
	}

	tot := &rep.Totals
	var allDwell, allDwellEst []float64
	var totEst int64
	var known share
	hourEst := make([]int64, len(starts))
	hourDwell := make([][]float64, len(starts))
	hourDwellEst := make([][]float64, len(starts))
	lastVisitorDay := map[string]int32{}
	for i := range tds {
		td := &tds[i]
		h := hourIndex(edges, td.first)
		if h < 0 {
			continue
		}
		hr, da := &rep.Hours[h], dayList[hourDay[h]]
		if into[i] >= 0 {
			// Joined into another track (joinStreet): counted there; the
			// estimate weighs it as before.
			if td.class == Passerby {
				u := micro(weight[i])
				totEst += u
				hourEst[h] += u
				da.pbEst += u
			}
			continue
		}
		switch td.class {
		case Staff:
			if td.chainPart {
				continue
			}
			tot.Staff++
			hr.Staff++
			da.day.Staff++
			continue
		case Passerby:
			tot.Passersby++
			hr.Passersby++
			da.day.Passersby++
			u := micro(weight[i])
			totEst += u
			hourEst[h] += u
			da.pbEst += u
		case Visitor:
			tot.Visitors++
			hr.Visitors++
			da.day.Visitors++
			allDwell = append(allDwell, td.dwell)
			hourDwell[h] = append(hourDwell[h], td.dwell)
			da.dwells = append(da.dwells, td.dwell)
			if !td.handoff {
				allDwellEst = append(allDwellEst, td.dwellEst)
				hourDwellEst[h] = append(hourDwellEst[h], td.dwellEst)
				da.est = append(da.est, td.dwellEst)
			}
			tot.DwellBuckets.Add(td.dwell)
			returning := countIn(td.day-window, td.day-1, hist.visitor[td.track], pastVisitor[td.track], input[td.track]) > 0
			if returning {
				tot.Returning++
				da.day.Returning++
			} else {
				tot.New++
				da.day.New++
			}
			if !td.rand {
				known.add(returning)
				da.known.add(returning)
			}
			if d, ok := lastVisitorDay[td.track]; !ok || td.day > d {
				lastVisitorDay[td.track] = td.day
			}
		}
		tot.Visits += td.visits
		tot.Bounces += td.bounces
	}
	tot.CaptureRate = ratio(tot.Visitors, tot.Visitors+tot.Passersby)
	tot.Estimate = estimate(tot.Visitors, totEst, allDwellEst)
	tot.ReturningEst = known.scale(tot.Visitors)
	tot.DwellMedianS = median(allDwell)
	tot.BounceRate = ratio(tot.Bounces, tot.Visits)
	for i := range rep.Hours {
		hr := &rep.Hours[i]
		hr.CaptureRate = ratio(hr.Visitors, hr.Visitors+hr.Passersby)
		hr.Estimate = estimate(hr.Visitors, hourEst[i], hourDwellEst[i])
		hr.DwellMedianS = median(hourDwell[i])
	}

	// Occupancy, zones and paths: the visits of tracks that are not staff.
	staffTracks := map[string]bool{}
	for i := range tds {
		if tds[i].class == Staff {
			staffTracks[tds[i].track] = true
		}
	}
	isStaff := func(v *Visit) bool {
		if past.reaches(v) {
			return false // past's visits that reach on are none of staff's
		}
		if !staffTracks[v.Track] {
			return false
		}
		j, ok := idx[tdKey{v.Track, localDayNumber(v.Start, loc)}]
		return ok && tds[j].class == Staff
	}
	areas := map[string]bool{}
	for _, z := range site.Zones {
		if z.Kind == wire.ZoneArea {
			areas[z.ID] = true
		}
	}
	var storeVisits, areaVisits []*Visit
	for i := range visits {
		v := &visits[i]
		if v.End < from || v.Start >= to || isStaff(v) {
			continue
		}
		if v.Zone == store {
			storeVisits = append(storeVisits, v)
		} else if areas[v.Zone] {
			areaVisits = append(areaVisits, v)
		}
	}
	spans := make([]zones.Span, len(storeVisits))
	for i, v := range storeVisits {
		spans[i] = zones.Span{Start: v.Start, End: v.End}
	}
	for i, l := range zones.Occupancy(spans, edges) {
		rep.Hours[i].OccupancyMax = l.Max
		rep.Hours[i].OccupancyMean = round(l.Mean, 3)
	}
	rep.Zones = zoneStats(site, areaVisits, from, to)
	paths, seqs := pathStats(storeVisits, areaVisits, from, to)
	rep.Paths = paths

	// Till receipts.
	if txns != nil {
		n := 0
		hourTx := make([]int, len(starts))
		for _, t := range txns {
			if h := hourIndex(edges, t.T); h >= 0 {
				n++
				hourTx[h]++
				dayList[hourDay[h]].tx++
			}
		}
		tot.Transactions = &n
		tot.Conversion = ratio(n, tot.Visitors)
		for i := range rep.Hours {
			rep.Hours[i].Transactions = &hourTx[i]
			rep.Hours[i].Conversion = ratio(hourTx[i], rep.Hours[i].Visitors)
		}
		for _, d := range dayList {
			d.day.Transactions = &d.tx
			d.day.Conversion = ratio(d.tx, d.day.Visitors)
		}
	}

	for _, d := range dayList {
		d.day.CaptureRate = ratio(d.day.Visitors, d.day.Visitors+d.day.Passersby)
		d.day.Estimate = estimate(d.day.Visitors, d.pbEst, d.est)
		d.day.ReturningEst = d.known.scale(d.day.Visitors)
		d.day.DwellMedianS = median(d.dwells)
		rep.Days = append(rep.Days, d.day)
	}

	// Extensions: loyalty, busiest hours and days, common sequences.
	more := &wire.ReportMore{Sequences: seqs}
	if len(lastVisitorDay) > 0 {
		more.Loyalty = map[string]int{FirstTime: 0, Occasional: 0, Weekly: 0, Daily: 0}
		for track, d := range lastVisitorDay {
			more.Loyalty[loyalty(d, window, hist.visitor[track], pastVisitor[track], input[track])]++
		}
	}
	more.BusiestHours = busiest(len(rep.Hours), func(i int) int { return rep.Hours[i].Visitors }, func(i int) int64 { return rep.Hours[i].Start })
	for _, i := range busiest(len(rep.Days), func(i int) int { return rep.Days[i].Visitors }, func(i int) int { return i }) {
		more.BusiestDays = append(more.BusiestDays, rep.Days[i].Date)
	}
	if more.Loyalty != nil || len(more.BusiestHours) > 0 || len(more.Sequences) > 0 {
		rep.Extra = more
	}
	return rep, joins
}

// busiest returns the keys of up to 3 items with the most visitors (at least
// one), most first; ties go to the earlier item.
func busiest[K any](n int, visitors func(int) int, key func(int) K) []K {
	order := make([]int, 0, n)
	for i := range n {
		if visitors(i) > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(visitors(b), visitors(a)) })
	var out []K
	for _, i := range order[:min(3, len(order))] {
		out = append(out, key(i))
	}
	return out
}

// zoneStats counts the visits to each area, in file order, areas without
// visits included.
func zoneStats(site *wire.Site, areaVisits []*Visit, from, to int64) []wire.ZoneStat {
	dw := map[string][]float64{}
	for _, v := range areaVisits {
		if v.Start >= from && v.Start < to {
			dw[v.Zone] = append(dw[v.Zone], v.Dwell())
		}
	}
	out := []wire.ZoneStat{}
	for _, z := range site.Zones {
		if z.Kind != wire.ZoneArea {
			continue
		}
		out = append(out, wire.ZoneStat{Zone: z.ID, Visits: len(dw[z.ID]), DwellMedianS: median(dw[z.ID])})
	}
	return out
}

// pathStats follows each store visit that starts in [from, to) through the
// areas visited during it. The path of a visit is store → a1 → a2 → … → an →
// store, "store" standing for where the visit starts and ends (the door or
// the floor outside any area), repeats of the same area collapsed. It
// returns the transitions, most frequent first, and the 10 most common area
// sequences.
func pathStats(storeVisits, areaVisits []*Visit, from, to int64) ([]wire.PathStat, []wire.Sequence) {
	byTrack := make(map[string][]*Visit, len(storeVisits))
	for _, v := range areaVisits {
		byTrack[v.Track] = append(byTrack[v.Track], v)
	}
	for _, vs := range byTrack {
		slices.SortFunc(vs, func(a, b *Visit) int { return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.Zone, b.Zone)) })
	}
	type edge struct{ from, to string }
	counts := map[edge]int{}
	seqs := map[string]int{}
	var seq []string
	var in []*Visit
	for _, s := range storeVisits {
		if s.Start < from || s.Start >= to {
			continue
		}
		vs := byTrack[s.Track]
		i, _ := slices.BinarySearchFunc(vs, s.Start, func(v *Visit, t int64) int { return cmp.Compare(v.Start, t) })
		in = in[:0]
		for ; i < len(vs) && vs[i].Start <= s.End; i++ {
			in = append(in, vs[i])
		}
		if len(in) == 0 {
			continue
		}
		seq = seq[:0]
		for _, v := range in {
			if len(seq) == 0 || seq[len(seq)-1] != v.Zone {
				seq = append(seq, v.Zone)
			}
		}
		prev := s.Zone
		for _, z := range seq {
			counts[edge{prev, z}]++
			prev = z
		}
		counts[edge{prev, s.Zone}]++
		seqs[strings.Join(seq, "\x00")]++
	}
	paths := make([]wire.PathStat, 0, len(counts))
	for e, n := range counts {
		paths = append(paths, wire.PathStat{From: e.from, To: e.to, Count: n})
	}
	slices.SortFunc(paths, func(a, b wire.PathStat) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	var out []wire.Sequence
	for k, n := range seqs {
		out = append(out, wire.Sequence{Zones: strings.Split(k, "\x00"), Count: n})
	}
	slices.SortFunc(out, func(a, b wire.Sequence) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), slices.Compare(a.Zones, b.Zones))
	})
	return paths, out[:min(10, len(out))]
}

// ratio returns num/den rounded to 4 decimals, nil when den is 0.
func ratio(num, den int) *float64 {
	if den == 0 {
		return nil
	}
	r := round(float64(num)/float64(den), 4)
	return &r
}

// median returns the median of v in seconds rounded to 0.1 s (the mean of
// the two middle values when their number is even), nil when v is empty.
// It reorders v.
func median(v []float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + m) / 2
	}
	m = round(m, 1)
	return &m
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
