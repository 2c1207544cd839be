package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// On PostgreSQL the tables of raw data (observations, positions) are
// partitioned by UTC day of t: table_pYYYYMMDD, created on demand before a
// write, dropped whole by retention.

// pruneLock is the key of the advisory lock that serialises dropping
// partitions.
const pruneLock = migrateLock + 1

// partitionName names a table's partition of a UTC day (days since
// 1970-01-01).
func partitionName(table string, day int64) string {
	return table + "_p" + time.UnixMilli(day*dayMs).UTC().Format("20060102")
}

// ensurePartition creates a table's partition of a UTC day unless it
// exists.
func (db *DB) ensurePartition(ctx context.Context, table string, day int64) error {
	name := partitionName(table, day)
	db.partMu.Lock()
	defer db.partMu.Unlock()
	if db.parts[name] {
		return nil
	}
	_, err := db.pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM (%d) TO (%d)`,
		name, table, day*dayMs, (day+1)*dayMs))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P07" || pe.Code == "23505") {
		err = nil // another instance created it at the same moment
	}
	if err != nil {
		return fmt.Errorf("create partition %s: %w", name, err)
	}
	db.parts[name] = true
	return nil
}

// copyPartitioned COPYs rows into a partitioned table after making sure
// the partitions of days exist.
func (db *DB) copyPartitioned(ctx context.Context, table string, cols []string, days map[int64]bool,
	src func() pgx.CopyFromSource) error {
	return db.writePartitioned(ctx, table, days, func() error {
		_, err := db.pool.CopyFrom(ctx, pgx.Identifier{table}, cols, src())
		return err
	})
}

// writePartitioned runs write, which writes rows into a partitioned table,
// after making sure the partitions of days exist.
func (db *DB) writePartitioned(ctx context.Context, table string, days map[int64]bool, write func() error) error {
	for d := range days {
		if err := db.ensurePartition(ctx, table, d); err != nil {
			return err
		}
	}
	err := write()
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23514" {
		// No partition for a row: another instance's retention dropped a
		// day this one thought existed. Forget and try once more.
		db.partMu.Lock()
		clear(db.parts)
		db.partMu.Unlock()
		for d := range days {
			if err := db.ensurePartition(ctx, table, d); err != nil {
				return err
			}
		}
		err = write()
	}
	return err
}

// dropPartitions drops a table's day partitions that end at or before
// before, returning how many rows they held.
func (db *DB) dropPartitions(ctx context.Context, tx q, table string, before int64) (int64, error) {
	// Instances pruning at once take turns, so that none lists a partition
	// another is dropping.
	if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pruneLock)); err != nil {
		return 0, err
	}
	rs, err := tx.query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = $1::regclass`, table)
	if err != nil {
		return 0, err
	}
	var days []int64
	for rs.Next() {
		var name string
		if err := rs.Scan(&name); err != nil {
			rs.Close()
			return 0, err
		}
		t, err := time.Parse("20060102", strings.TrimPrefix(name, table+"_p"))
		if err != nil {
			continue // not ours
		}
		day := t.UnixMilli() / dayMs
		if (day+1)*dayMs <= before {
			days = append(days, day)
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, err
	}
	var n int64
	for _, day := range days {
		var m int64
		if err := tx.queryRow(ctx, `SELECT count(*) FROM `+partitionName(table, day)).Scan(&m); err != nil {
			return 0, err
		}
		if _, err := tx.exec(ctx, `DROP TABLE `+partitionName(table, day)); err != nil {
			return 0, err
		}
		n += m
	}
	db.partMu.Lock()
	for _, day := range days {
		delete(db.parts, partitionName(table, day))
	}
	db.partMu.Unlock()
	return n, nil
}
