package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// TestForgetCheckpoint erases a regular shopper through the server
// (Server.Forget, as POST /api/sites/{site}/forget) after two mornings,
// between the midnights at which the server checkpoints its state: the
// checkpoint that held them goes, the one written at the next midnight
// holds neither their pseudonym nor their track's name (the tracker keeps
// a pseudonym for 30 days), and the store holds nothing of them after a
// third morning on which they came back.
func TestForgetCheckpoint(t *testing.T) {
	site, days := mornings(t, 3, 60*time.Minute)
	ctx := context.Background()
	var logs logBuffer
	srv, dir, stop := startSite(t, site, Config{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	defer stop()
	send := func(bs []sensorBatch) { t.Helper(); sendStored(t, srv, site.Site, bs) }
	send(days[0])
	send(days[1])
	ck := filepath.Join(dir, "journal", site.Site, checkpointFile)
	if _, err := os.Stat(ck); err != nil {
		t.Fatalf("no checkpoint after the first midnight: %v", err)
	}

	// A regular: a track named after its pseudonym, with store visits on
	// both days.
	end := time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC).UnixMilli()
	visits, err := srv.store.Visits(ctx, site.Site, 0, end)
	if err != nil {
		t.Fatal(err)
	}
	onDays := map[string]map[int]bool{}
	for _, v := range visits {
		if v.Zone == site.Zones[1].ID {
			if onDays[v.Track] == nil {
				onDays[v.Track] = map[int]bool{}
			}
			onDays[v.Track][time.UnixMilli(v.Start).UTC().Day()] = true
		}
	}
	ps, err := srv.store.Positions(ctx, site.Site, 0, end)
	if err != nil {
		t.Fatal(err)
	}
	var dev wire.Dev
	for _, p := range ps {
		if p.Track == store.TrackOf(p.Dev) && len(onDays[p.Track]) == 2 {
			dev = p.Dev
			break
		}
	}
	if dev == 0 {
		t.Fatalf("no regular among %d tracks with visits", len(onDays))
	}
	needles := [][]byte{binary.AppendUvarint(nil, uint64(dev)), []byte(store.TrackOf(dev))}
	if data, _ := os.ReadFile(ck); !bytes.Contains(data, needles[0]) {
		t.Fatal("the checkpoint does not hold the regular's pseudonym: the search finds nothing")
	}

	f, err := srv.Forget(ctx, site.Site, []wire.Dev{dev})
	if err != nil {
		t.Fatal(err)
	}
	if f.Visits < 2 || f.TrackDays < 2 || f.Observations == 0 {
		t.Fatalf("forgot %+v: want two days' visits and track days", f)
	}
	if _, err := os.Stat(ck); err == nil {
		t.Fatal("the checkpoint that held the regular is still there")
	}
	send(days[2])
	data, err := os.ReadFile(ck)
	if err != nil {
		t.Fatalf("no checkpoint at the next midnight: %v\n%s", err, logs.String())
	}
	for i, n := range needles {
		if bytes.Contains(data, n) {
			t.Errorf("the new checkpoint holds the regular's %s", []string{"pseudonym", "track's name"}[i])
		}
	}
	if n, _ := srv.store.CountObservations(ctx, site.Site, 0, end); n == 0 {
		t.Fatal("no observations stored")
	}
	var left int
	err = srv.store.ScanBatches(ctx, site.Site, 0, end, func(b *store.RawBatch) error {
		for _, o := range b.Batch.Obs {
			if o.Dev == dev {
				left++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ps, _ = srv.store.Positions(ctx, site.Site, 0, end)
	for _, p := range ps {
		if p.Dev == dev || p.Track == store.TrackOf(dev) {
			left++
		}
	}
	visits, _ = srv.store.Visits(ctx, site.Site, 0, end)
	for _, v := range visits {
		if v.Track == store.TrackOf(dev) {
			left++
		}
	}
	if left > 0 {
		t.Errorf("%d rows of the regular after the third morning", left)
	}
	if strings.Contains(logs.String(), dev.String()) {
		t.Error("the log names the pseudonym")
	}
}
