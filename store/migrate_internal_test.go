package store

import (
	"strings"
	"testing"
)

// Both backends have the same migrations, by number and name.
func TestMigrationsMatch(t *testing.T) {
	pg, err := migrations(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) != len(lite) || len(pg) == 0 {
		t.Fatalf("%d postgres migrations, %d sqlite", len(pg), len(lite))
	}
	for i := range pg {
		if pg[i].name != lite[i].name {
			t.Fatalf("migration %d: %s and %s", i+1, pg[i].name, lite[i].name)
		}
		if strings.Count(pg[i].sql, "CREATE TABLE") != strings.Count(lite[i].sql, "CREATE TABLE") {
			t.Fatalf("%s: the backends create different numbers of tables", pg[i].name)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h/db":      "postgres://u:xxx@h/db",
		"postgres://u@h/db":             "postgres://u@h/db",
		"postgres://h/db?password=x":    "postgres://h/db?password=xxx",
		"postgres://u:p%40ss@h:5432/db": "postgres://u:xxx@h:5432/db",
		"postgres://u:p@ss:w@h:5432/db": "postgres://u:xxx@h:5432/db",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
