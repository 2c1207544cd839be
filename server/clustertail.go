package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// storeJournalTails stores, when a cluster instance starts, the batches of
// each site that its journal holds past the site's stored mark and that the
// store lacks: batches it journaled and acknowledged before it died (killed,
// the machine lost), still in its writer's memory or its runner's queue.
// The broker does not send them again (they were acknowledged), so the
// instance that took the site over never had them; they are stored now as
// late data (`passant reprocess` brings the figures of their hours in
// line). A single server does this in its journal recovery (recover);
// a cluster instance rebuilds its sites from storage instead, so before,
// these batches stayed in its journal only.
//
// The store is asked which of them it has (the contract's sensor, boot and
// id): a batch past the mark may be one the pipeline dropped as a
// redelivery, or one the instance had taken without acknowledging it,
// which the broker sent the new holder.
func (s *Server) storeJournalTails(ctx context.Context) error {
	dir := filepath.Join(s.cfg.DataDir, "journal")
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("server: journal tails: %w", err)
	}
	from := time.Now().UTC().Add(-24 * time.Hour).Format(time.DateOnly)
	stored := 0
	for _, e := range entries {
		if !e.IsDir() || !wire.ValidID(e.Name()) {
			continue
		}
		site := e.Name()
		// The erasures an earlier run left pending in files it had open
		// (forget.go) first: the tail must not store the person back.
		s.forgetPending(site, !s.ingesting.Load())
		n, err := s.storeJournalTail(ctx, site, from)
		if err != nil {
			return err
		}
		if n > 0 {
			s.log.Info("stored batches journaled before the instance stopped and not stored then", "site", site, "batches", n)
		}
		stored += n
	}
	if stored == 0 {
		return nil
	}
	if err := s.writer.drain(ctx); err != nil {
		return fmt.Errorf("server: journal tails: %w", err)
	}
	return nil
}

// storeJournalTail hands the writer what site's journal files since the
// day from hold past the stored mark and the store lacks.
func (s *Server) storeJournalTail(ctx context.Context, site, from string) (int, error) {
	files, err := s.journal.Files(site, from, "")
	if err != nil || len(files) == 0 {
		return 0, err
	}
	mark, _ := s.writer.storedMark(site) // none: every line is past it
	var tail []store.RawBatch
	var seen int64
	lo, hi := int64(0), int64(0)
	err = ingest.ReadJournal(files, func(l *wire.Line) error {
		if len(l.Batch.Obs) == 0 || !mark.unstored(l.Recv, &seen) {
			return nil
		}
		b := l.Batch
		b.Obs = append([]wire.Observation(nil), b.Obs...)
		tail = append(tail, store.RawBatch{Site: site, Recv: l.Recv, Batch: b})
		for _, o := range b.Obs {
			if lo == 0 || o.T < lo {
				lo = o.T
			}
			hi = max(hi, o.T)
		}
		return nil
	}, func(file string, err error) {
		s.log.Warn("journal line skipped", "site", site, "err", err)
	})
	if err != nil || len(tail) == 0 {
		return 0, err
	}
	have := batchIDs{}
	err = s.store.ScanBatches(ctx, site, lo, hi+1, func(b *store.RawBatch) error {
		have[batchID{b.Batch.Sensor, b.Batch.Boot, b.Batch.ID}] = true
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("server: journal tail of %s: %w", site, err)
	}
	n := 0
	for _, b := range tail {
		if b.Batch.ID > 0 && have[batchID{b.Batch.Sensor, b.Batch.Boot, b.Batch.ID}] {
			continue
		}
		s.writer.batch(b)
		n++
	}
	return n, nil
}
