package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// TestForgetWhileCheckpointWrites: an erasure (Server.Forget) that comes
// while the runner writes a checkpoint, after it took the state (with the
// person) and before the file is written, must not leave that checkpoint
// behind: Forget removed the checkpoint before the runner wrote it, and a
// start would read the person back into the tracker's memory of
// pseudonyms and the counter.
func TestForgetWhileCheckpointWrites(t *testing.T) {
	site, days := mornings(t, 2, 45*time.Minute)
	ctx := context.Background()
	srv, dir, stop := startSite(t, site, Config{})
	defer stop()
	send := func(bs []sensorBatch) { t.Helper(); sendStored(t, srv, site.Site, bs) }
	send(days[0])
	ps, err := srv.store.Positions(ctx, site.Site, 0, time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	var dev wire.Dev
	for _, p := range ps {
		if p.Track == store.TrackOf(p.Dev) {
			dev = p.Dev
			break
		}
	}
	if dev == 0 {
		t.Fatalf("no track named after its pseudonym among %d positions", len(ps))
	}
	needle := binary.AppendUvarint(nil, uint64(dev))

	// The first checkpoint (the midnight before day 2): the erasure comes
	// between the state's taking and the file's writing.
	var once sync.Once
	var held bool
	var ferr error
	hook := func(state []byte) {
		once.Do(func() {
			held = bytes.Contains(state, needle)
			_, ferr = srv.Forget(ctx, site.Site, []wire.Dev{dev})
		})
	}
	checkpointWriting.Store(&hook)
	defer checkpointWriting.Store(nil)
	send(days[1])
	if ferr != nil {
		t.Fatal(ferr)
	}
	if !held {
		t.Fatal("the checkpoint's state did not hold the pseudonym: the test proves nothing")
	}
	data, err := os.ReadFile(filepath.Join(dir, "journal", site.Site, checkpointFile))
	if err == nil && bytes.Contains(data, needle) {
		t.Error("the checkpoint written after the erasure holds the person's pseudonym")
	}
}
