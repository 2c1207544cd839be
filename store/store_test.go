package store_test

import (
	"context"
	"os"
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
