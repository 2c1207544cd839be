package server

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// Forget implements web.Backend: the erasure of a person (GDPR art. 17)
// from a site, given the pseudonyms of their phone (computed from its MAC
// address with the site key by `passant forget --print-devs`: the server
// never holds the key). In order:
//
//  1. the site runner's memory: the tracks named after the pseudonyms or
//     holding them, with the other pseudonyms linked into those tracks,
//     leave the footfall counter, the pipeline (the tracker's memory of
//     pseudonyms, the frames and bursts under way), the heatmap's log of
//     spans by track, the live map and the fixes waiting to be stored
//     (the heat tiles keep the occupancy they counted); from now on the runner
//     drops observations of all those pseudonyms, live and when it replays
//     the journal, and fixes of those tracks (a restart forgets that; the
//     sensors' opt-out file is the lasting stop);
//  2. the writer's queue: their observations, fixes and summaries not yet
//     written, with no flush in flight while
//  3. the store erases them (store.ForgetDevs: observations, fixes, visits,
//     track days; the hours stay, counts about nobody);
//  4. the journal files the journal has closed (all but the current UTC
//     day's, usually) are written again without their observations; the
//     pseudonyms are kept in the site's journal directory
//     (forget-pending.json) until the files left are closed too, which
//     the hourly housekeeping and the next start look for
//     (forgetInJournal).
//
// The reports' cache of the site and its checkpoint are dropped.
func (s *Server) Forget(ctx context.Context, site string, devs []wire.Dev) (web.Forgotten, error) {
	if _, _, err := s.store.Site(ctx, site); err != nil {
		return web.Forgotten{}, notFound(err)
	}
	if len(devs) == 0 {
		return web.Forgotten{}, fmt.Errorf("%w: no pseudonyms", web.ErrInvalid)
	}
	all, tracks := devs, []string(nil)
	r := s.runner(site)
	if r == nil && s.cfg.Cluster {
		// The instance running the site would write the person's
		// summaries back from its memory.
		owner := "another instance"
		if ls, err := s.store.ListLeases(ctx); err == nil {
			for _, l := range ls {
				if l.Site == site {
					owner = "instance " + l.Owner
				}
			}
		}
		return web.Forgotten{}, fmt.Errorf("%w: site %s runs on %s: send the request there", web.ErrInvalid, site, owner)
	}
	if r != nil {
		all, tracks = r.forget(devs)
	}
	var f store.Forgotten
	erase := func() error {
		var err error
		f, err = s.store.ForgetDevs(ctx, site, all, tracks)
		return err
	}
	var err error
	if s.writer != nil {
		err = s.writer.forget(site, all, tracks, erase)
	} else {
		err = erase()
	}
	if err != nil {
		return web.Forgotten{}, err
	}
	if s.past != nil {
		s.past.forget(site)
	}
	out := web.Forgotten{Devs: len(devs), Linked: len(f.Erased) - len(devs), Tracks: f.Tracks,
		Observations: f.Observations, Positions: f.Positions, Visits: f.Visits, TrackDays: f.TrackDays}
	if s.journal != nil {
		out.JournalFiles, out.JournalObservations, out.JournalKept, err = s.forgetInJournal(site, f.Erased, false)
		if err != nil {
			return out, err
		}
	}
	// The site's checkpoint holds the person's state (the tracker's memory
	// of pseudonyms, the counter, the tracks' pseudonyms) and a position
	// in journal files that may have been written again: it goes. The
	// next local midnight writes one of the runner's state, without them;
	// a start before that replays yesterday and today from the journal.
	if _, err := s.removeCheckpoint(r, site); err != nil {
		return out, err
	}
	s.log.Info("forgot a person", "site", site, "pseudonyms", out.Devs, "linked", out.Linked, "tracks", out.Tracks,
		"observations", out.Observations, "positions", out.Positions, "visits", out.Visits, "track_days", out.TrackDays,
		"journal_files", out.JournalFiles, "journal_observations", out.JournalObservations)
	return out, nil
}

// forget takes the pseudonyms out of the runner's memory (Forget's step 1)
// and returns them with the pseudonyms linked into their tracks, and the
// tracks.
func (r *siteRunner) forget(devs []wire.Dev) ([]wire.Dev, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ckGen.Add(1) // a checkpoint of the state before is not written
	gone := map[wire.Dev]bool{}
	names := map[string]bool{}
	for _, d := range devs {
		gone[d] = true
		names[store.TrackOf(d)] = true
	}
	for t, ds := range r.trackDevs {
		for d := range ds {
			if gone[d] {
				names[t] = true
				break
			}
		}
	}
	all := slices.Clone(devs)
	for t := range names {
		for d := range r.trackDevs[t] {
			if !gone[d] {
				gone[d] = true
				all = append(all, d)
			}
		}
	}
	for _, d := range all[len(devs):] {
		names[store.TrackOf(d)] = true
	}
	r.counter.Forget(names)
	isName := func(t string) bool { return names[t] }
	r.pipe.Forget(func(d wire.Dev) bool { return gone[d] }, isName)
	r.heat.builder.Forget(isName)
	r.heat.log.Forget(isName)
	for t := range names {
		delete(r.heat.known, t)
	}
	for t := range names {
		if _, ok := r.live[t]; ok {
			delete(r.live, t)
			if !r.quiet {
				r.srv.feed.Publish(r.id, web.Event{Gone: t})
			}
		}
		delete(r.posSaved, t)
		delete(r.trackDevs, t)
	}
	r.devMu.Lock()
	for d := range gone {
		delete(r.devTrack, d)
	}
	r.devMu.Unlock()
	r.pending = slices.DeleteFunc(r.pending, func(p wire.Position) bool { return gone[p.Dev] || names[p.Track] })
	if r.forgotten == nil {
		r.forgotten, r.forgottenTracks = map[wire.Dev]bool{}, map[string]bool{}
	}
	for d := range gone {
		r.forgotten[d] = true
	}
	for t := range names {
		r.forgottenTracks[t] = true
	}
	r.occDirty = true
	return all, slices.Sorted(maps.Keys(names))
}

// withoutForgotten returns b without the observations of the pseudonyms
// forgotten (b itself when it holds none; a copy otherwise, b stays as it
// is). It runs under r.mu.
func (r *siteRunner) withoutForgotten(b *wire.Batch) *wire.Batch {
	if len(r.forgotten) == 0 || !slices.ContainsFunc(b.Obs, func(o wire.Observation) bool { return r.forgotten[o.Dev] }) {
		return b
	}
	c := *b
	c.Obs = slices.DeleteFunc(slices.Clone(b.Obs), func(o wire.Observation) bool { return r.forgotten[o.Dev] })
	return &c
}

// forget drops the writer's queued rows of the pseudonyms and tracks and
// keeps summaries of the tracks from being queued again, then runs erase
// (the store's deletion) with no flush in flight, so that nothing the
// erasure missed is written after it (Forget's steps 2 and 3).
func (w *writer) forget(site string, devs []wire.Dev, tracks []string, erase func() error) error {
	gone := make(map[wire.Dev]bool, len(devs))
	for _, d := range devs {
		gone[d] = true
	}
	names := make(map[string]bool, len(tracks))
	for _, t := range tracks {
		names[t] = true
	}
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	for i := range w.batches {
		b := &w.batches[i]
		if b.Site != site {
			continue
		}
		n := len(b.Batch.Obs)
		b.Batch.Obs = slices.DeleteFunc(b.Batch.Obs, func(o wire.Observation) bool { return gone[o.Dev] })
		w.held -= n - len(b.Batch.Obs)
	}
	w.batches = slices.DeleteFunc(w.batches, func(b store.RawBatch) bool { return len(b.Batch.Obs) == 0 })
	w.pos[site] = slices.DeleteFunc(w.pos[site], func(p wire.Position) bool { return gone[p.Dev] || names[p.Track] })
	for k := range w.days {
		if k.site == site && names[k.track] {
			delete(w.days, k)
		}
	}
	for k := range w.visits {
		if k.site == site && names[k.track] {
			delete(w.visits, k)
		}
	}
	if w.forgotten == nil {
		w.forgotten = map[[2]string]bool{}
	}
	for t := range names {
		w.forgotten[[2]string{site, t}] = true
	}
	// A gap's batches are read from the journal, whose open files still
	// hold the person (overflow.go).
	if w.forgottenDevs == nil {
		w.forgottenDevs = map[string]map[wire.Dev]bool{}
	}
	if w.forgottenDevs[site] == nil {
		w.forgottenDevs[site] = map[wire.Dev]bool{}
	}
	maps.Copy(w.forgottenDevs[site], gone)
	w.mu.Unlock()
	return erase()
}

// forgetInJournal writes the site's journal files again without the
// observations of devs and of the pseudonyms pending (ingest.ForgetPending),
// but those the journal has open and today's (UTC; ingest may open it
// meanwhile), which stay pending; at startup, before the site recovers
// from its journal and before ingest runs, it takes every file. It returns
// the files changed, the observations gone and the days left.
func (s *Server) forgetInJournal(site string, devs []wire.Dev, startup bool) (int, int64, []string, error) {
	open := s.journal.OpenDays(site)
	if !startup {
		open[time.Now().UTC().Format(time.DateOnly)] = true
	}
	return ingest.ForgetPending(filepath.Join(s.cfg.DataDir, "journal"), site, devs, func(day string) bool { return open[day] })
}

// forgetPending takes the pending erasures out of the journal files closed
// since (the hourly housekeeping; at startup, every file).
func (s *Server) forgetPending(site string, startup bool) {
	if s.journal == nil || !ingest.HasPending(filepath.Join(s.cfg.DataDir, "journal"), site) {
		return
	}
	r := s.runner(site)
	if r != nil {
		r.ckGen.Add(1) // a checkpoint taken meanwhile is not written
	}
	files, obs, left, err := s.forgetInJournal(site, nil, startup)
	if err == nil && files > 0 {
		// Its position may lie in a file written again.
		_, err = s.removeCheckpoint(r, site)
	}
	if err != nil {
		s.log.Error("forget: pending erasures in the journal", "site", site, "err", err)
		return
	}
	s.log.Info("forget: pending erasures done in the journal", "site", site, "files", files, "observations", obs, "days_left", len(left))
}
