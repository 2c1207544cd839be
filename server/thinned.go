package server

// Re-processing a range that the passers-by retention has thinned. Before
// the cut (now minus serve's --retention, 24 h by default) only the raw
// observations of the devices that became visitors remain (store.Prune
// keeps those of VisitorDevs: the pseudonyms of the stored fixes of the
// tracks with a store visit of at least the visitor dwell, staff devices
// included). There a re-processing rebuilds the tracks those observations
// make, with the site version it runs, and keeps the stored rows (track
// days, visits, fixes) of every other track: the passers-by, and the rare
// visitor that left no stored fix, whose observations are gone. The report
// then reads both (footfall.Build classifies every track day of the day
// together), so the passers-by and capture-rate denominators stay as they
// were and the visitors follow the new plan.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// ErrGone is a re-processing's error when no raw observation of its range
// remains (all are deleted after serve's --retain-all, 31 days by
// default): nothing can be recomputed, and the stored figures are kept.
var ErrGone = errors.New("no raw observation of the range remains (all are deleted after the retention of raw data); its figures are kept as they are")

// thinCut is the time before which the retention of passers-by's raw
// observations (serve's --retention) has deleted them at now; with no
// retention, none.
func thinCut(now time.Time, retention time.Duration) int64 {
	if retention <= 0 {
		return 0
	}
	return now.Add(-retention).UnixMilli()
}

// seenDevs are the pseudonyms of the observations a re-processing read.
type seenDevs map[wire.Dev]struct{}

func (s seenDevs) add(b *wire.Batch) {
	for i := range b.Obs {
		s[b.Obs[i].Dev] = struct{}{}
	}
}

// thinnedSplit is what a re-processing does with the stored tracks of the
// thinned part of its range.
type thinnedSplit struct {
	del  []string                     // the stored tracks rebuilt: their rows go
	kept map[string]int               // the track days kept, by local day
	days map[dayKey]footfall.TrackDay // the stored track days
}

// splitThinned sorts the stored tracks of [from, to), a part of a range
// before the retention's cut, into the ones a re-processing rebuilds and
// the ones whose stored rows it keeps. A track is rebuilt when the
// re-processing read an observation of one of its pseudonyms (seen): the
// one its name comes from (store.TrackOf: "k" and the first 12 hex characters
// of the pseudonym that started it) or one of its stored fixes'; or when
// the re-processing made a track of that name (rebuilt), which replaces
// the stored one. Any other track's observations are gone: it is kept. A
// track name starts with its first pseudonym, so a rebuilt track cannot
// take the name of a kept one (whose pseudonyms were all read in vain).
func splitThinned(ctx context.Context, st store.Store, site string, from, to int64, seen seenDevs, rebuilt map[string]bool) (thinnedSplit, error) {
	sp := thinnedSplit{kept: map[string]int{}}
	named := make(map[string]bool, len(seen))
	for d := range seen {
		named[store.TrackOf(d)] = true
	}
	redo := map[string]bool{}
	stored := map[string]bool{}
	err := st.ScanPositions(ctx, site, from, to, func(p *wire.Position) error {
		stored[p.Track] = true
		if _, ok := seen[p.Dev]; ok {
			redo[p.Track] = true
		}
		return nil
	})
	if err != nil {
		return sp, fmt.Errorf("server: tracks of the thinned part: %w", err)
	}
	days, err := st.TrackDays(ctx, site, from, to)
	if err != nil {
		return sp, fmt.Errorf("server: tracks of the thinned part: %w", err)
	}
	visits, err := st.Visits(ctx, site, from, to)
	if err != nil {
		return sp, fmt.Errorf("server: tracks of the thinned part: %w", err)
	}
	for _, v := range visits {
		stored[v.Track] = true
	}
	sp.days = make(map[dayKey]footfall.TrackDay, len(days))
	for _, d := range days {
		stored[d.Track] = true
		sp.days[dayKey{d.Site, d.Day, d.Track}] = d
	}
	rebuild := func(t string) bool { return redo[t] || named[t] || rebuilt[t] }
	for t := range stored {
		if rebuild(t) {
			sp.del = append(sp.del, t)
		}
	}
	slices.Sort(sp.del)
	for _, d := range days {
		if !rebuild(d.Track) {
			sp.kept[d.Day]++
		}
	}
	return sp, nil
}

// keepStoredDays puts the stored track day in place of each rebuilt one
// of the same track and day that began before cut: a track day (first and
// last detection, fixes, fingerprint) owes nothing to the zones, and the
// stored one was made with every phone's observations. The tracker on the
// visitors' alone places a phone's fixes a little differently and links
// its randomised addresses by the other phones of its fingerprint it
// hears: rebuilt, the detection spans moved, and the report's street joins
// (which join a passer-by's fragments, and a visitor's street fragment to
// its visit) came apart: 166 passers-by became 187.
func keepStoredDays(days []footfall.TrackDay, stored map[dayKey]footfall.TrackDay, cut int64) []footfall.TrackDay {
	for i, d := range days {
		if s, ok := stored[dayKey{d.Site, d.Day, d.Track}]; ok && d.First < cut {
			days[i] = s
		}
	}
	return days
}

// keptDays lists, by local day, the track days of the thinned part kept
// (sp.kept) and rebuilt (those of days with first detection in [from, to)).
func keptDays(sp thinnedSplit, days []footfall.TrackDay, from, to int64) []web.KeptDay {
	rebuilt := map[string]int{}
	for _, d := range days {
		if d.First >= from && d.First < to {
			rebuilt[d.Day]++
		}
	}
	var out []web.KeptDay
	for day, n := range sp.kept {
		out = append(out, web.KeptDay{Date: day, Kept: n, Rebuilt: rebuilt[day]})
	}
	for day, n := range rebuilt {
		if sp.kept[day] == 0 {
			out = append(out, web.KeptDay{Date: day, Rebuilt: n})
		}
	}
	slices.SortFunc(out, func(a, b web.KeptDay) int { return strings.Compare(a.Date, b.Date) })
	return out
}

// trackNames are the tracks of days and visits.
func trackNames(days []footfall.TrackDay, visits []footfall.Visit) map[string]bool {
	out := make(map[string]bool, len(days))
	for _, d := range days {
		out[d.Track] = true
	}
	for _, v := range visits {
		out[v.Track] = true
	}
	return out
}

// deleteRebuilt deletes what a re-processing of [from, to) replaces: in
// the thinned part before cut, the rows of the tracks sp rebuilds and the
// heat tiles; after it, every derived row. (The hours of every day the range touches are
// written anew afterwards: upserts.)
func deleteRebuilt(ctx context.Context, st store.Store, site string, from, to, cut int64, sp thinnedSplit) error {
	if from >= cut {
		return st.DeleteDerived(ctx, site, from, to)
	}
	end := min(to, cut)
	if err := st.DeleteDerivedTracks(ctx, site, from, end, sp.del); err != nil {
		return err
	}
	// The heat tiles there counted everyone; the observations left are the
	// visitors'. A heatmap builds them again from the stored positions
	// (the passers-by's kept, the visitors' rebuilt).
	if err := st.DeleteHeatTiles(ctx, site, from, end); err != nil {
		return err
	}
	if end < to {
		return st.DeleteDerived(ctx, site, end, to)
	}
	return nil
}

// mergeKept adds up two lists of days before the cut (an offline part and
// a live one may share a day).
func mergeKept(a, b []web.KeptDay) []web.KeptDay {
	for _, d := range b {
		i := slices.IndexFunc(a, func(k web.KeptDay) bool { return k.Date == d.Date })
		if i < 0 {
			a = append(a, d)
			continue
		}
		a[i].Kept += d.Kept
		a[i].Rebuilt += d.Rebuilt
	}
	slices.SortFunc(a, func(x, y web.KeptDay) int { return strings.Compare(x.Date, y.Date) })
	return a
}

// origTracks are the tracks the stored fixes of the thinned part gave each
// pseudonym, and the cut: a re-processing there puts a pseudonym's
// positions under the track it had, so the tracks keep the grouping the
// tracker made with every phone's observations. (The tracker's links of
// randomised addresses weigh the other phones of the fingerprint heard
// about then, and learn its probing from all: on the visitors' alone it
// split some visitors' phones into pieces, counted as passers-by.)
type origTracks struct {
	cut    int64
	track  map[wire.Dev]string
	names  map[string]bool
	holder map[string]holder
}

// loadOrigTracks reads the tracks of the stored fixes of [from, to).
func loadOrigTracks(ctx context.Context, st store.Store, site string, from, to int64) (origTracks, error) {
	o := origTracks{cut: to, track: map[wire.Dev]string{}, names: map[string]bool{}}
	err := st.ScanPositions(ctx, site, from, to, func(p *wire.Position) error {
		o.track[p.Dev] = p.Track
		o.names[p.Track] = true
		return nil
	})
	if err != nil {
		return o, fmt.Errorf("server: the tracks of the thinned part: %w", err)
	}
	return o, nil
}

// relabel puts p under its pseudonym's stored track, before the cut, and
// says whether p is to be counted: not when another of the tracker's
// tracks holds that stored track within the last concurrentMs (two of the
// tracker's tracks for one phone at once: one stream of fixes is kept, or
// the zone visits would flicker between the two).
func (o *origTracks) relabel(p *wire.Position) bool {
	if p.T >= o.cut {
		return true
	}
	tr, ok := o.track[p.Dev]
	if !ok {
		return true
	}
	if o.holder == nil {
		o.holder = map[string]holder{}
	}
	h := o.holder[tr]
	if h.track != "" && h.track != p.Track && p.T-h.t < concurrentMs {
		return false
	}
	o.holder[tr] = holder{p.Track, p.T}
	p.Track = tr
	return true
}

// concurrentMs is how long one of the tracker's tracks holds a stored
// track against another after its last fix.
const concurrentMs = 10_000

// holder is the tracker's track that last gave a stored track a fix.
type holder struct {
	track string
	t     int64
}

// keeps says whether a merge of the tracker's tracks from and into is
// left out: one of them is a stored track, whose grouping stands.
func (o *origTracks) keeps(from, into string) bool {
	return o.names[from] || o.names[into]
}
