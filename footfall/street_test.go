package footfall

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// A day of two models on the street: a per-scan randomiser (each scan a
// track of its own, 30 to 45 s apart) and one that keeps its address a
// minute: joinStreet makes about as many joins as there are
// continuations, never overlapping, in chains of a walk past, most of them
// right (by the gaps, which chance spreads over W and the scans put at 30
// to 45 s); the same summaries in another order give the same joins.
func TestJoinStreet(t *testing.T) {
	site := loadSite(t)
	rng := rand.New(rand.NewPCG(3, 9))
	var days []TrackDay
	phones, cont := 0, 0
	t0 := at(2026, 12, 4, 9, 0, 0)
	for {
		t0 += int64(rng.ExpFloat64() / 1.2 * 60_000)
		if t0 > at(2026, 12, 4, 20, 0, 0) {
			break
		}
		phones++
		perScan := rng.IntN(2) == 0
		scans := 1
		if perScan {
			scans = 1 + rng.IntN(4)
		}
		first := t0
		for s := range scans {
			if s > 0 {
				first += int64(30_000 + rng.IntN(15_000))
				cont++
			}
			last := first + 500
			if !perScan {
				last += int64(rng.IntN(60_000))
			}
			fp := "bbbb0002"
			if perScan {
				fp = "aaaa0001"
			}
			days = append(days, TrackDay{Site: site.Site, Day: "2026-12-04", Track: fmt.Sprintf("p%d-%d", phones, s),
				First: first, Last: last, Fixes: 1, FP: fp, Rand: true})
		}
	}
	joins := Joins(site, days, nil)
	right := 0
	byTrack := map[string]TrackDay{}
	for _, d := range days {
		byTrack[d.Track] = d
	}
	chains := map[string][]TrackDay{}
	for _, j := range joins {
		if strings.Split(j.Track, "-")[0] == strings.Split(j.Into, "-")[0] {
			right++
		}
		if _, ok := chains[j.Into]; !ok {
			chains[j.Into] = []TrackDay{byTrack[j.Into]}
		}
		chains[j.Into] = append(chains[j.Into], byTrack[j.Track])
	}
	t.Logf("%d phones, %d tracks, %d continuations; %d joins, %d right", phones, len(days), cont, len(joins), right)
	if n := len(joins); n < cont*9/10 || n > cont*11/10 {
		t.Errorf("%d joins for %d continuations", n, cont)
	}
	if right < len(joins)/2 { // by chance alone: about 28% (568 of some 2000 candidates)
		t.Errorf("%d of %d joins right", right, len(joins))
	}
	for into, c := range chains {
		slices.SortFunc(c, func(a, b TrackDay) int { return int(a.First - b.First) })
		if c[0].Track != into {
			t.Errorf("chain %s: its first fragment is %s", into, c[0].Track)
		}
		for i := 1; i < len(c); i++ {
			if gap := c[i].First - c[i-1].Last; gap <= 0 || gap > splitWindow {
				t.Errorf("chain %s: %s begins %d ms after %s ends", into, c[i].Track, gap, c[i-1].Track)
			}
		}
		if span := c[len(c)-1].Last - c[0].First; span > joinSpanMs {
			t.Errorf("chain %s spans %d ms", into, span)
		}
	}
	shuffled := slices.Clone(days)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	again := Joins(site, shuffled, nil)
	key := func(js []Join) []string {
		var out []string
		for _, j := range js {
			out = append(out, j.Track+">"+j.Into)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(key(joins), key(again)) {
		t.Error("the joins depend on the summaries' order")
	}
}

// What joinStreet never joins: fragments that overlap, a fragment that was
// in the store (a bounce), staff, two visitors through a street fragment,
// a chain beyond joinSpanMs; and what it joins: a street fragment into the
// visitor it approaches.
func TestJoinStreetRules(t *testing.T) {
	site := loadSite(t)
	h10 := at(2026, 12, 4, 10, 0, 0)
	day := func(track string, first, last int64) TrackDay {
		return TrackDay{Site: site.Site, Day: "2026-12-04", Track: track, First: first, Last: last, Fixes: 2, FP: "aaaa0001", Rand: true}
	}
	// The street is heard from 9:00 to 11:00 (a phone of another model
	// at each end), and nothing else of the model ends: whatever begins
	// near an end continues it (q = 1).
	other := []TrackDay{
		{Site: site.Site, Day: "2026-12-04", Track: "o1", First: h10 - 3600_000, Last: h10 - 3590_000, FP: "bbbb0002", Rand: true},
		{Site: site.Site, Day: "2026-12-04", Track: "o2", First: h10 + 3590_000, Last: h10 + 3600_000, FP: "bbbb0002", Rand: true},
	}
	visit := func(track string, start, end int64) Visit {
		return Visit{Site: site.Site, Track: track, Zone: "store", Start: start, End: end, Fixes: 10}
	}
	for _, c := range []struct {
		name   string
		days   []TrackDay
		visits []Visit
		want   []string // track>into
	}{
		{"two fragments", []TrackDay{day("a", h10, h10+10_000), day("b", h10+40_000, h10+50_000)}, nil, []string{"b>a"}},
		{"overlap", []TrackDay{day("a", h10, h10+30_000), day("b", h10+20_000, h10+50_000)}, nil, nil},
		{"bounce", []TrackDay{day("a", h10, h10+10_000), day("b", h10+40_000, h10+50_000)},
			[]Visit{visit("b", h10+41_000, h10+45_000)}, nil},
		{"staff", []TrackDay{day("s", h10-5*3600_000, h10), day("b", h10+40_000, h10+50_000)}, nil, nil},
		{"approach", []TrackDay{day("a", h10, h10+10_000), day("v", h10+40_000, h10+640_000)},
			[]Visit{visit("v", h10+60_000, h10+600_000)}, []string{"a>v"}},
		{"two visitors", []TrackDay{day("v", h10-600_000, h10), day("a", h10+30_000, h10+40_000), day("w", h10+70_000, h10+640_000)},
			[]Visit{visit("v", h10-590_000, h10-10_000), visit("w", h10+80_000, h10+600_000)}, []string{"a>v"}},
		{"span", []TrackDay{day("a", h10, h10+100_000), day("b", h10+150_000, h10+250_000), day("c", h10+300_000, h10+400_000)}, nil,
			[]string{"b>a"}},
	} {
		var got []string
		for _, j := range Joins(site, append(slices.Clone(other), c.days...), c.visits) {
			got = append(got, j.Track+">"+j.Into)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: joins %v, want %v", c.name, got, c.want)
		}
	}
}
