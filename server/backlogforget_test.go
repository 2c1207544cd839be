package server

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// TestBacklogAfterForgetRewrite: a runner behind, whose backlog begins in
// a closed day's journal file (it fell behind before UTC midnight), reads
// on after an erasure (passant forget, or the pending erasures of the
// hourly housekeeping) wrote that file again without a person's
// observations: the file is shorter, and the backlog's offset, taken in the
// old file, no longer lies at the start of its line. Every batch of the
// backlog must still be taken, once.
func TestBacklogAfterForgetRewrite(t *testing.T) {
	shop := simtest.Shop(t, "small", sim.Config{Seed: 5, ShoppersPerHour: 120, PassersPerHour: 300})
	site := shop.Site()
	srv, dir, stop := startSite(t, site, Config{})
	defer stop()
	mid := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	bs := simtest.Batches(t, shop, mid.Add(-4*time.Minute), mid.Add(2*time.Minute), nil)
	var ats []ingest.At
	var recvs []int64
	var last int64
	for _, b := range bs {
		recv := max(last+1, b.Sent)
		last = recv
		_, at, err := srv.journal.AppendAt(site.Site, recv, b)
		if err != nil {
			t.Fatal(err)
		}
		ats, recvs = append(ats, at), append(recvs, recv)
	}
	if err := srv.journal.Sync(); err != nil {
		t.Fatal(err)
	}
	day := mid.Add(-time.Hour).Format(time.DateOnly)
	k := 0 // the first line of the backlog: the last of the closed day
	for i, at := range ats {
		if at.Day == day {
			k = i
		}
	}
	var dev wire.Dev // a person heard in the closed day's first line
	for _, o := range bs[0].Obs {
		dev = o.Dev
	}
	if k < 2 || ats[len(ats)-1].Day == day || dev == 0 {
		t.Fatalf("want lines on both days and observations in the first: %d of %d on %s", k, len(ats), day)
	}
	eventually(t, "the closed day's file closed", func() bool { return !srv.journal.OpenDays(site.Site)[day] })

	r := srv.runner(site.Site)
	n0 := processed(r)
	err := r.inRunner(context.Background(), func() error {
		// The lines before k were taken; then the queue was full.
		for i := range k {
			r.accept(delivery{recv: recvs[i], b: bs[i]})
		}
		r.bl.mu.Lock()
		r.fallBehind(ats[k], recvs[k])
		r.bl.end = ats[len(ats)-1].Next()
		r.bl.mu.Unlock()
		open := srv.journal.OpenDays(site.Site)
		files, _, err := ingest.ForgetInJournal(filepath.Join(dir, "journal"), site.Site, []wire.Dev{dev},
			func(d string) bool { return open[d] })
		if err == nil && files != 1 {
			t.Errorf("the erasure wrote %d files again, want the closed day's", files)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the backlog read", func() bool { return !r.behind() })
	r.mu.Lock()
	var batches, dupes int64
	for _, st := range r.pipe.Stats() {
		batches, dupes = batches+st.Batches, dupes+st.Dupes
	}
	r.mu.Unlock()
	if got := batches + dupes - n0; got != int64(len(bs)) || dupes != 0 {
		t.Errorf("the pipeline took %d batches (%d duplicates), %d were journaled", got, dupes, len(bs))
	}
}
