package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/passant/passant/wire"
)

// Two erasures of the same site at once (an API erasure and the hourly
// pending one, or `passant forget` in another process) must not undo each
// other: the later rename of a copy made from the file as it was before the
// other's rename would put the other's person back. The second waits for
// the first (the site's forget.lock).
func TestForgetConcurrentErasures(t *testing.T) {
	dir := t.TempDir()
	const p1, p2, o = wire.Dev(0x1111111111111111), wire.Dev(0x2222222222222222), wire.Dev(0x5555555555555555)
	b := &wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: 1, Sent: 1, Obs: []wire.Observation{{T: 1, Dev: p1, RSSI: -50}, {T: 2, Dev: p2, RSSI: -50}, {T: 3, Dev: o, RSSI: -50}}}
	name := filepath.Join(dir, "demo", "2026-12-04.jsonl")
	os.MkdirAll(filepath.Dir(name), 0o750)
	if err := os.WriteFile(name, append(wire.AppendJournalLine(nil, 1796342400100, b), '\n'), 0o640); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	waits := make(chan struct{}, 1)
	forgetLockWaitHook = func() { waits <- struct{}{} }
	forgetOpenedHook = func() {
		forgetOpenedHook = nil
		// The first has opened the file; the second runs now.
		go func() {
			_, _, _, err := ForgetPending(dir, "demo", []wire.Dev{p2}, nil)
			second <- err
		}()
		select {
		case err := <-second:
			second <- err
		case <-waits:
		}
	}
	defer func() { forgetOpenedHook, forgetLockWaitHook = nil, nil }()
	if _, _, _, err := ForgetPending(dir, "demo", []wire.Dev{p1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(name)
	if bytes.Contains(got, []byte(p1.String())) || bytes.Contains(got, []byte(p2.String())) || !bytes.Contains(got, []byte(o.String())) {
		t.Fatalf("after two erasures at once, the file holds:\n%s", got)
	}
}
