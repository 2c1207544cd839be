package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the embedded backend's driver
)

// Backends.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// SQLiteFile is the database file's name in the data directory.
const SQLiteFile = "passant.db"

// DB is a Store on PostgreSQL or SQLite. Queries are written once, with $n
// parameters, which both understand; the few places where the dialects
// differ ask db.pg.
type DB struct {
	pg   bool
	pool *pgxpool.Pool // PostgreSQL
	sql  *sql.DB       // SQLite
	// writeMu serialises SQLite writers (one writer; readers go on under
	// WAL).
	writeMu sync.Mutex

	partMu sync.Mutex
	parts  map[int64]bool // PostgreSQL observation partitions known to exist, by UTC day
}

var _ Store = (*DB)(nil)

// Open opens the store that url names: a postgres:// or postgresql:// URL
// selects PostgreSQL; an empty url selects the embedded SQLite database in
// the data directory dir (created when missing). Open does not change the
// schema: call Migrate, or CheckSchema to refuse a stale one.
func Open(ctx context.Context, url, dir string) (*DB, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return OpenPostgres(ctx, url)
	case url == "":
		if dir == "" {
			return nil, errors.New("store: no data directory for the embedded database")
		}
		return OpenSQLite(ctx, filepath.Join(dir, SQLiteFile))
	default:
		return nil, fmt.Errorf("store: --db %q: want a postgres:// URL, or none for the embedded database", redact(url))
	}
}

// OpenPostgres connects to PostgreSQL.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: postgres url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect postgres %s: %w", redact(url), err)
	}
	return &DB{pg: true, pool: pool, parts: map[int64]bool{}}, nil
}

// OpenSQLite opens (or creates) the SQLite database file path, in WAL mode.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: data directory: %w", err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// A handful of connections: readers go on while the writer writes.
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	return &DB{sql: db}, nil
}

// Backend implements Store.
func (db *DB) Backend() string {
	if db.pg {
		return Postgres
	}
	return SQLite
}

// Close implements Store.
func (db *DB) Close() error {
	if db.pg {
		db.pool.Close()
		return nil
	}
	return db.sql.Close()
}

// Pool returns the PostgreSQL pool (nil for SQLite), for tests and tools.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// redact hides a password in a URL for error messages.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return url
	}
	userinfo := url[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return url[:scheme+3] + userinfo[:i] + ":xxx" + url[at:]
	}
	return url
}

// q is what queries run on: the database or a transaction of either
// backend.
type q interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	query(ctx context.Context, query string, args ...any) (rows, error)
	queryRow(ctx context.Context, query string, args ...any) row
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type row interface {
	Scan(dest ...any) error
}

// errNoRows reports whether err says a query returned no row.
func errNoRows(err error) bool {
	return errors.Is(err, pgx.ErrNoRows) || errors.Is(err, sql.ErrNoRows)
}

// errUnique reports whether err is a unique-constraint violation.
func errUnique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// pgQ runs on a pool or a pgx transaction.
type pgQ struct {
	c interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (p pgQ) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.c.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (p pgQ) query(ctx context.Context, query string, args ...any) (rows, error) {
	r, err := p.c.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (p pgQ) queryRow(ctx context.Context, query string, args ...any) row {
	return p.c.QueryRow(ctx, query, args...)
}

// sqlQ runs on a database/sql database or transaction.
type sqlQ struct {
	c interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
}

func (s sqlQ) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.c.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func (s sqlQ) query(ctx context.Context, query string, args ...any) (rows, error) {
	r, err := s.c.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

func (s sqlQ) queryRow(ctx context.Context, query string, args ...any) row {
	return s.c.QueryRowContext(ctx, query, args...)
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// q returns the database as a q, for single statements. On SQLite a
// single write statement should go through tx, which holds the writer lock.
func (db *DB) q() q {
	if db.pg {
		return pgQ{db.pool}
	}
	return sqlQ{db.sql}
}

// tx runs fn in a transaction, committed when fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(q) error) error {
	if db.pg {
		t, err := db.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer t.Rollback(context.WithoutCancel(ctx))
		if err := fn(pgQ{t}); err != nil {
			return err
		}
		return t.Commit(ctx)
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	t, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if err := fn(sqlQ{t}); err != nil {
		return err
	}
	return t.Commit()
}

// sqliteTx runs fn in a SQLite transaction with the raw *sql.Tx (prepared
// statements for bulk writes).
func (db *DB) sqliteTx(ctx context.Context, fn func(*sql.Tx) error) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	t, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if err := fn(t); err != nil {
		return err
	}
	return t.Commit()
}

// bulk runs query once for each of n argument lists in one transaction:
// pipelined in batches on PostgreSQL, a prepared statement on SQLite.
func (db *DB) bulk(ctx context.Context, query string, n int, args func(i int) []any) error {
	if n == 0 {
		return nil
	}
	if db.pg {
		t, err := db.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer t.Rollback(context.WithoutCancel(ctx))
		const chunk = 1000
		for lo := 0; lo < n; lo += chunk {
			b := &pgx.Batch{}
			for i := lo; i < min(lo+chunk, n); i++ {
				b.Queue(query, args(i)...)
			}
			if err := t.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
		return t.Commit(ctx)
	}
	return db.sqliteTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range n {
			if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
				return err
			}
		}
		return nil
	})
}
