package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

// backends gives each benchmark a fresh migrated store of both kinds.
var backends = []struct {
	name string
	open func(testing.TB) *store.DB
}{
	{"postgres", storetest.OpenPostgres},
	{"sqlite", storetest.OpenSQLite},
}

// BenchmarkWriteBatches writes observations as ingest does: 100 batches of
// 100 observations per call.
func BenchmarkWriteBatches(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			bs := storetest.Batches(1, "demo", 100, 100, 500, storetest.Day0)
			n := 0
			for b.Loop() {
				// Move on in time so that the table grows like a live one's.
				for i := range bs {
					for j := range bs[i].Batch.Obs {
						bs[i].Batch.Obs[j].T += 100_000
					}
					bs[i].Recv += 100_000
				}
				if err := s.WriteBatches(ctx, bs); err != nil {
					b.Fatal(err)
				}
				n += 100 * 100
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "obs/s")
		})
	}
}

// BenchmarkWritePositions writes 10,000 position fixes per call.
func BenchmarkWritePositions(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			ps := make([]wire.Position, 10000)
			for i := range ps {
				ps[i] = wire.Position{T: storetest.Day0 + int64(i)*10, Track: fmt.Sprint("k", i%300),
					Dev: wire.Dev(uint64(i%700) * 0x9e3779b97f4a7c15), X: float64(i%30) + 0.5, Y: float64(i%20) + 0.25,
					Err: 1.5, Zone: "store", N: 4}
			}
			n := 0
			for b.Loop() {
				for i := range ps {
					ps[i].T += 100_000
				}
				if err := s.WritePositions(ctx, "demo", ps); err != nil {
					b.Fatal(err)
				}
				n += len(ps)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// month makes 30 days of a busy shop: 3000 visitors a day, each with a
// track day, a store visit and two zone visits.
func month() ([]footfall.TrackDay, []footfall.Visit) {
	var (
		ds []footfall.TrackDay
		vs []footfall.Visit
	)
	for d := range 30 {
		day0 := storetest.Day0 + int64(d)*24*3600*1000
		date := time.UnixMilli(day0).UTC().Format("2006-01-02")
		for v := range 3000 {
			track := fmt.Sprintf("k%d-%d", d, v)
			first := day0 + 9*3600_000 + int64(v)*11_000
			ds = append(ds, footfall.TrackDay{Site: "demo", Day: date, Track: track, First: first, Last: first + 1_200_000, Fixes: 240})
			vs = append(vs,
				footfall.Visit{Site: "demo", Track: track, Zone: "store", Start: first + 60_000, End: first + 1_100_000, Fixes: 200},
				footfall.Visit{Site: "demo", Track: track, Zone: "aisle-1", Start: first + 120_000, End: first + 400_000, Fixes: 50},
				footfall.Visit{Site: "demo", Track: track, Zone: "till", Start: first + 800_000, End: first + 1_000_000, Fixes: 30})
		}
	}
	return ds, vs
}

// BenchmarkReadMonth reads a month of a busy shop's summaries (90,000
// track days and 270,000 visits), what a month's report is built from.
func BenchmarkReadMonth(b *testing.B) {
	ds, vs := month()
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			t0 := time.Now()
			if err := s.WriteTrackDays(ctx, ds); err != nil {
				b.Fatal(err)
			}
			if err := s.WriteVisits(ctx, vs); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: wrote %d track days and %d visits in %v", be.name, len(ds), len(vs), time.Since(t0))
			from, to := storetest.Day0, storetest.Day0+30*24*3600*1000
			for b.Loop() {
				gd, err := s.TrackDays(ctx, "demo", from, to)
				if err != nil || len(gd) != len(ds) {
					b.Fatal(len(gd), err)
				}
				gv, err := s.Visits(ctx, "demo", from, to)
				if err != nil || len(gv) != len(vs) {
					b.Fatal(len(gv), err)
				}
			}
			b.ReportMetric(float64(len(ds)+len(vs))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkScanBatches reads raw observations back as batches in receive
// order, as a re-processing does: 200,000 observations per scan.
func BenchmarkScanBatches(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			for i := range 20 {
				if err := s.WriteBatches(ctx, storetest.Batches(uint64(i), "demo", 100, 100, 500, storetest.Day0+int64(i)*100_000)); err != nil {
					b.Fatal(err)
				}
			}
			n := 0
			for b.Loop() {
				err := s.ScanBatches(ctx, "demo", 0, storetest.Day0+dayMs, func(rb *store.RawBatch) error {
					n += len(rb.Batch.Obs)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if n != 200_000*b.N {
				b.Fatalf("read %d observations in %d scans", n, b.N)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "obs/s")
		})
	}
}

// BenchmarkScanPositions streams 200,000 stored fixes (a heatmap's read).
func BenchmarkScanPositions(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			ps := make([]wire.Position, 200_000)
			for i := range ps {
				ps[i] = wire.Position{T: storetest.Day0 + int64(i)*10, Track: fmt.Sprint("k", i%3000),
					Dev: wire.Dev(uint64(i%7000) * 0x9e3779b97f4a7c15), X: float64(i%30) + 0.5, Y: float64(i%20) + 0.25,
					Err: 1.5, Zone: []string{"store", "aisle-1", "till"}[i%3], N: 4}
			}
			if err := s.WritePositions(ctx, "demo", ps); err != nil {
				b.Fatal(err)
			}
			n := 0
			for b.Loop() {
				err := s.ScanPositions(ctx, "demo", 0, storetest.Day0+dayMs, func(*wire.Position) error { n++; return nil })
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "fixes/s")
		})
	}
}

// BenchmarkForgetDevs erases one person (three pseudonyms, none stored:
// the data stays the same from one round to the next) from a site holding
// a million observations, 50,000 fixes, 6,000 visits and 3,000 track days:
// the scans by pseudonym dominate (no index on dev).
func BenchmarkForgetDevs(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			for k := range 10 {
				if err := s.WriteBatches(ctx, storetest.Batches(uint64(k), "demo", 100, 1000, 3000, storetest.Day0+int64(k)*100_000)); err != nil {
					b.Fatal(err)
				}
			}
			ps := make([]wire.Position, 50000)
			for i := range ps {
				d := wire.Dev(uint64(i%3000) * 0x9e3779b97f4a7c15)
				ps[i] = wire.Position{T: storetest.Day0 + int64(i)*20, Track: store.TrackOf(d), Dev: d, X: 1, Y: 2, Err: 1}
			}
			if err := s.WritePositions(ctx, "demo", ps); err != nil {
				b.Fatal(err)
			}
			var vs []footfall.Visit
			var ds []footfall.TrackDay
			for i := range 3000 {
				d := wire.Dev(uint64(i) * 0x9e3779b97f4a7c15)
				t0 := storetest.Day0 + int64(i)*300
				vs = append(vs, footfall.Visit{Site: "demo", Track: store.TrackOf(d), Zone: "store", Start: t0, End: t0 + 60_000, Fixes: 3},
					footfall.Visit{Site: "demo", Track: store.TrackOf(d), Zone: "aisle-1", Start: t0 + 1, End: t0 + 30_000, Fixes: 2})
				ds = append(ds, footfall.TrackDay{Site: "demo", Day: "2026-12-04", Track: store.TrackOf(d), First: t0, Last: t0 + 60_000, Fixes: 3})
			}
			if err := s.WriteVisits(ctx, vs); err != nil {
				b.Fatal(err)
			}
			if err := s.WriteTrackDays(ctx, ds); err != nil {
				b.Fatal(err)
			}
			person := []wire.Dev{0x1111111111111111, 0x2222222222222222, 0x3333333333333333}
			for b.Loop() {
				f, err := s.ForgetDevs(ctx, "demo", person, nil)
				if err != nil || f.Observations != 0 {
					b.Fatalf("%+v %v", f, err)
				}
			}
		})
	}
}
