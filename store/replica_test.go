package store_test

import (
	"context"
	"testing"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
)

// TestReadReplica routes report reads to a "replica" (here another schema
// with other data, which shows where each read goes) and keeps writes and
// other reads on the primary.
func TestReadReplica(t *testing.T) {
	ctx := context.Background()
	primary := storetest.OpenPostgres(t)
	replicaURL := storetest.PostgresURL(t)
	replica, err := store.Open(ctx, replicaURL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	if err := replica.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	onReplica := footfall.Visit{Site: "demo", Track: "on-replica", Zone: "store", Start: 10, End: 20}
	if err := replica.WriteVisits(ctx, []footfall.Visit{onReplica}); err != nil {
		t.Fatal(err)
	}
	if err := primary.UseReadReplica(ctx, replicaURL); err != nil {
		t.Fatal(err)
	}
	if err := primary.WriteVisits(ctx, []footfall.Visit{{Site: "demo", Track: "on-primary", Zone: "store", Start: 11, End: 20}}); err != nil {
		t.Fatal(err)
	}
	vs, err := primary.Visits(ctx, "demo", 0, 100)
	if err != nil || len(vs) != 1 || vs[0] != onReplica {
		t.Fatalf("report read went to the primary: %+v %v", vs, err)
	}
	if _, err := primary.SaveSite(ctx, storetest.Site(t, "demo"), store.SourceAPI, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := primary.Site(ctx, "demo"); err != nil {
		t.Fatalf("a site read went to the replica: %v", err)
	}
	if err := storetest.OpenSQLite(t).UseReadReplica(ctx, replicaURL); err == nil {
		t.Fatal("SQLite took a read replica")
	}
}
