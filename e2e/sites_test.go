package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/passant/passant/server"
	"github.com/passant/passant/sim"
)

// TestManySites runs 100 simulated small shops at once through one server
// (PASSANT_E2E_SITES and PASSANT_E2E_MINUTES make it bigger): every site
// takes all its batches, and each site's report equals a replay of that
// site alone.
func TestManySites(t *testing.T) {
	sites, minutes := 100, 1
	if testing.Short() {
		sites = 20
	}
	if v, err := strconv.Atoi(os.Getenv("PASSANT_E2E_SITES")); err == nil {
		sites = v
	}
	if v, err := strconv.Atoi(os.Getenv("PASSANT_E2E_MINUTES")); err == nil {
		minutes = v
	}
	span := time.Duration(minutes) * time.Minute
	dir := t.TempDir()
	var recs []*Recording
	var files []string
	type sent struct {
		site string
		it   Item
	}
	var all []sent
	var obs int64
	for i := range sites {
		layout := "small"
		rec := Record(t, layout, sim.Config{Seed: uint64(100 + i), PassersPerHour: 600, ShoppersPerHour: 80}, simFrom, span)
		rec.Rename(fmt.Sprintf("shop-%03d", i))
		recs = append(recs, rec)
		files = append(files, rec.WriteSite(t, dir))
		for _, it := range append(append([]Item(nil), rec.Items...), rec.Tail(simFrom.Add(span+time.Hour))...) {
			all = append(all, sent{rec.Site.Site, it})
		}
		obs += rec.Obs
	}
	// All shops' sensors publish at once, in the order of their clocks.
	sort.SliceStable(all, func(i, j int) bool { return all[i].it.Batch.Sent < all[j].it.Batch.Sent })
	dataDir := t.TempDir()
	srv := StartServer(t, server.Config{SiteFiles: files, DataDir: dataDir})
	pub := NewPublisher(t, srv.Broker, "e2e-shops")
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && j-i < 256 {
			j++
		}
		// Runs of one site keep their order; the window spans sites.
		bySite := map[string][]Item{}
		var order []string
		for _, s := range all[i:j] {
			if bySite[s.site] == nil {
				order = append(order, s.site)
			}
			bySite[s.site] = append(bySite[s.site], s.it)
		}
		for _, site := range order {
			if err := pub.Send(ctx, site, bySite[site], 32); err != nil {
				t.Fatal(err)
			}
		}
		i = j
	}
	for _, rec := range recs {
		srv.WaitBatches(t, rec.Site.Site, int64(len(rec.Items)+len(rec.Site.Sensors)), 2*time.Minute)
	}
	took := time.Since(start)
	if err := srv.SyncJournal(); err != nil { // the journals read below while it runs
		t.Fatal(err)
	}
	visitors := 0
	for _, rec := range recs {
		// The server took each site's batches in the order the broker
		// delivered them (several topics, many in flight), which is not
		// the order they were sent in: the replay that must equal it is
		// the replay of its journal. Every batch sent is in it.
		ref, _ := ReplayJournal(t, dataDir, rec.Site)
		if n := int64(len(rec.Items)); ref.Lines < n {
			t.Fatalf("%s: the journal holds %d batches of the %d sent", rec.Site.Site, ref.Lines, n)
		}
		live, err := srv.Report(ctx, rec.Site.Site, ref.Report.From, ref.Report.To)
		if err != nil {
			t.Fatal(err)
		}
		SameJSON(t, rec.Site.Site+" live and replay reports", live, ref.Report)
		visitors += ref.Report.Totals.Visitors + ref.Report.Totals.Passersby
	}
	if visitors == 0 {
		t.Fatal("no one in any shop")
	}
	t.Logf("%d sites, %d batches, %d observations through one server in %s (%.0f obs/s); %d people counted",
		sites, len(all), obs, took.Round(time.Millisecond), float64(obs)/took.Seconds(), visitors)
}
