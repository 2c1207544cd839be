//go:build !sensoronly

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/passant/passant/store"
)

func init() {
	register(command{"migrate", "create or upgrade the database schema", runMigrate})
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	db := fs.String("db", "", "`URL` of PostgreSQL (postgres://...); none: the embedded database in --data")
	data := fs.String("data", store.DefaultDataDir, "data `directory` of the embedded database")
	check := fs.Bool("check", false, "only check that the schema is current; exit 1 when not")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := store.Open(ctx, *db, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	if *check {
		if err := s.CheckSchema(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s schema is current (version %d)\n", s.Backend(), store.SchemaWant())
		return nil
	}
	have, want, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	if have == want {
		fmt.Fprintf(stdout, "%s schema already at version %d\n", s.Backend(), want)
	} else {
		fmt.Fprintf(stdout, "%s schema migrated from version %d to %d\n", s.Backend(), have, want)
	}
	return nil
}
