package store_test

import (
	"context"
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
