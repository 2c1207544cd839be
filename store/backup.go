package store

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Backup writes a consistent copy of the embedded database to path (a new
// file), while the server runs: SQLite's VACUUM INTO. PostgreSQL has its
// own tools (pg_dump, base backups); Backup refuses it.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.pg {
		return errors.New("store: backup: use pg_dump or a base backup for PostgreSQL")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: backup: %s exists", path)
	}
	if _, err := db.sql.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return nil
}
