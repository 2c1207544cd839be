package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are SQL files named NNNN_what.sql, one directory per backend,
// both holding the same numbers. Version N of the schema is the state after
// migration N.
//
//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the backend's migrations in order.
func migrations(backend string) ([]migration, error) {
	dir := "migrations/" + backend
	ents, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(migrationFS, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, name, string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want number %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaWant is the schema version this binary needs.
func SchemaWant() int {
	ms, err := migrations(Postgres)
	if err != nil {
		panic(err) // the embedded files are broken: a programmer's error
	}
	return len(ms)
}

const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_version (
	version INTEGER PRIMARY KEY,
	name    TEXT NOT NULL,
	applied BIGINT NOT NULL
)`

// migrateLock is the key of the PostgreSQL advisory lock that serialises
// migrations of several instances starting at once.
const migrateLock = 0x70617373616e74 // "passant"

// Migrate implements Schema.
func (db *DB) Migrate(ctx context.Context) error { return db.migrateTo(ctx, SchemaWant()) }

// migrateTo applies the migrations up to version want.
func (db *DB) migrateTo(ctx context.Context, want int) error {
	ms, err := migrations(db.Backend())
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, m := range ms[:min(want, len(ms))] {
		err := db.tx(ctx, func(tx q) error {
			if db.pg {
				if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
					return err
				}
			}
			if _, err := tx.exec(ctx, createVersionTable); err != nil {
				return err
			}
			var n int
			if err := tx.queryRow(ctx, `SELECT count(*) FROM schema_version WHERE version = $1`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_version (version, name, applied) VALUES ($1, $2, $3)`,
				m.version, m.name, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// SchemaVersion implements Schema. A database without a schema has
// version 0.
func (db *DB) SchemaVersion(ctx context.Context) (have, want int, err error) {
	want = SchemaWant()
	var exists bool
	if db.pg {
		err = db.q().queryRow(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists)
	} else {
		err = db.q().queryRow(ctx, `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).Scan(&exists)
	}
	if err != nil {
		return 0, want, fmt.Errorf("store: schema version: %w", err)
	}
	if !exists {
		return 0, want, nil
	}
	if err := db.q().queryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&have); err != nil {
		return 0, want, fmt.Errorf("store: schema version: %w", err)
	}
	return have, want, nil
}

// CheckSchema implements Schema.
func (db *DB) CheckSchema(ctx context.Context) error {
	have, want, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	same := "--db"
	if !db.pg {
		same = "--data"
	}
	switch {
	case have < want:
		return fmt.Errorf("store: the %s database is at schema version %d, this passant needs %d: run `passant migrate` (with the same %s): %w",
			db.Backend(), have, want, same, ErrStaleSchema)
	case have > want:
		return fmt.Errorf("store: the %s database is at schema version %d, newer than this passant's %d: run a newer passant: %w",
			db.Backend(), have, want, ErrStaleSchema)
	}
	return nil
}
