package server

// The site runner as the pipeline's Handler: the fixes, merges and event
// time the pipeline hands it, under r.mu.

import (
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// setDevTrack records d's track; under r.mu.
func (r *siteRunner) setDevTrack(d wire.Dev, track string) {
	r.devMu.Lock()
	r.devTrack[d] = track
	r.devMu.Unlock()
}

// trackOf is d's track ("" if none seen); it takes devMu only, so it may
// be called with or without r.mu held (the calibration walk calls it from
// inside accept).
func (r *siteRunner) trackOf(d wire.Dev) string {
	r.devMu.Lock()
	defer r.devMu.Unlock()
	return r.devTrack[d]
}

// Position implements pipeline.Handler; it runs under r.mu.
func (r *siteRunner) Position(p wire.Position) {
	r.yield()
	if !r.orig.relabel(&p) {
		return
	}
	if r.forgotten != nil && (r.forgotten[p.Dev] || r.forgottenTracks[p.Track]) {
		return // a person erased (forget.go)
	}
	r.counter.Add(p)
	r.heat.add(&p)
	devs := r.trackDevs[p.Track]
	if devs == nil {
		devs = map[wire.Dev]struct{}{}
		r.trackDevs[p.Track] = devs
	}
	_, known := devs[p.Dev]
	devs[p.Dev] = struct{}{}
	r.setDevTrack(p.Dev, p.Track)
	r.lastT = p.T
	if r.firstT == 0 {
		r.firstT = p.T
	}
	r.positions++
	if r.quiet {
		r.live[p.Track] = p
		if r.restoreFrom > 0 && p.T >= r.restoreFrom {
			r.savePosition(p, !known)
		}
		return
	}
	r.live[p.Track] = p
	r.srv.feed.Publish(r.id, web.Event{Position: &p})
	r.occDirty = true
	r.savePosition(p, !known)
}

// savePosition queues p for storage, one position per track every
// positionsEvery, and the first fix of each pseudonym of a track (newDev):
// the stored fixes name every pseudonym of a track, which retention keeps
// the visitors' observations by (VisitorDevs) and a re-processing before
// its cut groups them by (origTracks).
func (r *siteRunner) savePosition(p wire.Position, newDev bool) {
	if last, ok := r.posSaved[p.Track]; newDev || !ok || p.T-last >= positionsEvery {
		r.posSaved[p.Track] = p.T
		r.pending = append(r.pending, p)
	}
}

// Advance implements pipeline.Handler; it runs under r.mu.
// Merge counts track from's positions as into's (a deferred link of a
// randomised MAC), takes from off the live map, has its stored
// summaries deleted and its stored fixes renamed into's.
func (r *siteRunner) Merge(from, into string, _ int64) {
	if r.orig.keeps(from, into) {
		return
	}
	if first, last, ok := r.counter.Merge(from, into); ok && r.srv.writer != nil {
		// The fixes not yet handed to the writer name into; the writer
		// renames those it queues and those stored.
		renameFixes(r.pending, from, into, first, last)
		if r.held != nil {
			r.held.merges = append(r.held.merges, trackMerge{r.id, from, into, first, last})
		} else {
			r.srv.writer.merged(r.id, from, into, first, last)
		}
		if r.srv.past != nil {
			r.srv.past.touched(map[string]span{r.id: {first, last}})
		}
	}
	r.heat.log.Merge(from, into)
	if devs := r.trackDevs[from]; devs != nil {
		to := r.trackDevs[into]
		if to == nil {
			to = map[wire.Dev]struct{}{}
			r.trackDevs[into] = to
		}
		r.devMu.Lock()
		for d := range devs {
			to[d] = struct{}{}
			r.devTrack[d] = into
		}
		r.devMu.Unlock()
		delete(r.trackDevs, from)
	}
	if _, ok := r.live[from]; ok {
		delete(r.live, from)
		delete(r.posSaved, from)
		if !r.quiet {
			r.srv.feed.Publish(r.id, web.Event{Gone: from})
			r.occDirty = true
		}
	}
}

func (r *siteRunner) Advance(now int64) {
	r.yield()
	r.counter.Advance(now)
	if now > r.now {
		r.now = now
		// Phones fall silent as event time passes: the live counts move.
		r.occDirty = true
	}
	r.heat.builder.Expire(now)
	r.heat.bake(now, r.site, r.counter, r.bakeMode())
	for track, p := range r.live {
		if now-p.T > liveExpiry {
			delete(r.live, track)
			delete(r.posSaved, track)
			if !r.quiet {
				r.srv.feed.Publish(r.id, web.Event{Gone: track})
				r.occDirty = true
			}
		}
	}
}

// bakeMode says how the days the heat bakes go to the store (heat.bake):
// live, replacing what is stored; in a rebuild of a site change or a
// re-processing, those from its start on (restoreFrom; not the part the
// passers-by retention thinned, whose stored tiles are built again from
// the stored positions), replacing; in a recovery from the journal
// after a start, keeping what is stored (the same hours again). It runs
// under r.mu.
func (r *siteRunner) bakeMode() bakeMode {
	switch {
	case !r.quiet:
		return bakeMode{Replace: true}
	case r.restoreFrom > 0:
		return bakeMode{From: max(r.restoreFrom, r.orig.cut), Replace: true}
	}
	return bakeMode{}
}
