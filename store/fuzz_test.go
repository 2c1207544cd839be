package store_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/store/storetest"
)

// FuzzReceiptID: any receipt id an import brings is stored, comes back as
// valid UTF-8 without NUL, equal to what was given when that was clean, and
// dedupes a second import.
func FuzzReceiptID(f *testing.F) {
	for _, s := range []string{"r1", "", "\x00", "a\xffb", "ünïcødé", "' OR 1=1 --", "$1", "\\x00"} {
		f.Add(s)
	}
	s := storetest.OpenSQLite(f)
	ctx := context.Background()
	var t0 int64
	f.Fuzz(func(t *testing.T, id string) {
		t0 += 10
		tx := []footfall.Transaction{{Site: "demo", T: t0, ID: id}, {Site: "demo", T: t0 + 1, ID: id}}
		n, err := s.WriteTransactions(ctx, tx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ListTransactions(ctx, "demo", t0, t0+2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("%d new, %d listed", n, len(got))
		}
		for _, g := range got {
			if !utf8.ValidString(g.ID) || strings.ContainsRune(g.ID, 0) {
				t.Fatalf("stored id %q", g.ID)
			}
			if utf8.ValidString(id) && !strings.ContainsRune(id, 0) && g.ID != id {
				t.Fatalf("clean id %q came back as %q", id, g.ID)
			}
		}
		if strings.ReplaceAll(strings.ToValidUTF8(id, "\uFFFD"), "\x00", "") != "" && n > 1 {
			t.Fatalf("id %q not deduplicated", id)
		}
	})
}
