package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/passant/passant/wire"
)

// An erasure's rename of a journal file (and of the pending file) is
// followed by a sync of the directory, or a power loss could bring back
// the old file with the person.
func TestForgetSyncsDirectory(t *testing.T) {
	dir := t.TempDir()
	const p, o = wire.Dev(0x1111111111111111), wire.Dev(0x5555555555555555)
	b := &wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: 1, Sent: 1, Obs: []wire.Observation{{T: 1, Dev: p, RSSI: -50}, {T: 2, Dev: o, RSSI: -50}}}
	site := filepath.Join(dir, "demo")
	os.MkdirAll(site, 0o750)
	for _, day := range []string{"2026-12-04", "2026-12-05"} {
		if err := os.WriteFile(filepath.Join(site, day+".jsonl"), append(wire.AppendJournalLine(nil, 1796342400100, b), '\n'), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	var synced []string
	old := syncDir
	syncDir = func(d string) error {
		got, _ := os.ReadFile(filepath.Join(site, "2026-12-04.jsonl"))
		if bytes.Contains(got, []byte(p.String())) {
			t.Errorf("directory %s synced before the file's rename", d)
		}
		synced = append(synced, d)
		return old(d)
	}
	defer func() { syncDir = old }()
	_, _, left, err := ForgetPending(dir, "demo", []wire.Dev{p}, func(day string) bool { return day == "2026-12-05" })
	if err != nil || len(left) != 1 {
		t.Fatalf("left %v, %v", left, err)
	}
	// The rewritten file's rename and the pending file's.
	if len(synced) != 2 || synced[0] != site || synced[1] != site {
		t.Fatalf("directories synced: %q, want the site's twice", synced)
	}
}
