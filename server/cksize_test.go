package server

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/checkpoint"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// simDay is one simulated opening of the small shop (its hours from 9:00
// UTC), seeded by the day, with the demo's pool of regulars.
func simDay(t *testing.T, d int, hours float64) (*wire.Site, []sensorBatch) {
	t.Helper()
	regs := &sim.Regulars{Seed: 5, N: 150, Share: 0.2}
	shop := simtest.Shop(t, "small", sim.Config{Seed: uint64(100 + d), Regulars: regs})
	from := time.Date(2026, 11, 2+d, 9, 0, 0, 0, time.UTC)
	var bs []sensorBatch
	simtest.Run(t, shop, from, from.Add(time.Duration(hours*float64(time.Hour))), nil, func(sensor string, b *wire.Batch) error {
		bs = append(bs, sensorBatch{sensor, b})
		return nil
	})
	return shop.Site(), bs
}

// TestCheckpointSizeDiag (PASSANT_CKSIZE_DAYS=N, PASSANT_CKSIZE_HOURS=h,
// default 4) runs N simulated days of the small shop through a server and
// logs after each day the size of the site's checkpoint per path of its
// state (two fields deep) and how long taking it holds the runner's lock.
func TestCheckpointSizeDiag(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PASSANT_CKSIZE_DAYS"))
	if n == 0 {
		t.Skip("set PASSANT_CKSIZE_DAYS=N")
	}
	hours := 4.0
	if h, err := strconv.ParseFloat(os.Getenv("PASSANT_CKSIZE_HOURS"), 64); err == nil {
		hours = h
	}
	site, _ := simDay(t, 0, 0.01)
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	// Housekeeping (the counter's and trackDevs' pruning) often: a day
	// of the simulation takes seconds, not 24 hours.
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, housekeepEvery: 100 * time.Millisecond})
	defer stop()
	var sent int64
	prev := map[string]int{}
	for d := range n {
		_, bs := simDay(t, d, hours)
		publishBatches(t, srv, site.Site, bs)
		sent += int64(len(bs))
		r := srv.runner(site.Site)
		eventually(t, "every batch processed", func() bool { return processed(r) == sent })
		time.Sleep(300 * time.Millisecond) // a housekeeping after the day
		r.mu.Lock()
		var meta ckMeta
		start := time.Now()
		var b bytes.Buffer
		err := checkpoint.Write(&b, pipeline.CheckpointKeep, r.ckState(&meta)...)
		took := time.Since(start)
		sizes, serr := checkpoint.Sizes(pipeline.CheckpointKeep, 2, r.ckState(&meta)...)
		tracks, devs := len(r.trackDevs), len(r.devTrack)
		r.mu.Unlock()
		if err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		t.Logf("day %d: %d batches, checkpoint %d bytes, written in %v under the lock; trackDevs %d tracks, devTrack %d pseudonyms",
			d+1, len(bs), b.Len(), took.Round(time.Millisecond), tracks, devs)
		var lines []string
		names := ckNames()
		for _, s := range sizes {
			if s.Bytes < 2000 {
				continue
			}
			root, rest, _ := strings.Cut(s.Path, ".")
			i, _ := strconv.Atoi(root)
			lines = append(lines, fmt.Sprintf("  %-40s %9d (%+d)", names[i]+"."+rest, s.Bytes, s.Bytes-prev[s.Path]))
		}
		sort.Strings(lines)
		t.Log("\n" + strings.Join(lines, "\n"))
		for _, s := range sizes {
			prev[s.Path] = s.Bytes
		}
	}
}

// ckNames names ckState's roots.
func ckNames() []string {
	return []string{"meta", "pipe", "counter", "live", "heat", "trackDevs", "devTrack", "posSaved",
		"lastT", "firstT", "now", "positions", "floor"}
}

// TestTrackDevsBounded: the pseudonyms of each track (trackDevs, devTrack:
// for retention's visitor pseudonyms, an erasure's linked ones and the
// calibration walk) are kept for the tracks the counter still holds (its
// last two days) and those on the live map, not for every track since the
// start: a site's memory and checkpoint grew by about 320 kB a day with
// them (TestCheckpointSizeDiag: 1.36 MB devTrack and 0.87 MB trackDevs
// after seven 10 h days of the small shop), until 32768 tracks.
func TestTrackDevsBounded(t *testing.T) {
	site, _ := simDay(t, 0, 0.01)
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	srv, stop := startServer(t, Config{SiteFiles: []string{path}, DataDir: dir, housekeepEvery: 100 * time.Millisecond})
	defer stop()
	var sent int64
	for d := range 4 {
		_, bs := simDay(t, d, 1)
		publishBatches(t, srv, site.Site, bs)
		sent += int64(len(bs))
	}
	r := srv.runner(site.Site)
	eventually(t, "every batch processed", func() bool { return processed(r) == sent })
	var stale, tracks, devs int
	eventually(t, "trackDevs only of the counter's and the live map's tracks", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		keep := map[string]bool{}
		pruned := true // the counter forgot the first day
		for _, d := range r.counter.TrackDays() {
			keep[d.Track] = true
			pruned = pruned && d.Day != "2026-11-02"
		}
		for tr := range r.live {
			keep[tr] = true
		}
		stale, tracks, devs = 0, len(r.trackDevs), len(r.devTrack)
		for tr := range r.trackDevs {
			if !keep[tr] {
				stale++
			}
		}
		r.devMu.Lock()
		defer r.devMu.Unlock()
		for _, tr := range r.devTrack {
			if r.trackDevs[tr] == nil {
				stale++
			}
		}
		return pruned && stale == 0
	})
	t.Logf("after 4 days: trackDevs %d tracks, devTrack %d pseudonyms", tracks, devs)
}
