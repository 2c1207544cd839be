package server

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
)

// The hourly retention removes the journal files of the days before the
// raw observations' retention (31 days by default): they hold every
// observation as sent, pseudonyms included, and were kept forever.
// Yesterday's and today's stay whatever the retention.
func TestRetentionPrunesJournal(t *testing.T) {
	site := simtest.Shop(t, "small", sim.Config{Seed: 5}).Site()
	srv, dir, stop := startSite(t, site, Config{})
	defer stop()
	now := time.Now()
	jdir := filepath.Join(dir, "journal", site.Site)
	os.MkdirAll(jdir, 0o750)
	day := func(d time.Duration) string {
		return filepath.Join(jdir, now.Add(-d).UTC().Format(time.DateOnly)+".jsonl")
	}
	old, kept, yesterday := day(40*24*time.Hour), day(20*24*time.Hour), day(24*time.Hour)
	for _, f := range []string{old, kept, yesterday} {
		if err := os.WriteFile(f, []byte("{}\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	srv.pruneJournal(now)
	if _, err := os.Stat(old); err == nil {
		t.Error("a journal file of 40 days ago is still there")
	}
	for _, f := range []string{kept, yesterday} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s went: %v", filepath.Base(f), err)
		}
	}
	// A retention shorter than two days keeps yesterday's, which a start
	// replays.
	srv.cfg.RetainAll = time.Hour
	srv.pruneJournal(now)
	if _, err := os.Stat(yesterday); err != nil {
		t.Errorf("yesterday's file went with a retention of an hour: %v", err)
	}
	if _, err := os.Stat(kept); err == nil {
		t.Error("a file of 20 days ago stayed with a retention of an hour")
	}
}

// The retention also removes the old journal files of a site this server
// does not run (any more): one removed from its site files, or moved to
// another instance of a cluster. Its files were kept forever.
func TestRetentionPrunesJournalOfSiteNotRun(t *testing.T) {
	site := simtest.Shop(t, "small", sim.Config{Seed: 5}).Site()
	srv, dir, stop := startSite(t, site, Config{})
	defer stop()
	now := time.Now()
	jdir := filepath.Join(dir, "journal", "closed-shop")
	if err := os.MkdirAll(jdir, 0o750); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(jdir, now.Add(-40*24*time.Hour).UTC().Format(time.DateOnly)+".jsonl")
	kept := filepath.Join(jdir, now.Add(-20*24*time.Hour).UTC().Format(time.DateOnly)+".jsonl")
	for _, f := range []string{old, kept} {
		if err := os.WriteFile(f, []byte("{}\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	srv.pruneJournal(now)
	if _, err := os.Stat(old); err == nil {
		t.Error("a journal file of 40 days ago of a site not run is still there")
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("%s went: %v", filepath.Base(kept), err)
	}
}
