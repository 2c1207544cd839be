package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

func TestPrune(t *testing.T) {
	s := storetest.OpenSQLite(t)
	ctx := context.Background()
	if _, err := s.SaveSite(ctx, storetest.Site(t, "demo"), store.SourceAPI, ""); err != nil {
		t.Fatal(err)
	}
	// Day 0 to 2 of observations, 10 devices; one became a visitor.
	var bs []store.RawBatch
	for d := int64(0); d < 3; d++ {
		bs = append(bs, storetest.Batches(uint64(d), "demo", 10, 20, 10, storetest.Day0+d*dayMs)...)
	}
	if err := s.WriteBatches(ctx, bs); err != nil {
		t.Fatal(err)
	}
	visitor := bs[0].Batch.Obs[0].Dev
	if err := s.WritePositions(ctx, "demo", []wire.Position{{T: storetest.Day0}, {T: storetest.Day0 + 2*dayMs}}); err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(storetest.Day0 + 2*dayMs + 60_000) // a minute after day 2's batches
	if err := s.WriteVisits(ctx, []footfall.Visit{{Site: "demo", Track: "k", Zone: "store", Start: storetest.Day0},
		{Site: "demo", Track: "k", Zone: "store", Start: storetest.Day0 + 2*dayMs}}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteTrackDays(ctx, []footfall.TrackDay{{Site: "demo", Day: "d0", Track: "k", First: storetest.Day0}}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteHours(ctx, "demo", []wire.Hour{{Start: storetest.Day0}, {Start: storetest.Day0 + 2*dayMs}}); err != nil {
		t.Fatal(err)
	}
	r := store.Retention{PassersBy: 24 * time.Hour, Raw: 48 * time.Hour, Positions: 36 * time.Hour, Summaries: 36 * time.Hour}
	p, err := store.Prune(ctx, s, now, r, func(site string) ([]wire.Dev, error) {
		if site != "demo" {
			t.Errorf("keep asked for %s", site)
		}
		return []wire.Dev{visitor}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Days 0 and 1 are older than 24 h: only the visitor's observations
	// stay; day 0 is older than 48 h: everything goes.
	var visitorDay1, day01 int64
	for _, b := range bs[:20] {
		for _, o := range b.Batch.Obs {
			day01++
			if o.Dev == visitor && o.T >= storetest.Day0+dayMs {
				visitorDay1++
			}
		}
	}
	left, _ := s.CountObservations(ctx, "demo", 0, storetest.Day0+2*dayMs)
	if left != visitorDay1 || visitorDay1 == 0 {
		t.Fatalf("%d observations left before day 2, want the visitor's %d of day 1", left, visitorDay1)
	}
	if p.PassersBy+p.Observations != day01-visitorDay1 || p.Observations == 0 || p.Positions != 1 || p.Summaries != 3 {
		t.Fatalf("pruned %+v", p)
	}
	if n, _ := s.CountObservations(ctx, "demo", storetest.Day0+2*dayMs, storetest.Day0+3*dayMs); n != 200 {
		t.Fatalf("day 2: %d", n)
	}
}

func TestDeleteSummariesBefore(t *testing.T) {
	s := storetest.OpenSQLite(t)
	ctx := context.Background()
	s.WriteVisits(ctx, []footfall.Visit{{Site: "a", Track: "k", Zone: "store", Start: 5}, {Site: "b", Track: "k", Zone: "store", Start: 15}})
	s.WriteTrackDays(ctx, []footfall.TrackDay{{Site: "a", Day: "d", Track: "k", First: 5}})
	s.WriteHours(ctx, "a", []wire.Hour{{Start: 0}, {Start: 10}})
	n, err := s.DeleteSummariesBefore(ctx, 10)
	if err != nil || n != 3 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if vs, _ := s.Visits(ctx, "b", 0, 100); len(vs) != 1 {
		t.Fatal("a later visit went")
	}
	if hs, _ := s.Hours(ctx, "a", 0, 100); len(hs) != 1 || hs[0].Start != 10 {
		t.Fatalf("hours %+v", hs)
	}
}

// TestPruneGoesOnPastASite: when the visitors of one site cannot be read
// (keep fails), that site's passers-by are kept (nothing is known to be
// deletable), but the other sites' passers-by and every site's raw
// observations past the Raw limit still go, and the error names the site.
// Before, Prune returned at the first site it could not read: no other
// site's passers-by, no raw observation, fix or summary was deleted for as
// long as that one site failed.
func TestPruneGoesOnPastASite(t *testing.T) {
	s := storetest.OpenSQLite(t)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if _, err := s.SaveSite(ctx, storetest.Site(t, id), store.SourceAPI, ""); err != nil {
			t.Fatal(err)
		}
		var bs []store.RawBatch
		for d := int64(0); d < 3; d++ {
			bs = append(bs, storetest.Batches(uint64(d), id, 10, 20, 10, storetest.Day0+d*dayMs)...)
		}
		if err := s.WriteBatches(ctx, bs); err != nil {
			t.Fatal(err)
		}
	}
	now := time.UnixMilli(storetest.Day0 + 2*dayMs + 60_000)
	r := store.Retention{PassersBy: 24 * time.Hour, Raw: 48 * time.Hour}
	p, err := store.Prune(ctx, s, now, r, func(site string) ([]wire.Dev, error) {
		if site == "a" {
			return nil, errors.New("cannot read a's visitors")
		}
		return nil, nil
	})
	if err == nil || !strings.Contains(err.Error(), "prune a") {
		t.Fatalf("err %v, want site a's", err)
	}
	count := func(site string, from, to int64) int64 {
		n, err := s.CountObservations(ctx, site, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Day 0 is past Raw for both; day 1 is past PassersBy: b's go, a's stay.
	if n := count("a", 0, storetest.Day0+dayMs); n != 0 {
		t.Errorf("site a: %d observations of day 0 left past the Raw limit", n)
	}
	if n := count("b", 0, storetest.Day0+2*dayMs); n != 0 {
		t.Errorf("site b: %d passers-by observations of days 0-1 left", n)
	}
	if n := count("a", storetest.Day0+dayMs, storetest.Day0+2*dayMs); n != 200 {
		t.Errorf("site a: %d observations of day 1, want its 200 kept", n)
	}
	if p.PassersBy != 400 || p.Observations != 200 { // b's days 0-1; a's day 0
		t.Errorf("pruned %+v", p)
	}
}
