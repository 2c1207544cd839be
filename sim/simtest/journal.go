package simtest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BlankJournal overwrites the lines of a site's journal directory whose
// batch was sent before before (Unix ms) with spaces, keeping every
// offset: they are unreadable, as the journal before yesterday is to a
// restarted server (it replays only yesterday and today). It fails the
// test when it blanks none.
func BlankJournal(t testing.TB, dir string, before int64) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no journal in %s: %v", dir, err)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); {
			end := bytes.IndexByte(data[off:], '\n')
			if end < 0 {
				break
			}
			end += off
			var l struct {
				Batch struct {
					Sent int64 `json:"sent"`
				} `json:"batch"`
			}
			if json.Unmarshal(data[off:end], &l) == nil && l.Batch.Sent < before {
				copy(data[off:end], bytes.Repeat([]byte{' '}, end-off))
				n++
			}
			off = end + 1
		}
		if err := os.WriteFile(f, data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatal("no journal line blanked")
	}
}
