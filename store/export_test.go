package store

import "context"

// MigrateTo applies the migrations up to version want: a database as an
// older passant left it, for upgrade tests.
func (db *DB) MigrateTo(ctx context.Context, want int) error { return db.migrateTo(ctx, want) }

// Exec runs one statement on the database, for tests that write what an
// older passant wrote.
func (db *DB) Exec(ctx context.Context, sql string) error {
	_, err := db.q().exec(ctx, sql)
	return err
}
