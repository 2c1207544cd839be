package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
)

// TestUpgradeTrackDays: a database at schema 1 holds track days without a
// model; the server refuses it as stale, and after the upgrade its rows
// read back with an empty fingerprint and not randomised (they count
// whole in the passers-by estimate), beside new rows that have both.
func TestUpgradeTrackDays(t *testing.T) {
	backends := map[string]func(t *testing.T) (*store.DB, error){
		"sqlite": func(t *testing.T) (*store.DB, error) {
			return store.Open(context.Background(), "", t.TempDir())
		},
		"postgres": func(t *testing.T) (*store.DB, error) {
			return store.Open(context.Background(), storetest.PostgresURL(t), "")
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, err := open(t)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.MigrateTo(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if err := db.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "passant migrate") {
				t.Fatalf("schema 1 passed the check: %v", err)
			}
			if err := db.Exec(ctx, `INSERT INTO track_days (site, day, track, first, last, fixes) VALUES ('demo', '2026-12-04', 'k1', 10, 20, 3)`); err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := db.CheckSchema(ctx); err != nil {
				t.Fatal(err)
			}
			added := footfall.TrackDay{Site: "demo", Day: "2026-12-04", Track: "k2", First: 30, Last: 40, Fixes: 2, FP: "0a1b2c3d", Rand: true}
			if err := db.WriteTrackDays(ctx, []footfall.TrackDay{added}); err != nil {
				t.Fatal(err)
			}
			got, err := db.TrackDays(ctx, "demo", 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			want := []footfall.TrackDay{{Site: "demo", Day: "2026-12-04", Track: "k1", First: 10, Last: 20, Fixes: 3}, added}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("after the upgrade\n got %+v\nwant %+v", got, want)
			}
		})
	}
}
