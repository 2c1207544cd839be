package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
)

func TestBackup(t *testing.T) {
	s := storetest.OpenSQLite(t)
	ctx := context.Background()
	if _, err := s.SaveSite(ctx, storetest.Site(t, "demo"), store.SourceAPI, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatches(ctx, storetest.Batches(1, "demo", 5, 10, 5, storetest.Day0)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, store.SQLiteFile)
	if err := s.Backup(ctx, path); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, path); err == nil {
		t.Fatal("overwrote a file")
	}
	b, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if _, v, err := b.Site(ctx, "demo"); err != nil || v.Version != 1 {
		t.Fatalf("site in the backup: %+v %v", v, err)
	}
	if n, _ := b.CountObservations(ctx, "demo", 0, storetest.Day0+dayMs); n != 50 {
		t.Fatalf("%d observations in the backup", n)
	}
}
