package store

import (
	"database/sql"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
)

// interned reads a text column into the driver's buffer and turns it into
// a string, reusing the strings it has seen: for columns with few distinct
// values (zones, days, kinds), so that a big read does not allocate one
// string per row.
type interned struct {
	b    []byte
	strs map[string]string
	max  int // distinct strings kept; 0: 4096
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
	if max := t.max; len(t.strs) < max || max == 0 && len(t.strs) < 4096 {
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

// finite reports whether every value is a number (SQLite stores NaN as
// NULL, PostgreSQL keeps it: both backends refuse them alike).
func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// cleanText makes free text from outside (receipt ids, notes, names,
// messages) storable alike by both backends: valid UTF-8 (invalid bytes
// become U+FFFD) without NUL characters, which PostgreSQL's text refuses.
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
