package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store { return storetest.OpenSQLiteBare(t) })
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store { return storetest.OpenPostgresBare(t) })
}

func TestConcurrentMigrate(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		u := storetest.PostgresURL(t)
		storetest.RunConcurrentMigrate(t, 4, func(t testing.TB) store.Store {
			db, err := store.Open(context.Background(), u, "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		storetest.RunConcurrentMigrate(t, 4, func(t testing.TB) store.Store {
			db, err := store.Open(context.Background(), "", dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
}

func TestConcurrentPrune(t *testing.T) {
	u := storetest.PostgresURL(t)
	var first *store.DB
	storetest.RunConcurrentPrune(t, 3, func(t testing.TB) store.Store {
		db, err := store.Open(context.Background(), u, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if first == nil {
			first = db
			if err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		return db
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	if _, err := store.Open(ctx, "mysql://x:secret@host/db", ""); err == nil ||
		!strings.Contains(err.Error(), "postgres://") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("bad URL: %v", err)
	}
	if _, err := store.Open(ctx, "", ""); err == nil {
		t.Fatal("no data directory accepted")
	}
	// A database that is not there: a clear error, with the password hidden.
	_, err := store.Open(ctx, "postgres://u:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", "")
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "store: connect postgres") {
		t.Fatalf("unreachable database: %v", err)
	}
	// The embedded database lives in its directory and says its backend.
	dir := t.TempDir() + "/data"
	db, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Backend() != store.SQLite {
		t.Fatal(db.Backend())
	}
	if _, err := os.Stat(dir + "/" + store.SQLiteFile); err != nil {
		t.Fatal(err)
	}
}

// TestTablesComplete: store.Tables (the inventory) names every table the
// migrations create, and the database file is private.
func TestTablesComplete(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", filepath.Join(dir, store.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		have = append(have, n)
	}
	want := append([]string(nil), store.Tables...)
	sort.Strings(want)
	if !slices.Equal(have, want) {
		t.Fatalf("tables %v, store.Tables %v", have, want)
	}
	fi, err := os.Stat(filepath.Join(dir, store.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode %v", fi.Mode())
	}
}
