package storetest

import (
	"context"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// Day0 is a UTC midnight (2026-12-04) the tests' times start from.
const Day0 = int64(1796342400000)

// Batches returns n seeded random batches of site, each with obsPer
// observations of devs distinct devices, starting at t0, received in
// order.
func Batches(seed uint64, site string, n, obsPer, devs int, t0 int64) []store.RawBatch {
	r := rand.New(rand.NewPCG(seed, 1))
	sensors := []string{"s1", "s2", "s3"}
	ids := map[string]int64{}
	bs := make([]store.RawBatch, n)
	t := t0
	for i := range bs {
		sensor := sensors[r.IntN(len(sensors))]
		ids[sensor]++
		b := wire.Batch{V: 1, Sensor: sensor, Boot: t0 - 1000, ID: ids[sensor], Sent: t + 900}
		b.Obs = make([]wire.Observation, obsPer)
		for j := range b.Obs {
			o := &b.Obs[j]
			o.T = t + int64(j)
			o.Dev = wire.Dev(r.Uint64()%uint64(devs)) * 0x9e3779b97f4a7c15 // spread over all 64 bits
			o.RSSI = -30 - float64(r.IntN(700))/10
			o.Ch = 1 + r.IntN(13)
			o.Kind = wire.KindProbe
			o.Rand = r.IntN(2) == 0
			o.Seq = r.IntN(4097) - 1
			if r.IntN(3) > 0 {
				o.FP = "9c1e22aa"
			}
		}
		bs[i] = store.RawBatch{Site: site, Recv: t + 1000, Batch: b}
		t += 1000
	}
	return bs
}

func scanAll(t *testing.T, s store.Store, site string, from, to int64) []store.RawBatch {
	t.Helper()
	var got []store.RawBatch
	err := s.ScanBatches(context.Background(), site, from, to, func(b *store.RawBatch) error {
		c := *b
		c.Batch.Obs = append([]wire.Observation(nil), b.Batch.Obs...)
		got = append(got, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testObservations(t *testing.T, s store.Store) {
	ctx := context.Background()
	bs := Batches(1, "demo", 50, 20, 30, Day0+3600_000)
	// Written out of receive order, in two calls, with another site's and an
	// empty batch between.
	other := Batches(2, "other", 5, 10, 5, Day0+3600_000)
	empty := store.RawBatch{Site: "demo", Recv: Day0, Batch: wire.Batch{V: 1, Sensor: "s1", Sent: Day0}}
	fatalIf(t, s.WriteBatches(ctx, append(append([]store.RawBatch{bs[30], empty}, bs[31:]...), other...)))
	fatalIf(t, s.WriteBatches(ctx, bs[:30]))
	fatalIf(t, s.WriteBatches(ctx, nil))

	got := scanAll(t, s, "demo", Day0, Day0+dayMs)
	if !reflect.DeepEqual(got, bs) {
		t.Fatalf("rebuilt %d batches differ from the %d written; first: %+v\nwant %+v", len(got), len(bs), got[0], bs[0])
	}
	n, err := s.CountObservations(ctx, "demo", Day0, Day0+dayMs)
	fatalIf(t, err)
	if n != 50*20 {
		t.Fatalf("count %d", n)
	}
	// A range cuts batches: only observations in range, batches intact
	// otherwise.
	from, to := bs[10].Batch.Obs[5].T, bs[20].Batch.Obs[3].T
	got = scanAll(t, s, "demo", from, to)
	if len(got) != 11 || len(got[0].Batch.Obs) != 15 || len(got[10].Batch.Obs) != 3 {
		t.Fatalf("range: %d batches", len(got))
	}
	if got[0].Batch.Obs[0] != bs[10].Batch.Obs[5] || got[5].Recv != bs[15].Recv {
		t.Fatal("range: wrong batches")
	}
	if n, err := s.CountObservations(ctx, "demo", from, to); err != nil || n != 15+9*20+3 {
		t.Fatalf("range count %d %v", n, err)
	}
	// fn's error stops the scan and comes back.
	stop := context.Canceled
	calls := 0
	err = s.ScanBatches(ctx, "demo", Day0, Day0+dayMs, func(*store.RawBatch) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("stop: %v after %d calls", err, calls)
	}
}

const dayMs = 24 * 3600 * 1000

func testObservationRetention(t *testing.T, s store.Store) {
	ctx := context.Background()
	bs := Batches(3, "demo", 40, 25, 20, Day0)
	fatalIf(t, s.WriteBatches(ctx, bs))
	fatalIf(t, s.WriteBatches(ctx, Batches(4, "other", 10, 10, 5, Day0)))
	cut := bs[20].Batch.Obs[0].T
	// Keep two devices; count what should go.
	keep := []wire.Dev{bs[0].Batch.Obs[0].Dev, bs[0].Batch.Obs[1].Dev}
	var gone, kept int64
	for _, b := range bs {
		for _, o := range b.Batch.Obs {
			if o.T < cut {
				if o.Dev == keep[0] || o.Dev == keep[1] {
					kept++
				} else {
					gone++
				}
			}
		}
	}
	if gone == 0 || kept == 0 {
		t.Fatal("bad test data")
	}
	n, err := s.DeleteObservationsExcept(ctx, "demo", cut, keep)
	fatalIf(t, err)
	if n != gone {
		t.Fatalf("deleted %d, want %d", n, gone)
	}
	left := scanAll(t, s, "demo", Day0, cut)
	var m int64
	for _, b := range left {
		for _, o := range b.Batch.Obs {
			if o.Dev != keep[0] && o.Dev != keep[1] {
				t.Fatalf("dev %s survived", o.Dev)
			}
			m++
		}
	}
	if m != kept {
		t.Fatalf("%d kept, want %d", m, kept)
	}
	if c, _ := s.CountObservations(ctx, "demo", cut, Day0+dayMs); c != 20*25 {
		t.Fatalf("after the cut %d", c)
	}
	if c, _ := s.CountObservations(ctx, "demo", 0, cut); c != kept {
		t.Fatalf("before the cut %d", c)
	}
	if c, _ := s.CountObservations(ctx, "other", Day0, Day0+dayMs); c != 100 {
		t.Fatalf("other site %d", c)
	}
	// An opt-out: one pseudonym's observations and fixes go, on every day.
	dev := bs[25].Batch.Obs[0].Dev
	var obs, other int64
	for _, b := range bs[20:] {
		for _, o := range b.Batch.Obs {
			if o.Dev == dev {
				obs++
			}
		}
	}
	fatalIf(t, s.WritePositions(ctx, "demo", []wire.Position{{T: Day0, Dev: dev}, {T: Day0 + 1, Dev: dev + 1}}))
	fatalIf(t, s.WritePositions(ctx, "other", []wire.Position{{T: Day0, Dev: dev}}))
	f, err := s.ForgetDevs(ctx, "demo", []wire.Dev{dev}, nil)
	fatalIf(t, err)
	if f.Observations != obs || f.Positions != 1 || f.Linked != 0 {
		t.Fatalf("opt-out deleted %+v, want %d observations and 1 fix", f, obs)
	}
	for _, b := range scanAll(t, s, "demo", 0, Day0+dayMs) {
		for _, o := range b.Batch.Obs {
			if o.Dev == dev {
				t.Fatal("an opted-out pseudonym survived")
			}
			other++
		}
	}
	if other != 20*25-obs+kept {
		t.Fatalf("%d observations left", other)
	}
	if ps, _ := s.Positions(ctx, "other", 0, Day0+dayMs); len(ps) != 1 {
		t.Fatal("another site's fix went")
	}
	if c, _ := s.CountObservations(ctx, "demo", cut, Day0+dayMs); c != 20*25-obs {
		t.Fatalf("after the opt-out %d", c)
	}
	// Without a keep list: everything before the cut goes.
	n, err = s.DeleteObservationsExcept(ctx, "demo", cut, nil)
	fatalIf(t, err)
	if n != kept {
		t.Fatalf("deleted %d, want %d", n, kept)
	}
}

// testObservationDays writes several days (PostgreSQL: several partitions)
// and deletes whole days and part of one.
func testObservationDays(t *testing.T, s store.Store) {
	ctx := context.Background()
	var all []store.RawBatch
	for d := int64(0); d < 4; d++ {
		all = append(all, Batches(uint64(10+d), "demo", 10, 10, 10, Day0+d*dayMs+dayMs/2)...)
	}
	// A batch whose observations straddle midnight.
	straddle := Batches(20, "demo", 1, 10, 3, Day0+4*dayMs-5)
	all = append(all, straddle...)
	fatalIf(t, s.WriteBatches(ctx, all))
	if c, _ := s.CountObservations(ctx, "demo", 0, Day0+10*dayMs); c != 410 {
		t.Fatalf("count %d", c)
	}
	cut := Day0 + 2*dayMs + dayMs/2 + 5000 // in day 2, after its first 5 batches
	n, err := s.DeleteObservationsBefore(ctx, cut)
	fatalIf(t, err)
	if n != 250 {
		t.Fatalf("deleted %d, want 250", n)
	}
	got := scanAll(t, s, "demo", 0, Day0+10*dayMs)
	if len(got) != 16 || got[0].Batch.Obs[0].T != cut {
		t.Fatalf("%d batches left, first at %d", len(got), got[0].Batch.Obs[0].T)
	}
	// Writing into a day again after its partition was dropped works.
	fatalIf(t, s.WriteBatches(ctx, Batches(30, "demo", 2, 5, 5, Day0+dayMs/2)))
	if c, _ := s.CountObservations(ctx, "demo", Day0, Day0+dayMs); c != 10 {
		t.Fatalf("rewritten day: %d", c)
	}
	n, err = s.DeleteObservationsBefore(ctx, Day0+10*dayMs)
	fatalIf(t, err)
	if n != 160+10 {
		t.Fatalf("deleted %d, want 170", n)
	}
}

// testReplaceBatches: a write of batches that may already be stored (its
// answer lost with the connection) leaves each batch stored once, with the
// observations written last, and nothing else of the site or of others
// changed.
func testReplaceBatches(t *testing.T, s store.Store) {
	ctx := context.Background()
	bs := Batches(7, "demo", 10, 5, 8, Day0+3600_000)
	other := Batches(8, "other", 10, 5, 8, Day0+3600_000)
	if err := s.WriteBatches(ctx, append(slices.Clone(bs), other...)); err != nil {
		t.Fatal(err)
	}
	// Batches 3 to 6 again: as they were, then with batch 4 changed.
	if err := s.ReplaceBatches(ctx, bs[3:7]); err != nil {
		t.Fatal(err)
	}
	again := slices.Clone(bs[3:7])
	again[1].Batch.Obs = slices.Clone(again[1].Batch.Obs[:2])
	if err := s.ReplaceBatches(ctx, again); err != nil {
		t.Fatal(err)
	}
	want := append(append(slices.Clone(bs[:3]), again...), bs[7:]...)
	got := scanAll(t, s, "demo", 0, 1<<62)
	if len(got) != len(want) {
		t.Fatalf("%d batches stored, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Recv != want[i].Recv || !slices.Equal(got[i].Batch.Obs, want[i].Batch.Obs) {
			t.Errorf("batch %d: %d observations (recv %d), want %d (recv %d)", i, len(got[i].Batch.Obs), got[i].Recv,
				len(want[i].Batch.Obs), want[i].Recv)
		}
	}
	if n := len(scanAll(t, s, "other", 0, 1<<62)); n != len(other) {
		t.Errorf("another site: %d batches, want %d", n, len(other))
	}
}
