package storetest

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// forgetWorld is a site holding one person's data beside another's: the
// person's pseudonyms P (one key epoch) and P2 (the next), a randomised
// pseudonym R the tracker linked into P's track, and R0, which started a
// track that P's fixes later joined; and O, someone else.
type forgetWorld struct {
	P, P2, R, R0, O wire.Dev
}

func (w forgetWorld) track(d wire.Dev) string { return "k" + d.String()[:12] }

// write stores the world on site: observations, fixes, visits, track days
// and an hour, on day 0 and day 1 (and summaries only, on day -40: their
// fixes and observations long gone).
func (w forgetWorld) write(t *testing.T, s store.Store, site string) {
	ctx := context.Background()
	var obs []wire.Observation
	for i, d := range []wire.Dev{w.P, w.R, w.R0, w.O, w.O, w.P2} {
		day := int64(0)
		if d == w.P2 {
			day = 1
		}
		for j := range 3 {
			obs = append(obs, wire.Observation{T: Day0 + day*dayMs + int64(i*10+j), Dev: d, RSSI: -60, Kind: wire.KindProbe, Seq: -1})
		}
	}
	b := store.RawBatch{Site: site, Recv: Day0 + 2*dayMs, Batch: wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: 1, Sent: Day0 + 2*dayMs, Obs: obs}}
	fatalIf(t, s.WriteBatches(ctx, []store.RawBatch{b}))
	kp, kp2, kr0, ko := w.track(w.P), w.track(w.P2), w.track(w.R0), w.track(w.O)
	fatalIf(t, s.WritePositions(ctx, site, []wire.Position{
		{T: Day0 + 1, Track: kp, Dev: w.P},
		{T: Day0 + 2, Track: kp, Dev: w.R}, // R linked into P's track
		{T: Day0 + 3, Track: kr0, Dev: w.R0},
		{T: Day0 + 4, Track: kr0, Dev: w.P}, // P joined R0's track
		{T: Day0 + 5, Track: ko, Dev: w.O},
		{T: Day0 + dayMs + 1, Track: kp2, Dev: w.P2},
	}))
	old := Day0 - 40*dayMs
	var vs []footfall.Visit
	var ds []footfall.TrackDay
	for _, x := range []struct {
		track string
		t     int64
		day   string
	}{
		{kp, old, "2026-10-25"}, {kp, Day0, "2026-12-04"}, {kr0, Day0 + 3, "2026-12-04"},
		{w.track(w.R), old + 7, "2026-10-25"}, // R's own track of long ago
		{kp2, Day0 + dayMs, "2026-12-05"},
		{ko, old, "2026-10-25"}, {ko, Day0 + 5, "2026-12-04"},
	} {
		vs = append(vs, footfall.Visit{Site: site, Track: x.track, Zone: "store", Start: x.t, End: x.t + 60_000, Fixes: 3},
			footfall.Visit{Site: site, Track: x.track, Zone: "aisle-1", Start: x.t + 1, End: x.t + 30_000, Fixes: 2})
		ds = append(ds, footfall.TrackDay{Site: site, Day: x.day, Track: x.track, First: x.t, Last: x.t + 60_000, Fixes: 3})
	}
	fatalIf(t, s.WriteVisits(ctx, vs))
	fatalIf(t, s.WriteTrackDays(ctx, ds))
	fatalIf(t, s.WriteHours(ctx, site, []wire.Hour{{Start: Day0, Visitors: 2}}))
}

// testForget: forgetting a person's pseudonyms removes their observations
// and fixes, and the summaries of every track named after them or holding
// their fixes, with the observations and fixes of the pseudonyms linked
// into those tracks; someone else's rows, the hours and another site stay.
func testForget(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := forgetWorld{P: 0x1111111111111111, P2: 0x2222222222222222, R: 0x3333333333333333, R0: 0x4444444444444444, O: 0x5555555555555555}
	w.write(t, s, "demo")
	w.write(t, s, "other")
	if since, ok, err := s.DataSince(ctx, "demo"); err != nil || !ok || since != Day0-40*dayMs {
		t.Fatalf("DataSince: %d %v %v, want %d", since, ok, err, Day0-40*dayMs)
	}
	if _, ok, err := s.DataSince(ctx, "none"); err != nil || ok {
		t.Fatalf("DataSince of a site without data: %v %v", ok, err)
	}

	got, err := s.ForgetDevs(ctx, "demo", []wire.Dev{w.P, w.P2}, nil)
	fatalIf(t, err)
	want := store.Forgotten{Devs: 2, Linked: 2, Tracks: 4, Observations: 12, Positions: 5, Visits: 10, TrackDays: 5}
	if erased := slices.Sorted(slices.Values(got.Erased)); !slices.Equal(erased, []wire.Dev{w.P, w.P2, w.R, w.R0}) {
		t.Errorf("erased %v, want P, P2, R and R0", erased)
	}
	if got.Erased = nil; !reflect.DeepEqual(got, want) {
		t.Errorf("forgot %+v, want %+v", got, want)
	}
	gone := map[wire.Dev]bool{w.P: true, w.P2: true, w.R: true, w.R0: true}
	goneTracks := map[string]bool{w.track(w.P): true, w.track(w.P2): true, w.track(w.R): true, w.track(w.R0): true}
	var kept int
	for _, b := range scanAll(t, s, "demo", 0, Day0+3*dayMs) {
		for _, o := range b.Batch.Obs {
			if gone[o.Dev] {
				t.Errorf("an observation of %s survived", o.Dev)
			}
			kept++
		}
	}
	if kept != 6 {
		t.Errorf("%d observations left, want O's 6", kept)
	}
	ps, err := s.Positions(ctx, "demo", 0, Day0+3*dayMs)
	fatalIf(t, err)
	if len(ps) != 1 || ps[0].Dev != w.O {
		t.Errorf("fixes left: %+v, want O's one", ps)
	}
	vs, err := s.Visits(ctx, "demo", 0, Day0+3*dayMs)
	fatalIf(t, err)
	ds, err := s.TrackDays(ctx, "demo", 0, Day0+3*dayMs)
	fatalIf(t, err)
	for _, v := range vs {
		if goneTracks[v.Track] {
			t.Errorf("a visit of %s survived", v.Track)
		}
	}
	for _, d := range ds {
		if goneTracks[d.Track] {
			t.Errorf("a track day of %s survived", d.Track)
		}
	}
	if len(vs) != 4 || len(ds) != 2 {
		t.Errorf("%d visits and %d track days left, want O's 4 and 2", len(vs), len(ds))
	}
	if hs, _ := s.Hours(ctx, "demo", 0, Day0+3*dayMs); len(hs) != 1 {
		t.Errorf("%d hours left: the aggregates stay", len(hs))
	}
	// The other site still holds everything.
	if c, _ := s.CountObservations(ctx, "other", 0, Day0+3*dayMs); c != 18 {
		t.Errorf("other site: %d observations", c)
	}
	if vs, _ := s.Visits(ctx, "other", 0, Day0+3*dayMs); len(vs) != 14 {
		t.Errorf("other site: %d visits", len(vs))
	}
	// Again: nothing more to forget.
	got, err = s.ForgetDevs(ctx, "demo", []wire.Dev{w.P, w.P2}, nil)
	fatalIf(t, err)
	if got.Erased = nil; !reflect.DeepEqual(got, store.Forgotten{Devs: 2}) {
		t.Errorf("forgetting again: %+v", got)
	}
	if got, err := s.ForgetDevs(ctx, "demo", nil, nil); err != nil || !reflect.DeepEqual(got, store.Forgotten{}) {
		t.Errorf("forgetting nothing: %+v %v", got, err)
	}
	// A track named by the caller (the server knows it from memory) goes
	// with the other pseudonyms of its fixes.
	fatalIf(t, s.WritePositions(ctx, "demo", []wire.Position{{T: Day0 + 9, Track: "k-mem", Dev: 7}, {T: Day0 + 10, Track: "k-mem", Dev: 8}}))
	fatalIf(t, s.WriteVisits(ctx, []footfall.Visit{{Site: "demo", Track: "k-mem", Zone: "store", Start: Day0 + 9, End: Day0 + 10, Fixes: 2}}))
	got, err = s.ForgetDevs(ctx, "demo", nil, []string{"k-mem"})
	fatalIf(t, err)
	if got.Erased = nil; !reflect.DeepEqual(got, store.Forgotten{Linked: 2, Tracks: 1, Positions: 2, Visits: 1}) {
		t.Errorf("forgetting a track by name: %+v", got)
	}
}

// testForgetChain: the person's other addresses are followed to a fixed
// point, not one hop. P's track holds R (the tracker linked it); R's fixes
// also lie in the track started by X, whose fixes lie in the track
// started by Y: all four addresses are the same phone's, and everything
// of them goes. O, on a track of its own, stays.
func testForgetChain(t *testing.T, s store.Store) {
	ctx := context.Background()
	const P, R, X, Y, O wire.Dev = 0x1010101010101010, 0x2020202020202020, 0x3030303030303030, 0x4040404040404040, 0x5050505050505050
	tr := store.TrackOf
	fatalIf(t, s.WritePositions(ctx, "demo", []wire.Position{
		{T: Day0 + 1, Track: tr(P), Dev: P},
		{T: Day0 + 2, Track: tr(P), Dev: R},
		{T: Day0 + 3, Track: tr(X), Dev: X},
		{T: Day0 + 4, Track: tr(X), Dev: R},
		{T: Day0 + 5, Track: tr(Y), Dev: Y},
		{T: Day0 + 6, Track: tr(Y), Dev: X},
		{T: Day0 + 7, Track: tr(O), Dev: O},
	}))
	var vs []footfall.Visit
	for _, d := range []wire.Dev{P, X, Y, O} {
		vs = append(vs, footfall.Visit{Site: "demo", Track: tr(d), Zone: "store", Start: Day0, End: Day0 + 60_000, Fixes: 2})
	}
	fatalIf(t, s.WriteVisits(ctx, vs))
	got, err := s.ForgetDevs(ctx, "demo", []wire.Dev{P}, nil)
	fatalIf(t, err)
	if erased := slices.Sorted(slices.Values(got.Erased)); !slices.Equal(erased, []wire.Dev{P, R, X, Y}) {
		t.Errorf("erased %v, want P, R, X and Y", erased)
	}
	if got.Erased = nil; !reflect.DeepEqual(got, store.Forgotten{Devs: 1, Linked: 3, Tracks: 3, Positions: 6, Visits: 3}) {
		t.Errorf("forgot %+v", got)
	}
	ps, err := s.Positions(ctx, "demo", 0, Day0+dayMs)
	fatalIf(t, err)
	if len(ps) != 1 || ps[0].Dev != O {
		t.Errorf("fixes left: %+v, want O's one", ps)
	}
	vs, err = s.Visits(ctx, "demo", 0, Day0+dayMs)
	fatalIf(t, err)
	if len(vs) != 1 || vs[0].Track != tr(O) {
		t.Errorf("visits left: %+v, want O's one", vs)
	}
}
