package footfall

import (
	"cmp"
	"slices"
	"time"

	"github.com/passant/passant/wire"
)

// Class is what a track was on one local day.
type Class int

// The classes of the contract's footfall definitions.
const (
	Passerby Class = iota // seen, neither visitor nor staff
	Visitor               // at least one store visit that is not a bounce
	Staff                 // last minus first detection that day exceeds staff_min_dwell_s
)

func (c Class) String() string {
	return [...]string{"passerby", "visitor", "staff"}[c]
}

// trackDay is one track on one local day, with what its visits tell.
type trackDay struct {
	track       string
	day         int32 // civil day number of the local date (days since 1970-01-01)
	first, last int64
	visits      int     // store visits starting that day
	bounces     int     // of them, shorter than visitor_min_dwell_s
	dwell       float64 // seconds in the store over the visits that are not bounces
	dwellEst    float64 // the same, each visit's dwellEstimate
	class       Class
	fp          string // TrackDay.FP
	rand        bool   // TrackDay.Rand
	chainPart   bool   // staff as a piece of a staff chain, not its first: not counted again
	knownStaff  bool   // TrackDay.KnownStaff: staff on an earlier day, this day still open
	chain       int    // the staff chain it belongs to (from 1 per classification), 0 when none
	// firstVisit is the track-day's first store visit (nil when none);
	// handoff marks a first visit that may continue another track's
	// (markHandoffs): the track-day's estimated dwell is not a person's.
	firstVisit *Visit
	handoff    bool
}

type tdKey struct {
	track string
	day   int32
}

// dayNumber returns the civil day number of a YYYY-MM-DD date, or false.
func dayNumber(s string) (int32, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	num := func(b string) (int, bool) {
		n := 0
		for _, c := range []byte(b) {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(s[:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, false
	}
	return civil(y, time.Month(m), d), true
}

func civil(y int, m time.Month, d int) int32 {
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dayString(n int32) string {
	return time.Unix(int64(n)*86400, 0).UTC().Format(time.DateOnly)
}

// localDayNumber returns the civil day number of the local date of t.
func localDayNumber(t int64, loc *time.Location) int32 {
	y, m, d := time.UnixMilli(t).In(loc).Date()
	return civil(y, m, d)
}

// staffMillis returns the site's staff_min_dwell_s in ms.
func staffMillis(site *wire.Site) int64 {
	return int64(or(site.Footfall.StaffMinDwellS, wire.DefaultStaffDwell) * 1000)
}

// storeZone returns the id of the site's store zone, "" when none.
func storeZone(site *wire.Site) string {
	for _, z := range site.Zones {
		if z.Kind == wire.ZoneStore {
			return z.ID
		}
	}
	return ""
}

// classify groups the summaries by track and local day and classifies each
// track-day as the contract defines. Store visits count on the local day
// they start. A store visit of a track-day without a summary makes one from
// the visit's times.
func classify(site *wire.Site, days []TrackDay, visits []Visit) ([]trackDay, map[tdKey]int) {
	return classifyAfter(site, days, visits, nil)
}

// classifyAfter is classify of the summaries after those that left doors
// (markHandoffs' state per fingerprint; nil: none before), which it
// updates.
func classifyAfter(site *wire.Site, days []TrackDay, visits []Visit, doors map[string]doorState) ([]trackDay, map[tdKey]int) {
	loc := site.Location()
	ff := site.Footfall
	minDwell := ff.VisitorMinDwellS
	if minDwell < 0 {
		minDwell = wire.DefaultVisitorDwell
	}
	staffMs := staffMillis(site)
	store := storeZone(site)

	tds := make([]trackDay, 0, len(days))
	idx := make(map[tdKey]int, len(days))
	dayCache := map[string]int32{}
	for i := range days {
		d := &days[i]
		dn, ok := dayCache[d.Day]
		if !ok {
			if dn, ok = dayNumber(d.Day); !ok {
				dn = localDayNumber(d.First, loc)
			}
			dayCache[d.Day] = dn
		}
		k := tdKey{d.Track, dn}
		if j, ok := idx[k]; ok {
			if d.First < tds[j].first && (d.FP != "" || d.Rand) {
				tds[j].fp, tds[j].rand = d.FP, d.Rand // the first address's
			}
			tds[j].first = min(tds[j].first, d.First)
			tds[j].last = max(tds[j].last, d.Last)
			tds[j].knownStaff = tds[j].knownStaff || d.KnownStaff
			continue
		}
		idx[k] = len(tds)
		tds = append(tds, trackDay{track: d.Track, day: dn, first: d.First, last: d.Last, fp: d.FP, rand: d.Rand,
			knownStaff: d.KnownStaff})
	}
	var lastDay int32
	var lastDayStart, lastDayEnd int64 = 1, 0
	var sv []storeVisit
	for i := range visits {
		v := &visits[i]
		if v.Zone != store || store == "" {
			continue
		}
		if v.Start < lastDayStart || v.Start >= lastDayEnd {
			lt := time.UnixMilli(v.Start).In(loc)
			y, m, d := lt.Date()
			lastDay = civil(y, m, d)
			lastDayStart = time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMilli()
			lastDayEnd = time.Date(y, m, d+1, 0, 0, 0, 0, loc).UnixMilli()
		}
		k := tdKey{v.Track, lastDay}
		j, ok := idx[k]
		if !ok {
			j = len(tds)
			idx[k] = j
			tds = append(tds, trackDay{track: v.Track, day: lastDay, first: v.Start, last: v.End})
		}
		td := &tds[j]
		if td.firstVisit == nil || v.Start < td.firstVisit.Start {
			td.firstVisit = v
		}
		sv = append(sv, storeVisit{v, j})
		td.visits++
		if dw := v.Dwell(); dw < minDwell {
			td.bounces++
		} else {
			td.dwell += dw
			td.dwellEst += visitEstimate(v)
		}
	}
	chained := staffChains(tds, staffMs)
	for i := range tds {
		td := &tds[i]
		switch {
		case chained[i].id > 0:
			td.class, td.chainPart, td.chain = Staff, !chained[i].counts, chained[i].id
		case td.last-td.first > staffMs || td.knownStaff:
			td.class = Staff
		case td.visits > td.bounces:
			td.class = Visitor
		default:
			td.class = Passerby
		}
	}
	markHandoffs(tds, sv, doors)
	return tds, idx
}

// A staff chain's pieces follow each other: the next begins at most
// chainGapMs after the previous one's last detection, or at most
// chainOverlapMs before it (a phone that took the track over from the staff
// phone keeps it a while after the staff phone's new address began its own).
// Two pieces that each last chainOverlapPieceMs or more may overlap by up
// to chainLongOverlapMs (a shopper who took the staff track over and stayed
// a while). In the second round (a second staff phone of the model, whose
// pieces the first round's chains took in places) two pieces that each
// last chainLongPieceMs or more may lie up to chainLongGapMs apart. A
// first round's chain that begins at most chainLongGapMs after an earlier
// one ended is the same phone's day broken there.
const (
	chainGapMs          = 5 * 60_000
	chainOverlapMs      = 10 * 60_000
	chainLongOverlapMs  = 15 * 60_000
	chainOverlapPieceMs = 20 * 60_000
	chainLongGapMs      = 15 * 60_000
	chainLongPieceMs    = 10 * 60_000
)

// A chain that lies beside an earlier one of its fingerprint (begins
// before it ended) is a second phone of the model, and counts, when its
// pieces that each last hourPieceMs or more cover at least hourCover of
// its span (sideBySide).
const (
	hourPieceMs = 60 * 60_000
	hourCover   = 0.85
)

// follows reports whether piece b may follow piece a in a staff chain. In
// the second round (taken non-nil: the spans of the first round's chains'
// pieces of the fingerprint, overlapping ones joined) it also bridges a
// gap of up to chainLongGapMs between two long pieces, when the taken
// pieces last over it (one span holds [a.last, b.first]).
func follows(a, b *trackDay, taken []span) bool {
	overlap := int64(chainOverlapMs)
	if a.last-a.first >= chainOverlapPieceMs && b.last-b.first >= chainOverlapPieceMs {
		overlap = chainLongOverlapMs
	}
	if b.last <= a.last || b.first < a.last-overlap {
		return false
	}
	if b.first <= a.last+chainGapMs {
		return true
	}
	if b.first > a.last+chainLongGapMs || a.last-a.first < chainLongPieceMs || b.last-b.first < chainLongPieceMs {
		return false
	}
	for _, p := range taken {
		if p.first <= a.last && p.last >= b.first {
			return true
		}
	}
	return false
}

// span is a time interval [first, last], Unix ms.
type span struct{ first, last int64 }

// union returns the pieces' spans, sorted, with those that overlap or touch
// joined.
func union(ps []*trackDay) []span {
	out := make([]span, 0, len(ps))
	for _, p := range ps {
		out = append(out, span{p.first, p.last})
	}
	slices.SortFunc(out, func(a, b span) int { return cmp.Compare(a.first, b.first) })
	j := 0
	for i := 1; i < len(out); i++ {
		if out[i].first <= out[j].last {
			out[j].last = max(out[j].last, out[i].last)
			continue
		}
		j++
		out[j] = out[i]
	}
	return out[:min(j+1, len(out))]
}

// staffChains returns which track-days belong to a staff chain: tracks of
// one day whose first address is randomised with one fingerprint, each
// with a store visit, each beginning within chainGapMs after (or
// chainOverlapMs before) the previous one's last detection and ending
// later, that together span more than staffMs. Per fingerprint the chain
// that spans longest is taken (each piece after the one that lets the
// chain begin earliest, then with the fewest pieces), then the longest
// among the tracks left, and so on. A second round then chains the tracks
// left with the longer gaps of follows: a second staff phone of the model,
// whose pieces interleave with the first one's, so that the first round's
// chains took some of its pieces and gaps of 5 to 15 minutes open between
// the rest; each such gap must lie between two pieces of 10 minutes or
// more and under the first round's pieces (together). A first round's
// chain that begins before an earlier one of the fingerprint ended lies
// beside it; it is not kept there: its pieces go to the second round with
// the tracks left, which may chain them with the longer gaps and with the
// tracks left before and after it.
// The value names the chain (from 1, unique over the groups) and counts
// is true for the piece that counts the chain as one staff member: its first, unless the chain begins at most chainLongGapMs after
// an earlier one of the fingerprint ended, or before it ended (the same
// phone's day broken, or beside it). A second round's chain of tracks left
// by the first round always counts: it lies beside the first round's
// chains (a second staff phone of the model); one that holds pieces of a
// chain that lay beside another counts as that chain did, unless it is a
// second phone's (sideBySide: mostly hour-long pieces) that does not begin
// where an earlier chain of the fingerprint ended.
func staffChains(tds []trackDay, staffMs int64) map[int]chainRef {
	type key struct {
		day int32
		fp  string
	}
	groups := map[key][]int{}
	for i := range tds {
		td := &tds[i]
		if td.fp == "" || !td.rand || td.visits == 0 {
			continue
		}
		k := key{td.day, td.fp}
		groups[k] = append(groups[k], i)
	}
	out := map[int]chainRef{}
	id := 0
	for _, g := range groups {
		slices.SortFunc(g, func(a, b int) int {
			return cmp.Or(cmp.Compare(tds[a].first, tds[b].first), cmp.Compare(tds[a].track, tds[b].track))
		})
		n := len(g)
		used := make([]bool, n)
		start := make([]int64, n)
		cnt := make([]int, n)
		prev := make([]int, n)
		var chains []staffChain
		var taken []span // the first round's pieces
		beside := make([]bool, n)
		for _, second := range []bool{false, true} {
			if second {
				if len(chains) == 0 {
					break
				}
				chains = keepApart(tds, g, chains, used, beside)
				var ps []*trackDay
				for _, c := range chains {
					for _, j := range c.path {
						ps = append(ps, &tds[g[j]])
					}
				}
				taken = union(ps)
			}
			for {
				best := -1
				for j := range n {
					start[j], cnt[j], prev[j] = -1, 0, -1
					if used[j] {
						continue
					}
					b := &tds[g[j]]
					start[j], cnt[j] = b.first, 1
					for i := range j {
						if used[i] || !follows(&tds[g[i]], b, taken) {
							continue
						}
						if start[i] < start[j] || start[i] == start[j] && cnt[i]+1 < cnt[j] {
							start[j], cnt[j], prev[j] = start[i], cnt[i]+1, i
						}
					}
					if cnt[j] >= 2 && (best < 0 || b.last-start[j] > tds[g[best]].last-start[best]) {
						best = j
					}
				}
				if best < 0 || tds[g[best]].last-start[best] <= staffMs {
					break
				}
				// The path, first piece first.
				var path []int
				for j := best; j >= 0; j = prev[j] {
					path = append(path, j)
				}
				slices.Reverse(path)
				path = trimEnds(tds, g, path, staffMs)
				apart := second
				for _, j := range path {
					apart = apart && !beside[j]
				}
				chains = append(chains, staffChain{path, apart})
				for _, j := range path {
					used[j] = true
				}
			}
		}
		// A chain counts as one staff member, unless it begins before or at
		// most chainLongGapMs after an earlier one of the fingerprint ended
		// (the same phone's day, broken where no piece followed another, or
		// beside it); a chain apart always counts, and so does one beside
		// that is a second phone's (sideBySide), unless an earlier chain
		// ended at most chainLongGapMs before it began or
		// chainLongOverlapMs after (its day broken there: the same phone's).
		slices.SortFunc(chains, func(a, b staffChain) int { return cmp.Compare(tds[g[a.path[0]]].first, tds[g[b.path[0]]].first) })
		var end int64 = -1 << 62
		var ends []int64
		for _, c := range chains {
			first, last := tds[g[c.path[0]]].first, int64(0)
			for _, j := range c.path {
				last = max(last, tds[g[j]].last)
			}
			counts := c.apart || first > end+chainLongGapMs
			if !counts && first < end && sideBySide(tds, g, c.path) {
				counts = !slices.ContainsFunc(ends, func(e int64) bool { return e >= first-chainLongGapMs && e <= first+chainLongOverlapMs })
			}
			id++
			for k, j := range c.path {
				out[g[j]] = chainRef{id, k == 0 && counts}
			}
			if !c.apart {
				end = max(end, last)
				ends = append(ends, last)
			}
		}
	}
	return out
}

// staffChain is one chain of staffChains: its pieces (indices into the
// fingerprint's group, first piece first), and whether it is a second
// round's chain of tracks the first round left (apart: it always counts).
type staffChain struct {
	path  []int
	apart bool
}

// keepApart returns the first round's chains without those that begin
// before an earlier one ended, whose pieces it marks unused again and
// beside (used and beside are indexed like a chain's path, g maps that to
// tds).
func keepApart(tds []trackDay, g []int, chains []staffChain, used, beside []bool) []staffChain {
	slices.SortFunc(chains, func(a, b staffChain) int { return cmp.Compare(tds[g[a.path[0]]].first, tds[g[b.path[0]]].first) })
	var end int64 = -1 << 62
	kept := chains[:0]
	for _, c := range chains {
		if tds[g[c.path[0]]].first < end {
			for _, j := range c.path {
				used[j], beside[j] = false, true
			}
			continue
		}
		kept = append(kept, c)
		for _, j := range c.path {
			end = max(end, tds[g[j]].last)
		}
	}
	return kept
}

// sideBySide reports whether the chain's pieces (path, indices into g,
// which maps them to tds) that last hourPieceMs or more cover at least
// hourCover of its span: a phone heard for an hour or more at a time,
// most of its day. Shoppers' tracks that follow each other beside a staff
// phone's chain (one model's crowd) rarely last an hour; a second staff
// phone of the model, whose pieces interleave with the first one's where
// the tracker swapped their scans, mostly does.
func sideBySide(tds []trackDay, g, path []int) bool {
	var first, last int64 = 1 << 62, -1 << 62
	var long []*trackDay
	for _, j := range path {
		p := &tds[g[j]]
		first, last = min(first, p.first), max(last, p.last)
		if p.last-p.first >= hourPieceMs {
			long = append(long, p)
		}
	}
	var covered int64
	for _, s := range union(long) {
		covered += s.last - s.first
	}
	return float64(covered) >= hourCover*float64(last-first)
}

// chainRef is a track-day's place in the staff chains: its chain (from
// 1), and whether it is the piece that counts the chain.
type chainRef struct {
	id     int
	counts bool
}

// trimEnds drops from a chain's ends a piece that lies mostly under its
// neighbour: a first piece whose own part (before the second began) is
// shorter than its overlap with the second, or a last piece whose own part
// (after the one before it ended) is shorter than their overlap. Two phones
// of the model were in the store then, and the one whose track adds less
// to the chain than it shares with it is another's: a shopper's track that
// began before the staff phone's new piece (whose start the chain would
// take for its own), or one that outlasted it. A trim that would leave the
// chain no longer than staffMs is not made.
func trimEnds(tds []trackDay, g, path []int, staffMs int64) []int {
	p := path
	for len(p) > 2 {
		a, b := &tds[g[p[0]]], &tds[g[p[1]]]
		if over := a.last - b.first; over <= 0 || b.first-a.first >= over {
			break
		}
		p = p[1:]
	}
	for len(p) > 2 {
		y, z := &tds[g[p[len(p)-2]]], &tds[g[p[len(p)-1]]]
		if over := y.last - z.first; over <= 0 || z.last-y.last >= over {
			break
		}
		p = p[:len(p)-1]
	}
	var last int64
	for _, j := range p {
		last = max(last, tds[g[j]].last)
	}
	if last-tds[g[p[0]]].first <= staffMs {
		return path
	}
	return p
}
