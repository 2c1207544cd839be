package store

import (
	"database/sql"
	"slices"

	"github.com/jackc/pgx/v5/pgtype"
)

// interned reads a text column into the driver's buffer and turns it into
// a string, reusing the strings it has seen: for columns with few distinct
// values (zones, days, kinds), so that a big read does not allocate one
// string per row.
type interned struct {
	b    []byte
	strs map[string]string
}

// dest returns the scan destination for db's backend.
func (t *interned) dest(db *DB) any {
	if db.pg {
		return (*pgtype.DriverBytes)(&t.b)
	}
	return (*sql.RawBytes)(&t.b)
}

// String returns the value scanned last.
func (t *interned) String() string {
	if s, ok := t.strs[string(t.b)]; ok {
		return s
	}
	s := string(t.b)
	if t.strs == nil {
		t.strs = map[string]string{}
	}
	if len(t.strs) < 4096 {
		t.strs[s] = s
	}
	return s
}

// grow doubles a slice's capacity when it is full: append grows big slices
// by a quarter at a time, which for a month of visits allocates five times
// the final size.
func grow[S ~[]E, E any](s S) S {
	if len(s) == cap(s) {
		return slices.Grow(s, max(len(s), 64))
	}
	return s
}
