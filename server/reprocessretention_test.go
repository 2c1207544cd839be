package server

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/web"
)

// TestReprocessRefusesWhatRetentionThinned: once retention has deleted the
// raw observations of the devices that never became visitors (after
// Retention, 24 h by default; 10 minutes here), a re-processing of a range
// reaching back before that would count only the visitors there: it is
// refused, and the figures stay as they were. Before, it went ahead and
// replaced the range's figures: the passers-by of the thinned part were
// gone from the report (a re-processing of yesterday after a zone edit
// lost the passers-by of every hour older than 24 h).
func TestReprocessRefusesWhatRetentionThinned(t *testing.T) {
	skipNearMidnight(t)
	shop := simtest.Shop(t, "small", sim.Config{Seed: 5, ShoppersPerHour: 120, PassersPerHour: 400})
	site := shop.Site()
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, Retention: 10 * time.Minute})
	defer stop()
	sent := publishShop(t, srv, shop, time.Now().Add(-40*time.Minute), time.Now())
	eventually(t, "every batch accepted", func() bool { return srv.sub.C.Accepted.Load() == int64(sent) })
	eventually(t, "every batch processed", func() bool { return processed(srv.runner(site.Site)) == int64(sent) })
	ctx := context.Background()
	if err := srv.writer.drain(ctx); err != nil {
		t.Fatal(err)
	}
	srv.retain(ctx)
	now := time.Now()
	from, to := now.Add(-2*time.Hour).UnixMilli(), now.Add(time.Hour).UnixMilli()
	before, err := srv.Report(ctx, site.Site, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if before.Totals.Passersby == 0 || before.Totals.Visitors == 0 {
		t.Fatalf("nothing to lose: %+v", before.Totals)
	}
	err = srv.Reprocess(ctx, site.Site, from, to)
	after, rerr := srv.Report(ctx, site.Site, from, to)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !errors.Is(err, web.ErrInvalid) {
		t.Fatalf("re-processing from before the retention's cut: err %v; passers-by %d -> %d, visitors %d -> %d",
			err, before.Totals.Passersby, after.Totals.Passersby, before.Totals.Visitors, after.Totals.Visitors)
	}
	if !reflect.DeepEqual(after.Totals, before.Totals) {
		t.Fatalf("a refused re-processing changed the figures: %+v -> %+v", before.Totals, after.Totals)
	}
	// From the cut on the raw data is whole: that range is re-processed.
	if err := srv.Reprocess(ctx, site.Site, now.Add(-5*time.Minute).UnixMilli(), to); err != nil {
		t.Fatalf("re-processing the last 5 minutes: %v", err)
	}
}
