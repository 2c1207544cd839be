package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Backends.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// SQLiteFile is the database file's name in the data directory.
const SQLiteFile = "passant.db"

// DefaultDataDir is the data directory commands use when given none.
const DefaultDataDir = "passant-data"

// DB is a Store on PostgreSQL or SQLite. Queries are written once, with $n
// parameters, which both understand; the few places where the dialects
// differ ask db.pg.
type DB struct {
	pg   bool
	pool *pgxpool.Pool // PostgreSQL
	read *pgxpool.Pool // a PostgreSQL read replica for reports, when set
	sql  *sql.DB       // SQLite
	// writeMu serialises SQLite writers (one writer; readers go on under
	// WAL).
	writeMu sync.Mutex

	partMu sync.Mutex
	parts  map[string]bool // PostgreSQL day partitions known to exist, by name
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
	return &DB{pg: true, pool: pool, parts: map[string]bool{}}, nil
}

// OpenSQLite opens (or creates) the SQLite database file path, in WAL mode.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if !sqliteAvailable {
		return nil, fmt.Errorf("store: the embedded database is not built for %s/%s (the pure-Go SQLite does not run there): give --db postgres://...", runtime.GOOS, runtime.GOARCH)
	}
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
	// Only the server's user reads the data (the WAL files take the
	// database file's mode).
	if err := os.Chmod(path, 0o600); err != nil {
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
		if db.read != nil {
			db.read.Close()
		}
		return nil
	}
	// Let SQLite refresh the statistics its planner uses (cheap; what
	// SQLite recommends before closing).
	db.sql.Exec(`PRAGMA optimize`)
	return db.sql.Close()
}

// Pool returns the PostgreSQL pool (nil for SQLite), for tests and tools.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// redact hides passwords in a URL for error messages.
func redact(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		// Unparseable: hide everything between the scheme and the host.
		if at, sc := strings.LastIndex(raw, "@"), strings.Index(raw, "://"); at > sc && sc >= 0 {
			return raw[:sc+3] + "xxx" + raw[at:]
		}
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = neturl.UserPassword(u.User.Username(), "xxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
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

// r returns where range reads for reports go: the read replica when there
// is one.
func (db *DB) r() q {
	if db.read != nil {
		return pgQ{db.read}
	}
	return db.q()
}

// UseReadReplica sends the range reads that reports make (track days,
// visits, hours, positions, transactions) to a PostgreSQL read replica at
// url; everything else, and every write, stays on the primary. A replica
// lags: a report may miss the last moments, which a server overlays from
// memory anyway.
func (db *DB) UseReadReplica(ctx context.Context, url string) error {
	if !db.pg {
		return errors.New("store: a read replica needs PostgreSQL")
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return fmt.Errorf("store: read replica %s: %w", redact(url), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("store: read replica %s: %w", redact(url), err)
	}
	db.read = pool
	return nil
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

// sqliteRowsPerInsert is how many rows one multi-row SQLite INSERT carries.
const sqliteRowsPerInsert = 64

// insertRows inserts n rows into table: on PostgreSQL by COPY, directly or
// (with a conflict clause) through a temporary table and one INSERT ...
// SELECT; on SQLite by multi-row INSERTs in one transaction. conflict is
// empty or "ON CONFLICT (key...) DO ..."; key lists the conflict columns, so
// that of rows with equal keys in one call the last wins on both backends.
func (db *DB) insertRows(ctx context.Context, table string, cols []string, key []string, conflict string,
	n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	if db.pg {
		if conflict == "" {
			_, err := db.pool.CopyFrom(ctx, pgx.Identifier{table}, cols,
				pgx.CopyFromSlice(n, func(i int) ([]any, error) { return row(i), nil }))
			return err
		}
		return db.copyUpsert(ctx, table, cols, key, conflict, n, row)
	}
	return db.sqliteTx(ctx, func(tx *sql.Tx) error {
		return sqliteInsert(ctx, tx, table, cols, conflict, n, row)
	})
}

// pgSmallUpsert is the number of rows up to which an upsert runs as
// pipelined statements rather than through a temporary table.
const pgSmallUpsert = 200

func (db *DB) copyUpsert(ctx context.Context, table string, cols, key []string, conflict string,
	n int, row func(i int) []any) error {
	list := strings.Join(cols, ", ")
	t, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer t.Rollback(context.WithoutCancel(ctx))
	if n <= pgSmallUpsert {
		params := make([]string, len(cols))
		for i := range params {
			params[i] = "$" + strconv.Itoa(i+1)
		}
		query := "INSERT INTO " + table + " (" + list + ") VALUES (" + strings.Join(params, ", ") + ") " + conflict
		b := &pgx.Batch{}
		for i := range n {
			b.Queue(query, row(i)...)
		}
		if err := t.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return t.Commit(ctx)
	}
	tmp := "passant_up_" + table
	if _, err := t.Exec(ctx, "CREATE TEMP TABLE "+tmp+" ON COMMIT DROP AS SELECT "+list+
		", 0::integer AS up_ord FROM "+table+" WITH NO DATA"); err != nil {
		return err
	}
	_, err = t.CopyFrom(ctx, pgx.Identifier{tmp}, append(append([]string(nil), cols...), "up_ord"),
		pgx.CopyFromSlice(n, func(i int) ([]any, error) { return append(row(i), int32(i)), nil }))
	if err != nil {
		return err
	}
	keys := strings.Join(key, ", ")
	// Of rows with equal keys, the last given wins (one INSERT may not
	// update a row twice).
	if _, err := t.Exec(ctx, "INSERT INTO "+table+" ("+list+") SELECT DISTINCT ON ("+keys+") "+list+
		" FROM "+tmp+" ORDER BY "+keys+", up_ord DESC "+conflict); err != nil {
		return err
	}
	if err := t.Commit(ctx); err != nil {
		return err
	}
	if n >= pgAnalyzeRows {
		// A big write (a re-processing, an import) moves the statistics
		// far: without fresh ones the planner sorts range reads on disk
		// instead of walking the key in order. Autovacuum would come
		// later; a failure here loses nothing.
		db.pool.Exec(ctx, "ANALYZE "+table)
	}
	return nil
}

// pgAnalyzeRows is the size of an upsert after which the table is analysed.
const pgAnalyzeRows = 10000

// sqliteInsert inserts n rows by multi-row INSERTs.
func sqliteInsert(ctx context.Context, tx *sql.Tx, table string, cols []string, conflict string,
	n int, row func(i int) []any) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	var stmt *sql.Stmt
	args := make([]any, 0, sqliteRowsPerInsert*len(cols))
	i := 0
	for ; i+sqliteRowsPerInsert <= n; i += sqliteRowsPerInsert {
		if stmt == nil {
			var err error
			stmt, err = tx.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(one+",", sqliteRowsPerInsert), ",")+" "+conflict)
			if err != nil {
				return err
			}
			defer stmt.Close()
		}
		args = args[:0]
		for j := i; j < i+sqliteRowsPerInsert; j++ {
			args = append(args, row(j)...)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	if i == n {
		return nil
	}
	args = args[:0]
	for j := i; j < n; j++ {
		args = append(args, row(j)...)
	}
	_, err := tx.ExecContext(ctx, head+strings.TrimSuffix(strings.Repeat(one+",", n-i), ",")+" "+conflict, args...)
	return err
}
