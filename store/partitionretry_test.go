package store_test

import (
	"context"
	"testing"

	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
)

// TestReplaceAfterOtherPrune: an instance that knows a day's partition
// (it wrote there) replaces batches of that day after another instance's
// retention dropped it. The write makes the partition again, as
// WriteBatches does; ReplaceBatches used to fail on it for as long as the
// instance ran (its cache said the partition was there).
func TestReplaceAfterOtherPrune(t *testing.T) {
	ctx := context.Background()
	u := storetest.PostgresURL(t)
	open := func() *store.DB {
		db, err := store.Open(ctx, u, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const day = 24 * 3600 * 1000
	bs := storetest.Batches(1, "demo", 4, 10, 5, storetest.Day0)
	if err := a.WriteBatches(ctx, bs); err != nil {
		t.Fatal(err)
	}
	if n, err := b.DeleteObservationsBefore(ctx, storetest.Day0+day); err != nil || n != 40 {
		t.Fatalf("the other instance's retention deleted %d (%v), want 40", n, err)
	}
	if err := a.ReplaceBatches(ctx, bs); err != nil {
		t.Fatalf("replace after the other instance dropped the day: %v", err)
	}
	if n, err := a.CountObservations(ctx, "demo", 0, storetest.Day0+day); err != nil || n != 40 {
		t.Fatalf("%d observations stored (%v), want 40", n, err)
	}
}
