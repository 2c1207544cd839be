package server

// The site's checkpoint: at each local midnight of event time the runner
// writes its whole state (the pipeline with its tracker, clock alignment
// and quarantine; the footfall counter; the live map, the heatmap's state,
// the tracks' pseudonyms) with the journal's position after the last line
// it took, to DIR/journal/<site>/checkpoint (the journal's readers take only
// *.jsonl). A restarted server reads it and replays the journal from that
// position: what the tracker learned before yesterday (gains, rhythms,
// pseudonyms, clock offsets) is no longer lost, and the restart is exact
// (package checkpoint). A checkpoint of another build, another site
// configuration or a corrupt one is refused with a log line, and the
// server replays yesterday and today as without one.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/passant/passant/checkpoint"
	"github.com/passant/passant/ingest"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/wire"
)

const checkpointFile = ingest.CheckpointFile

// ckMeta says what a checkpoint holds: where in the journal its state
// ends, for which site configuration, at which event time.
type ckMeta struct {
	Pos  ingest.Pos
	Site [32]byte // SHA-256 of the site's JSON
	Now  int64    // the watermark
}

// ckState is what a checkpoint holds: the meta first, then the runner's
// state. Every field the handlers (Position, Merge, Advance) change is
// here; the rest of the runner is receive-side or rebuilt at a start.
// The runner's own scalars here (lastT, ...) are not rebuilt by reset:
// recover puts them back when a checkpoint read is refused after all.
func (r *siteRunner) ckState(meta *ckMeta) []any {
	return []any{meta, r.pipe, r.counter, &r.live, &r.heat, &r.trackDevs, &r.devTrack, &r.posSaved,
		&r.lastT, &r.firstT, &r.now, &r.positions, &r.floor}
}

func siteHash(site *wire.Site) [32]byte {
	data, _ := json.Marshal(site)
	return sha256.Sum256(data)
}

func (r *siteRunner) checkpointPath() string {
	if r.srv.cfg.Cluster || r.srv.cfg.DataDir == "" || r.srv.journal == nil {
		return ""
	}
	return filepath.Join(r.srv.cfg.DataDir, "journal", r.id, checkpointFile)
}

// nextMidnight is the first local midnight of the site after t.
func nextMidnight(t int64, loc *time.Location) int64 {
	y, m, d := time.UnixMilli(t).In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc).UnixMilli()
}

// checkpointDue writes a checkpoint once the watermark has passed the
// next local midnight, with at the journal's position after the last line
// taken (zero when it is not known: the next one will do). It runs in the
// runner's goroutine.
func (r *siteRunner) checkpointDue(at ingest.Pos) {
	if r.now <= 0 || (r.ckDue != 0 && r.now < r.ckDue) || at.Day == "" {
		return
	}
	path := r.checkpointPath()
	if path == "" {
		return
	}
	r.mu.Lock()
	if r.ckDue == 0 { // the first watermark since the start
		r.ckDue = nextMidnight(r.now, r.site.Location())
		r.mu.Unlock()
		return
	}
	start := time.Now()
	meta := ckMeta{Pos: at, Site: siteHash(r.site), Now: r.now}
	gen := r.ckGen.Load()
	var b bytes.Buffer
	err := checkpoint.Write(&b, pipeline.CheckpointKeep, r.ckState(&meta)...)
	r.ckDue = nextMidnight(r.now, r.site.Location())
	r.mu.Unlock()
	locked := time.Since(start) // the state taken; the file is written without r.mu
	if hook := checkpointWriting.Load(); hook != nil && err == nil {
		(*hook)(b.Bytes())
	}
	if err == nil {
		// An erasure since the state was taken (which removes the
		// checkpoint once it is done): the state may hold the person, its
		// position lie in a journal file written again. The next batch
		// takes the state again.
		r.ckFile.Lock()
		stale := r.ckGen.Load() != gen
		if !stale {
			if err = ingest.WriteFileAtomic(path, b.Bytes()); err != nil {
				err = fmt.Errorf("server: checkpoint: %w", err)
			}
		}
		r.ckFile.Unlock()
		if stale {
			r.mu.Lock()
			r.ckDue = 1
			r.mu.Unlock()
			return
		}
	}
	if err != nil {
		r.srv.log.Error("writing the site's checkpoint failed; a restart replays yesterday and today", "site", r.id, "err", err)
		return
	}
	r.srv.log.Info("checkpoint written", "site", r.id, "bytes", b.Len(), "day", at.Day, "offset", at.Off,
		"took", time.Since(start).Round(time.Millisecond), "locked", locked.Round(time.Millisecond))
}

// checkpointWriting, when set (tests), is called with a checkpoint's bytes
// after the runner took its state and before the file is written.
var checkpointWriting atomic.Pointer[func(state []byte)]

// removeCheckpoint removes the site's checkpoint after an erasure, which
// bumped the runner's ckGen first (r nil: no runner of the site here).
func (s *Server) removeCheckpoint(r *siteRunner, site string) (bool, error) {
	if r != nil {
		r.ckFile.Lock()
		defer r.ckFile.Unlock()
	}
	return ingest.RemoveCheckpoint(filepath.Join(s.cfg.DataDir, "journal"), site)
}

// errNoCheckpoint: there is none to read (no log line).
var errNoCheckpoint = errors.New("no checkpoint")

// loadCheckpoint reads the site's checkpoint into the fresh runner (just
// reset) and returns the journal's position it holds. On an error the
// runner must be reset again.
func (r *siteRunner) loadCheckpoint() (ingest.Pos, error) {
	path := r.checkpointPath()
	if path == "" {
		return ingest.Pos{}, errNoCheckpoint
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ingest.Pos{}, errNoCheckpoint
	}
	if err != nil {
		return ingest.Pos{}, fmt.Errorf("server: checkpoint: %w", err)
	}
	var meta ckMeta
	r.mu.Lock()
	err = checkpoint.Read(bytes.NewReader(data), pipeline.CheckpointKeep, r.ckState(&meta)...)
	site := r.site
	r.mu.Unlock()
	if err != nil {
		return ingest.Pos{}, err
	}
	if meta.Site != siteHash(site) {
		return ingest.Pos{}, errors.New("server: checkpoint: written for another configuration of the site")
	}
	st, err := os.Stat(filepath.Join(filepath.Dir(path), meta.Pos.Day+".jsonl"))
	if err != nil || st.Size() < meta.Pos.Off {
		return ingest.Pos{}, fmt.Errorf("server: checkpoint: the journal from its position (%s, byte %d) is gone", meta.Pos.Day, meta.Pos.Off)
	}
	r.mu.Lock()
	r.ckDue = nextMidnight(meta.Now, site.Location())
	r.mu.Unlock()
	return meta.Pos, nil
}
