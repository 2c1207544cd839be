package footfall

import (
	"fmt"
	"slices"
	"testing"

	"github.com/passant/passant/wire"
)

// chainPieces returns a function that adds a piece of a staff chain test
// on 2026-12-04: a track-day of the fingerprint from first to last, and a
// store visit over all of it.
func chainPieces(site *wire.Site, days *[]TrackDay, visits *[]Visit) func(track, fp string, rand bool, first, last int64) {
	store := storeZone(site)
	return func(track, fp string, rand bool, first, last int64) {
		*days = append(*days, TrackDay{Site: site.Site, Day: "2026-12-04", Track: track, First: first, Last: last, Fixes: 10, FP: fp, Rand: rand})
		*visits = append(*visits, Visit{Site: site.Site, Track: track, Zone: store, Start: first, End: last, Fixes: 10})
	}
}

// chainDay starts a staff chain test on 2026-12-04: the time of hh:mm
// that day, a function that adds a piece of a randomised fingerprint
// (chainPieces), and one that builds the day's report of the pieces added
// and returns it with their summaries and classes.
func chainDay(t *testing.T) (h func(hh, mm int) int64, piece func(track, fp string, first, last int64), build func() (wire.Report, []TrackDay, map[string]Class)) {
	site := loadSite(t)
	var days []TrackDay
	var visits []Visit
	add := chainPieces(site, &days, &visits)
	h = func(hh, mm int) int64 { return at(2026, 12, 4, hh, mm, 0) }
	return h, func(track, fp string, first, last int64) { add(track, fp, true, first, last) },
		func() (wire.Report, []TrackDay, map[string]Class) {
			rep := Build(site, h(0, 0), at(2026, 12, 5, 0, 0, 0), days, visits, nil, History{})
			return rep, days, Classes(site, days, visits)
		}
}

// A staff phone's day in pieces: tracks of one randomised fingerprint
// that follow each other in the store and together span more than
// staff_min_dwell_s are one staff member; a shopper's phone of the model
// whose track does not follow a piece stays a visitor, and so does a
// chain that spans less.
func TestStaffChain(t *testing.T) {
	site := loadSite(t)
	h := func(hh, mm int) int64 { return at(2026, 12, 4, hh, mm, 0) }
	var days []TrackDay
	var visits []Visit
	piece := chainPieces(site, &days, &visits)
	// The staff phone: 09:00-14:10 in four pieces (an overlap of 5 min,
	// gaps of 3 min and 30 s).
	piece("s1", "F", true, h(9, 0), h(10, 0))
	piece("s2", "F", true, h(9, 55), h(11, 30))
	piece("s3", "F", true, h(11, 33), h(12, 40))
	piece("s4", "F", true, h(12, 40)+30_000, h(14, 10))
	// Shoppers with phones of the model: inside the chain's hours but not
	// following a piece's end, and 20 min after its end.
	piece("c1", "F", true, h(10, 20), h(10, 35))
	piece("c2", "F", true, h(14, 30), h(14, 45))
	// Another model's pieces, 3 h in all: visitors.
	piece("g1", "G", true, h(9, 0), h(10, 0))
	piece("g2", "G", true, h(10, 2), h(11, 0))
	piece("g3", "G", true, h(11, 1), h(12, 0))
	// Phones that keep their address are never chained.
	piece("k1", "K", false, h(9, 0), h(11, 0))
	piece("k2", "K", false, h(11, 1), h(14, 0))

	from, to := h(0, 0), at(2026, 12, 5, 0, 0, 0)
	rep := Build(site, from, to, days, visits, nil, History{})
	if tot := rep.Totals; tot.Staff != 1 || tot.Visitors != 7 {
		t.Errorf("staff %d visitors %d, want 1 and 7", tot.Staff, tot.Visitors)
	}

	// Two staff phones of one model "H": the first one's day in two pieces;
	// the second one's in six pieces of 38-52 min, 8-12 min apart (the
	// first round's chains took what lay between): a second staff member.
	// A shopper of the model between two of them stays a visitor, and so
	// do shoppers of a model "S" whose short tracks follow each other 12
	// min apart for 5 hours.
	piece("a1", "H", true, h(9, 0), h(12, 0))
	piece("a2", "H", true, h(11, 58), h(15, 0))
	for i, p := range [][4]int{{9, 10, 10, 0}, {10, 10, 10, 50}, {11, 2, 11, 40}, {11, 48, 12, 40}, {12, 52, 13, 40}, {13, 50, 14, 30}} {
		piece(fmt.Sprintf("b%d", i+1), "H", true, h(p[0], p[1]), h(p[2], p[3]))
	}
	piece("d1", "H", true, h(10, 55), h(11, 0))
	for i := range 15 {
		first := h(9, 0) + int64(i)*20*60_000
		piece(fmt.Sprintf("e%d", i+1), "S", true, first, first+8*60_000)
	}
	rep = Build(site, from, to, days, visits, nil, History{})
	if tot := rep.Totals; tot.Staff != 3 || tot.Visitors != 7+1+15 {
		t.Errorf("with model H and S: staff %d visitors %d, want 3 and 23", tot.Staff, tot.Visitors)
	}
	cl := Classes(site, days, visits)
	for _, k := range []string{"a1", "a2", "b1", "b2", "b3", "b4", "b5", "b6"} {
		if cl[k] != Staff {
			t.Errorf("%s: %v", k, cl[k])
		}
	}
	for _, k := range []string{"d1", "e1", "e8", "e15"} {
		if cl[k] != Visitor {
			t.Errorf("%s: %v", k, cl[k])
		}
	}

	// Pieces of 20 min or more may overlap by up to 15 min: model "L" in
	// two pieces 12 min over each other, 4 h 40 min in all, is staff;
	// model "M"'s 18-min piece 12 min over a long one is not a link, and
	// the rest spans 3 h 55 min: visitors.
	n := len(days)
	piece("l1", "L", true, h(9, 0), h(11, 30))
	piece("l2", "L", true, h(11, 18), h(13, 40))
	piece("m1", "M", true, h(9, 0), h(12, 55))
	piece("m2", "M", true, h(12, 43), h(13, 1))
	piece("m3", "M", true, h(13, 1), h(13, 30))
	cl = Classes(site, days, visits)
	for k, want := range map[string]Class{"l1": Staff, "l2": Staff, "m1": Visitor, "m2": Visitor, "m3": Visitor} {
		if cl[k] != want {
			t.Errorf("%s: %v, want %v", k, cl[k], want)
		}
	}
	days, visits = days[:n], visits[:n]

	days, visits = days[:11], visits[:11]
	rep = Build(site, from, to, days, visits, nil, History{})
	if rep.Hours[9].Staff != 1 || rep.Hours[11].Staff != 0 || rep.Hours[12].Staff != 0 {
		t.Errorf("staff by hour: 9 %d, 11 %d, 12 %d", rep.Hours[9].Staff, rep.Hours[11].Staff, rep.Hours[12].Staff)
	}
	cl = Classes(site, days, visits)
	for _, k := range []string{"s1", "s2", "s3", "s4"} {
		if cl[k] != Staff {
			t.Errorf("%s: %v", k, cl[k])
		}
	}
	for _, k := range []string{"c1", "c2", "g1", "g2", "g3", "k1", "k2"} {
		if cl[k] != Visitor {
			t.Errorf("%s: %v", k, cl[k])
		}
	}
	// Occupancy leaves the chain out: at most the shopper c1, g2 and k1
	// at 10:20-10:35.
	if occ := ZoneOccupancy(site, h(10, 0), h(11, 0), days, visits)[storeZone(site)]; len(occ) != 1 || occ[0].Max != 3 {
		t.Errorf("occupancy 10:00 %+v", occ)
	}
	// The pieces in another order give the same classes.
	slices.Reverse(days)
	slices.Reverse(visits)
	rep2 := Build(site, from, to, days, visits, nil, History{})
	if rep2.Totals.Staff != 1 || rep2.Totals.Visitors != 7 || rep2.Hours[9].Staff != 1 {
		t.Errorf("in another order: staff %d visitors %d", rep2.Totals.Staff, rep2.Totals.Visitors)
	}
}

// A chain of the first round beside another of its model goes to the
// second round, which joins to it the pieces before and after it across
// the longer gaps that the kept chain's pieces, together, last over: all
// are staff. It does not count again (its hour-long pieces cover 74% of
// it, under sideBySide's 85%: by the summaries it may as well be a crowd
// of the model's shoppers), and one phone's day broken into two chains 8
// minutes apart counts once.
func TestStaffChainBeside(t *testing.T) {
	h, piece, build := chainDay(t)
	// Model "P": one phone 09:00-19:00 in three pieces; another one's
	// 10:08-15:30 in three pieces 3 min apart (a chain of the first round,
	// beside the first), with a piece 8 min before it and one 14 min after
	// it, where p2 and p3 together, but neither alone, last over the gap.
	piece("p1", "P", h(9, 0), h(13, 0))
	piece("p2", "P", h(12, 58), h(15, 41))
	piece("p3", "P", h(15, 38), h(19, 0))
	piece("q0", "P", h(9, 10), h(10, 0))
	piece("q1", "P", h(10, 8), h(10, 50))
	piece("q2", "P", h(10, 53), h(13, 30))
	piece("q3", "P", h(13, 33), h(15, 30))
	piece("q4", "P", h(15, 44), h(17, 0))
	// Model "R": one phone, 09:00-13:30 and 13:38-18:00 in two pieces each.
	piece("r1", "R", h(9, 0), h(11, 0))
	piece("r2", "R", h(10, 58), h(13, 30))
	piece("r3", "R", h(13, 38), h(16, 0))
	piece("r4", "R", h(15, 59), h(18, 0))

	rep := allStaff(t, 2, build)
	// Model P counts in the hour of p1, model R only in the hour of r1.
	if rep.Hours[9].Staff != 2 || rep.Hours[13].Staff != 0 {
		t.Errorf("staff at 9: %d, at 13: %d, want 2 and 0", rep.Hours[9].Staff, rep.Hours[13].Staff)
	}
}

// A chain's first or last piece that lies mostly under its neighbour is
// another phone's (a shopper's track that began before the staff phone's
// first piece, or outlasted its last), not the chain's: it stays a
// visitor. A first piece whose own part is longer than its overlap (the
// staff phone's track, taken over at its end) stays in the chain.
func TestStaffChainEnds(t *testing.T) {
	h, piece, build := chainDay(t)
	// Model "T": the staff phone 09:05-18:00 in two pieces; a shopper
	// 09:02-09:12 (3 min before the first piece, 7 min under it) and one
	// 17:56-18:02 (4 min under the last piece, 2 min after it).
	// Model "V": the staff phone's first piece 09:00-10:00, taken over at
	// its end (its next piece began at 09:50): all staff.
	pieces := []struct {
		track, fp string
		from, to  [2]int // hh, mm
	}{
		{"t1", "T", [2]int{9, 5}, [2]int{12, 0}}, {"t2", "T", [2]int{11, 58}, [2]int{18, 0}},
		{"u1", "T", [2]int{9, 2}, [2]int{9, 12}}, {"u2", "T", [2]int{17, 56}, [2]int{18, 2}},
		{"v1", "V", [2]int{9, 0}, [2]int{10, 0}}, {"v2", "V", [2]int{9, 50}, [2]int{17, 0}},
	}
	for _, p := range pieces {
		piece(p.track, p.fp, h(p.from[0], p.from[1]), h(p.to[0], p.to[1]))
	}

	rep, _, cl := build()
	if tot := rep.Totals; tot.Staff != 2 || tot.Visitors != 2 {
		t.Errorf("staff %d visitors %d, want 2 and 2", tot.Staff, tot.Visitors)
	}
	for k, want := range map[string]Class{"t1": Staff, "t2": Staff, "u1": Visitor, "u2": Visitor, "v1": Staff, "v2": Staff} {
		if cl[k] != want {
			t.Errorf("%s: %v, want %v", k, cl[k], want)
		}
	}
	// Staff counts in the hour of the chain's first piece.
	if rep.Hours[9].Staff != 2 {
		t.Errorf("staff at 9: %d, want 2", rep.Hours[9].Staff)
	}
}

// A second staff phone of a model, whose chain lies beside the first
// one's all day in pieces of an hour or more, is a second staff member; a
// chain beside made of shorter tracks (one model's shoppers following each
// other, or too little of it in hour-long pieces) is not.
func TestStaffChainSecondPhone(t *testing.T) {
	h, piece, build := chainDay(t)
	// Pieces: track, model, from hh:mm to hh:mm.
	for _, p := range []struct {
		track, fp      string
		h1, m1, h2, m2 int
	}{
		// Model "S": two staff phones, 09:00-19:00 and 09:30-18:30.
		{"s1", "S", 9, 0, 14, 0}, {"s2", "S", 13, 58, 19, 0},
		{"t1", "S", 9, 30, 11, 30}, {"t2", "S", 11, 28, 13, 40}, {"t3", "S", 13, 38, 16, 0}, {"t4", "S", 15, 58, 18, 30},
		// Model "C": one staff phone (shoppers' tracks below).
		{"c1", "C", 9, 0, 14, 0}, {"c2", "C", 13, 58, 19, 0},
		// Model "E": one staff phone, and a chain beside it 09:30-15:30
		// whose hour-long pieces cover 277 of its 360 minutes (77%).
		{"e1", "E", 9, 0, 14, 0}, {"e2", "E", 13, 58, 19, 0},
		{"f1", "E", 9, 30, 11, 30}, {"f2", "E", 11, 32, 11, 57}, {"f3", "E", 11, 59, 12, 24},
		{"f4", "E", 12, 26, 12, 51}, {"f5", "E", 12, 53, 15, 30},
	} {
		piece(p.track, p.fp, h(p.h1, p.m1), h(p.h2, p.m2))
	}
	// Model "C": shoppers' 40-minute tracks 2 minutes apart from 09:30 to
	// 15:04, beside the staff phone.
	for i := range 8 {
		m := 9*60 + 30 + 42*i
		piece(fmt.Sprint("x", i), "C", h(m/60, m%60), h((m+40)/60, (m+40)%60))
	}

	rep := allStaff(t, 4, build)
	if rep.Hours[9].Staff != 4 {
		t.Errorf("staff at 9: %d, want 4", rep.Hours[9].Staff)
	}
}

// allStaff builds the day's report and checks that every track is staff,
// counted as n members of staff; it returns the report.
func allStaff(t *testing.T, n int, build func() (wire.Report, []TrackDay, map[string]Class)) wire.Report {
	t.Helper()
	rep, days, cl := build()
	if tot := rep.Totals; tot.Staff != n || tot.Visitors != 0 {
		t.Errorf("staff %d visitors %d, want %d and 0", tot.Staff, tot.Visitors, n)
	}
	for _, d := range days {
		if cl[d.Track] != Staff {
			t.Errorf("%s: %v", d.Track, cl[d.Track])
		}
	}
	return rep
}
