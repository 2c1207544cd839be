//go:build !sensoronly

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/passant/passant/server"
	"github.com/passant/passant/store"
)

func init() {
	register(command{name: "reprocess", summary: "recompute a site's figures over a date range from the stored observations", run: runReprocess})
}

func runReprocess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reprocess", stderr)
	db := fs.String("db", "", "postgres://... ; none: the embedded store in --data")
	dir := fs.String("data", store.DefaultDataDir, "data directory of the embedded store")
	siteID := fs.String("site", "", "site id")
	fromS := fs.String("from", "", "first local day, YYYY-MM-DD")
	toS := fs.String("to", "", "last local day, YYYY-MM-DD (default: the first)")
	retention := fs.Duration("retention", 24*time.Hour, "the server's --retention: before now minus it only the raw observations of devices that became visitors remain; there their tracks are rebuilt and the other tracks' stored figures (passers-by) kept (0: nothing thinned, every track rebuilt)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *siteID == "" || *fromS == "" {
		return errors.New("reprocess: --site and --from are required")
	}
	if *toS == "" {
		*toS = *fromS
	}
	st, err := store.Open(ctx, *db, *dir)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	site, v, err := st.Site(ctx, *siteID)
	if err != nil {
		return err
	}
	loc := site.Location()
	from, err := time.ParseInLocation(time.DateOnly, *fromS, loc)
	if err != nil {
		return fmt.Errorf("reprocess: --from: %w", err)
	}
	to, err := time.ParseInLocation(time.DateOnly, *toS, loc)
	if err != nil {
		return fmt.Errorf("reprocess: --to: %w", err)
	}
	to = to.AddDate(0, 0, 1)
	var cut int64
	if *retention > 0 {
		cut = time.Now().Add(-*retention).UnixMilli()
	}
	res, err := server.Reprocess(ctx, st, site, from.UnixMilli(), to.UnixMilli(), 0, cut)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-processed %s (version %d) from %s to %s: %d batches, %d positions, %d visits, %d track days\n",
		site.Site, v.Version, *fromS, *toS, res.Batches, res.Positions, res.Visits, res.TrackDays)
	if len(res.Thinned) > 0 {
		fmt.Fprintf(stdout, "before %s only the visitors' raw observations remained (--retention %s): their tracks were rebuilt, the others' figures (passers-by) kept:\n",
			time.UnixMilli(cut).In(loc).Format("2006-01-02 15:04"), *retention)
		for _, d := range res.Thinned {
			fmt.Fprintf(stdout, "  %s: %d track days kept, %d rebuilt\n", d.Date, d.Kept, d.Rebuilt)
		}
	}
	return nil
}
