package ingest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/passant/passant/wire"
)

// Prune removes the site's files of the days before the cut, keeps the
// later ones, the open one whatever its day, and the other sites'.
func TestJournalPrune(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"demo/2026-10-01.jsonl", "demo/2026-10-02.jsonl", "demo/2026-11-05.jsonl", "other/2026-10-01.jsonl"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o750)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("{}\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	j, err := OpenJournal(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	// An append received on 2026-10-02 (UTC) opens that day's file.
	b := &wire.Batch{V: 1, Sensor: "s1", Sent: 1, Obs: []wire.Observation{{T: 1, Dev: 1, RSSI: -50}}}
	if err := j.Append("demo", 1790899200000+3600_000, b); err != nil {
		t.Fatal(err)
	}
	files, size, err := j.Prune("demo", "2026-11-01")
	if err != nil || files != 1 || size != 3 {
		t.Fatalf("pruned %d files, %d bytes, %v; want the one closed file of October", files, size, err)
	}
	for name, want := range map[string]bool{"demo/2026-10-01.jsonl": false, "demo/2026-10-02.jsonl": true,
		"demo/2026-11-05.jsonl": true, "other/2026-10-01.jsonl": true} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s: there %v, want %v", name, err == nil, want)
		}
	}
}
