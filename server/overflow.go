package server

// The write buffer's overflow goes through the journal. While the database
// is away the writer holds what it is to store up to a bound
// (Config.WriteBuffer, in observations). A batch over the bound is not
// held: its site's gap opens, and from then on every batch the site's
// pipeline takes is only noted by its receive time, in journal order,
// while the batches held before are written first. Once they are, the
// writer reads the noted batches back from the journal (ReadRange, as a
// runner reads its backlog) and stores them a chunk at a time, moving the
// stored mark (stored.go) with each chunk; when none is left the gap
// closes and the site's batches are held in memory again. So the stored
// mark never passes a batch that is not stored: a server stopped with a
// gap open stores the rest from the journal at its next start, as after a
// crash; and each batch is stored once.
//
// A chunk is written in place of whatever is stored within its receive
// times (ReplaceBatches): a write whose answer was lost with the
// connection, though the database committed it, is written again without
// a duplicate.
//
// A receive time names one journal line: ingest gives strictly increasing
// receive times, after the newest one in the journal at a start, and the
// journal's lines are in receive order. A noted batch whose line the
// journal no longer has (a line that does not decode, a file gone) is
// counted missing and logged, never waited for.

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

const (
	// refillBatches and refillObs bound one chunk of a gap's batches read
	// back and written together.
	refillBatches = 2048
	refillObs     = 200_000
	// refillTime is how long the run loop refills after a flush before it
	// flushes what came meanwhile.
	refillTime = time.Second
	// gapBatchesPerObs: a site's gap notes at most this many batches per
	// observation of the write buffer (8 bytes each; an observation held
	// takes over 100), and gapBatchesMin at least; the batches past that
	// are counted missing.
	gapBatchesPerObs = 4
	gapBatchesMin    = 1 << 20
)

// gap is a site's batches waiting in the journal to be stored.
type gap struct {
	recvs []int64    // receive times of the batches taken, in journal order
	head  int        // recvs[:head] are stored (or missing)
	from  ingest.Pos // where the next chunk is read from: at or before recvs[head]'s line
	// fromFile is the file of from's day as the last read had it open
	// (ingest.Cursor): `passant forget` rewrites a closed day's file
	// (renamed over it), and its offsets then mean nothing; the day is
	// read from its start.
	fromFile os.FileInfo
	unnoted  int64     // batches taken past the bound on recvs
	opened   time.Time // when the gap opened
	full     bool      // it met the write buffer full (logged)
	began    time.Time // when the first chunk was stored
	logged   time.Time // the last progress line
	stored   int64     // batches stored from the journal
	obs      int64     // and their observations
	missing  int64     // batches the journal did not have
}

// dayFile returns the journal file of site's day as it is now (nil without).
func (w *writer) dayFile(site, day string) os.FileInfo {
	fi, err := os.Stat(filepath.Join(w.dir, site, day+".jsonl"))
	if err != nil {
		return nil
	}
	return fi
}

// note records a batch of the site taken while its gap is open; under w.mu.
func (w *writer) note(site string, recv int64, full bool) {
	g := w.gaps[site]
	if g == nil {
		day := time.UnixMilli(recv).UTC().Format(time.DateOnly)
		g = &gap{from: ingest.Pos{Day: day}, opened: time.Now()}
		w.gaps[site] = g
	}
	if full && !g.full {
		g.full = true
		w.log.Warn("write buffer full: the site's batches wait in the journal and are stored from there once the database takes them",
			"site", site, "held_observations", w.held, "limit", w.limit)
	}
	if len(g.recvs)-g.head >= max(gapBatchesPerObs*w.limit, gapBatchesMin) {
		g.unnoted++
		return
	}
	g.recvs = append(g.recvs, recv)
}

// unstoredAtStart notes a batch a start's recovery found journaled after
// the site's stored mark: it is stored from the journal like an overflow,
// in place of any of it the server before wrote without moving the mark
// (killed between the two), so once.
func (w *writer) unstoredAtStart(site string, recv int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.journal == nil {
		return
	}
	if _, open := w.gaps[site]; !open {
		w.log.Info("batches journaled after the stored mark are stored from the journal", "site", site)
	}
	w.note(site, recv, false)
}

// gapped returns the sites with an open gap, sorted.
func (w *writer) gapped() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	sites := make([]string, 0, len(w.gaps))
	for site := range w.gaps {
		sites = append(sites, site)
	}
	slices.Sort(sites)
	return sites
}

// journalPending returns how many batches wait in the journal to be stored.
func (w *writer) journalPending() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n int64
	for _, g := range w.gaps {
		n += int64(len(g.recvs)-g.head) + g.unnoted
	}
	return n
}

// refill stores the batches of open gaps from the journal, until none is
// left or until (when not zero); it returns the first write's error.
func (w *writer) refill(ctx context.Context, until time.Time) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	for _, site := range w.gapped() {
		for until.IsZero() || time.Now().Before(until) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			more, err := w.refillChunk(ctx, site)
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
	}
	return nil
}

// refillChunk stores the next chunk of the site's gap; under flushMu. It
// reports whether there is more to do now (false: the gap closed, or the
// site's batches held before it, or the journal's latest lines, are not
// written yet).
func (w *writer) refillChunk(ctx context.Context, site string) (more bool, err error) {
	w.mu.Lock()
	g := w.gaps[site]
	if g == nil || w.journal == nil || slices.ContainsFunc(w.batches, func(b store.RawBatch) bool { return b.Site == site }) {
		w.mu.Unlock()
		return false, nil
	}
	keys := slices.Clone(g.recvs[g.head:min(len(g.recvs), g.head+refillBatches)])
	from, fromFile := g.from, g.fromFile
	gone := w.forgottenDevs[site] // changed only under flushMu, held
	w.mu.Unlock()
	var (
		bs         []store.RawBatch
		obs        int
		i, missing int
		pos        = from
		posFile    = fromFile
		end        = false // the journal read to its end
	)
	if len(keys) > 0 {
		to, err := w.journal.End(site)
		if err != nil {
			return false, err
		}
		for i < len(keys) {
			stop := false // the chunk is complete: the lines after are read again next time
			// Lines read again (a rewritten file read from its start) are
			// told apart by their receive times: keys holds those still
			// to store.
			cur := ingest.Cursor{Pos: pos, File: posFile, After: math.MinInt64}
			rd, rerr := w.journal.ReadFrom(site, cur, to, backlogChunk, func(recv int64, b *wire.Batch, _ wire.Drops) {
				if stop {
					return
				}
				if obs >= refillObs {
					stop = true
					return
				}
				for i < len(keys) && keys[i] < recv {
					missing++ // its line is not in the journal
					i++
				}
				if i < len(keys) && keys[i] == recv {
					if len(gone) > 0 {
						b.Obs = slices.DeleteFunc(b.Obs, func(o wire.Observation) bool { return gone[o.Dev] })
					}
					if len(b.Obs) > 0 {
						bs = append(bs, store.RawBatch{Site: site, Recv: recv, Batch: *b})
						obs += len(b.Obs)
					}
					i++
				}
				stop = i == len(keys)
			}, func(err error) {
				w.log.Warn("journal line skipped", "site", site, "err", err)
			})
			if rerr != nil && i < len(keys) {
				// Nothing more can be read from here: the chunk's batches
				// not read are missing. (Past the chunk's last line it
				// does not matter: a torn last line the journal drops
				// when it next appends.)
				w.log.Error("reading the write buffer's overflow from the journal failed; the rest of the chunk is missing",
					"site", site, "from", pos, "err", rerr)
				missing += len(keys) - i
				i, end = len(keys), true
				break
			}
			if stop || rerr != nil {
				break
			}
			if rd.File != nil || rd.Pos.Day != pos.Day {
				posFile = rd.File
			}
			pos = rd.Pos
			if rd.N < backlogChunk {
				// At the end read: the journal's end (every noted batch's
				// line lies before it), or lines it has not written yet.
				end = rd.Pos == to
				break
			}
		}
		if end {
			missing += len(keys) - i
			i = len(keys)
		}
		if len(bs) > 0 {
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			err := w.st.ReplaceBatches(wctx, bs)
			cancel()
			if err != nil {
				return false, err
			}
			w.written.Add(int64(obs))
			w.fromJournal.Add(int64(obs))
			w.markStored(bs)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if g.began.IsZero() {
		g.began = now
	}
	g.head += i
	g.from, g.fromFile = pos, posFile
	g.stored += int64(len(bs))
	g.obs += int64(obs)
	g.missing += int64(missing)
	w.missing.Add(int64(missing))
	if g.head > 4096 && g.head > len(g.recvs)/2 {
		g.recvs = append(g.recvs[:0], g.recvs[g.head:]...)
		g.head = 0
	}
	if missing > 0 {
		w.log.Error("batches over the write buffer are missing from the journal; not stored", "site", site, "batches", missing)
	}
	left := len(g.recvs) - g.head
	if left > 0 {
		if now.Sub(g.logged) >= 5*time.Second {
			g.logged = now
			w.log.Info("storing the write buffer's overflow from the journal", "site", site,
				"stored_batches", g.stored, "left_batches", left)
		}
		return len(keys) > 0 && (i > 0 || len(bs) > 0), nil
	}
	if g.unnoted > 0 {
		w.missing.Add(g.unnoted)
		w.log.Error("more batches over the write buffer than it notes: those past the bound are not stored (the journal keeps them)",
			"site", site, "batches", g.unnoted)
	}
	delete(w.gaps, site)
	w.log.Info("the write buffer's overflow is stored from the journal", "site", site,
		"batches", g.stored, "observations", g.obs, "missing", g.missing+g.unnoted,
		"took", now.Sub(g.began).Round(time.Millisecond), "since_overflow", now.Sub(g.opened).Round(time.Second))
	return false, nil
}
