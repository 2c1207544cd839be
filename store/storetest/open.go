// Package storetest is the conformance suite every store backend passes, and
// helpers that give tests a fresh, migrated store: SQLite in a temporary
// directory, or PostgreSQL (env PASSANT_TEST_POSTGRES) in a schema of its
// own that is dropped afterwards.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/passant/passant/store"
)

// PostgresEnv names the environment variable with the test PostgreSQL's URL.
const PostgresEnv = "PASSANT_TEST_POSTGRES"

// OpenSQLite returns a migrated SQLite store in t.TempDir(), closed when the
// test ends.
func OpenSQLite(t testing.TB) *store.DB {
	t.Helper()
	db := OpenSQLiteBare(t)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// OpenSQLiteBare is OpenSQLite without the migration.
func OpenSQLiteBare(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenPostgres returns a migrated PostgreSQL store in a fresh schema, which
// is dropped when the test ends. It skips the test unless
// PASSANT_TEST_POSTGRES is set.
func OpenPostgres(t testing.TB) *store.DB {
	t.Helper()
	db := OpenPostgresBare(t)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// OpenPostgresBare is OpenPostgres without the migration.
func OpenPostgresBare(t testing.TB) *store.DB {
	t.Helper()
	u := PostgresURL(t)
	db, err := store.Open(context.Background(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL creates a fresh schema in the test PostgreSQL and returns a
// URL whose connections use it (search_path); the schema is dropped when
// the test ends. It skips the test unless PASSANT_TEST_POSTGRES is set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip("set " + PostgresEnv + " to run (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)")
	}
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	schema := "passant_test_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect %s: %v", PostgresEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	qs := pu.Query()
	qs.Set("search_path", schema)
	pu.RawQuery = qs.Encode()
	return pu.String()
}
