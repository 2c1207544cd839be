package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/passant/passant/wire"
)

// An erasure from another process (`passant forget`, which knows nothing
// of the server's journal) must not rewrite a file a running journal still
// has open: the journal would go on writing to the old file, renamed away,
// and its lines be lost. The file stays and its erasure pending.
func TestForgetSkipsFileJournalHasOpen(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	const p, o = wire.Dev(0x1111111111111111), wire.Dev(0x5555555555555555)
	const recv = 1796342400100 // 2026-12-04
	batch := func(id int64) *wire.Batch {
		return &wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: id, Sent: id, Obs: []wire.Observation{{T: id, Dev: p, RSSI: -50}, {T: id + 1, Dev: o, RSSI: -50}}}
	}
	if err := j.Append("demo", recv, batch(1)); err != nil {
		t.Fatal(err)
	}
	// Not told which days the journal has open (nil skip), as the command.
	_, _, left, err := ForgetPending(dir, "demo", []wire.Dev{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append("demo", recv+1, batch(2)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "demo", "2026-12-04.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(got, []byte("\n")); n != 2 {
		t.Fatalf("the journal's file holds %d lines after the erasure and one more append, want 2 (left %v):\n%s", n, left, got)
	}
	if len(left) != 1 || !HasPending(dir, "demo") {
		t.Fatalf("the open file's erasure is not pending: left %v, pending %v", left, HasPending(dir, "demo"))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if files, obs, left, err := ForgetPending(dir, "demo", nil, nil); err != nil || files != 1 || obs != 2 || len(left) != 0 {
		t.Fatalf("once closed: %d files, %d observations, left %v, %v", files, obs, left, err)
	}
}
