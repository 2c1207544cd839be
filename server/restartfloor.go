package server

// The stored past at a start without a checkpoint. A server that starts
// without a checkpoint it can use (none yet, or one another build wrote,
// refused) replays the journal from yesterday's file on with a fresh
// pipeline. The journal's files are days of receive time, so on a data
// directory whose history was journaled in one day (the demo's week) that
// is every day it holds. The summaries the replay makes are upserts, keyed
// by track and day, and by track, zone and start: where the stored ones
// were made otherwise (another build's tracker: other names, other visit
// starts; a replay that began in the middle of a track) the stored rows
// stood beside the new ones, and the report counted both (the demo's
// 2026-12-01: 398 visitors, then 402 after restarts with new builds;
// TestRestartKeepsPastDays: every past day doubled). So the replay's
// summaries are stored only from the local midnight of the newest
// observation the server before stored (the day it was in): the days
// before are final and stored, and keep their figures (the floor, as a
// site change's). The merges the replay makes of tracks entirely before
// that midnight are not applied to the store either: the stored tracks
// are the last run's, and deleting one of them would lose its rows, whose
// merged track the replay does not store.

import (
	"github.com/passant/passant/wire"
)

// heldRestart is what a start's replay without a checkpoint holds back
// until it knows its floor: the newest observation time among the batches
// the last run stored, and the merges of stored tracks.
type heldRestart struct {
	storedT int64
	merges  []trackMerge
}

// stored notes a batch the last run stored (before the stored mark).
func (h *heldRestart) stored(b *wire.Batch) {
	for i := range b.Obs {
		h.storedT = max(h.storedT, b.Obs[i].T)
	}
}

// releaseHeld ends a start's replay without a checkpoint: the floor rises
// to the local midnight of the newest stored observation, and the merges
// the replay made reach the store from there on. It runs in the runner's
// goroutine (or before it starts).
func (r *siteRunner) releaseHeld() {
	r.mu.Lock()
	h := r.held
	r.held = nil
	if h == nil {
		r.mu.Unlock()
		return
	}
	if h.storedT > 0 {
		if f := midnight(h.storedT, r.site.Location()); f > r.floor {
			r.floor = f
			r.srv.log.Info("replayed the journal without a checkpoint; the stored figures before the last run's day are kept",
				"site", r.id, "from", f)
		}
	}
	floor := r.floor
	r.mu.Unlock()
	for _, m := range h.merges {
		if m.last < floor {
			continue
		}
		r.srv.writer.merged(m.site, m.track, m.into, max(m.first, floor), m.last)
	}
}
