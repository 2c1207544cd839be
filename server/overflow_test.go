package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/ingest"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

// The database away long enough for the writer's buffer (WriteBuffer, in
// observations) to overflow, then back: every batch in the journal is
// stored, each exactly once. Before, the batches over the buffer were
// counted and then lost to storage: the stored mark moved past them once
// later batches were written, so no recovery stored them.
func TestWriteOverflowStoredFromJournal(t *testing.T) {
	for _, restart := range []bool{false, true} {
		for _, backend := range []string{"sqlite", "postgres"} {
			name := backend
			if restart {
				name += "/restart"
			}
			t.Run(name, func(t *testing.T) { testWriteOverflow(t, backend, restart) })
		}
	}
}

// outage takes the database away from a server and brings it back: a
// proxy cut for PostgreSQL, failing writes for the embedded SQLite.
type outage struct {
	away, back func()
	wrap       func(store.Store) store.Store
	db         string
}

func newOutage(t *testing.T, backend string) outage {
	if backend == "sqlite" {
		as := &awayStore{}
		return outage{away: func() { as.away.Store(true) }, back: func() { as.away.Store(false) },
			wrap: func(st store.Store) store.Store { as.Store = st; return as }}
	}
	db, proxy := storetest.Proxied(t, storetest.PostgresURL(t))
	return outage{away: proxy.Cut, back: proxy.Restore, db: db}
}

// testWriteOverflow publishes a shop's 45 minutes in three parts: the
// first stored, the second with the database away (over the buffer),
// the third after it came back. With restart, the server is stopped
// while the database is away and started again (the database back
// before for PostgreSQL, which a server needs to start).
func testWriteOverflow(t *testing.T, backend string, restart bool) {
	out := newOutage(t, backend)
	shop := simtest.Shop(t, "small", sim.Config{Seed: 5, ShoppersPerHour: 120, PassersPerHour: 400})
	site := shop.Site()
	dir := t.TempDir()
	path := simtest.WriteSite(t, dir, site)
	cfg := Config{SiteFiles: []string{path}, DataDir: dir, DB: out.db, Migrate: true, WriteBuffer: 300, wrapStore: out.wrap}
	srv, stop := startServer(t, cfg)
	defer func() { stop() }()
	now := time.Now()
	sent, base := 0, int64(0) // sent to this server; batches its runner took at its start
	part := func(from, to time.Duration) {
		t.Helper()
		sent += publishShop(t, srv, shop, now.Add(from), now.Add(to))
		n := int64(sent)
		eventually(t, "every batch accepted", func() bool { return srv.sub.C.Accepted.Load() == n })
		eventually(t, "every batch processed", func() bool { return processed(srv.runner(site.Site)) == base+n })
	}
	part(-45*time.Minute, -30*time.Minute)
	// The cut may come while the journal's part is written: a write the
	// database commits as the connection goes is written again in place.
	eventually(t, "the first part's held batches stored", func() bool { return srv.writer.pendingObs() == 0 })
	out.away()
	part(-30*time.Minute, -15*time.Minute)
	if srv.writer.dropped.Load() == 0 {
		t.Fatalf("nothing over the buffer of %d observations", cfg.WriteBuffer)
	}
	dropped := srv.writer.dropped.Load()
	if restart {
		stop() // its drain gives up: the database is away
		if backend == "postgres" {
			out.back()
		}
		srv, stop = startServer(t, cfg)
		sent, base = 0, processed(srv.runner(site.Site)) // recovered from the journal
	}
	out.back()
	part(-15*time.Minute, 0)

	ctx := context.Background()
	if err := srv.SyncJournal(); err != nil {
		t.Fatal(err)
	}
	want, total := journaledObs(t, dir, site.Site)
	var stored map[batchKey]int
	var n int
	w := srv.writer
	state := func() string {
		return fmt.Sprintf("%d of %d journaled observations stored; %d held, %d left to the journal, %d stored from there, %d batches waiting there, %d missing",
			n, total, w.pendingObs(), w.dropped.Load(), w.fromJournal.Load(), w.journalPending(), w.missing.Load())
	}
	defer func() {
		if t.Failed() {
			t.Log(state())
		}
	}()
	var err error
	eventually(t, "every journaled observation stored", func() bool {
		// (the first query on a connection the outage cut fails)
		stored, n, err = storedObs(srv.store, site.Site)
		return err == nil && n >= total && w.pendingObs() == 0 && w.journalPending() == 0
	})
	srv.writer.drain(ctx)
	if stored, n, err = storedObs(srv.store, site.Site); err != nil {
		t.Fatal(err)
	}
	for k, c := range want {
		if stored[k] != c {
			t.Errorf("batch %+v: %d observations stored, %d journaled", k, stored[k], c)
		}
	}
	for k := range stored {
		if _, ok := want[k]; !ok {
			t.Errorf("batch %+v stored, not journaled", k)
		}
	}
	if m := w.missing.Load(); m != 0 {
		t.Errorf("%d batches counted missing from the journal", m)
	}
	t.Logf("%d batches journaled, %d observations; %d over the buffer of %d before the database came back; %s",
		len(want), total, dropped, cfg.WriteBuffer, state())
}

// batchKey names a batch by the contract's (sensor, boot, id).
type batchKey struct {
	sensor   string
	boot, id int64
}

// journaledObs reads the site's journal: the observations of each batch
// (the first line of a batch delivered again), and their total.
func journaledObs(t *testing.T, dir, site string) (map[batchKey]int, int) {
	t.Helper()
	files, err := ingest.JournalFiles(filepath.Join(dir, "journal"), site, "", "")
	if err != nil {
		t.Fatal(err)
	}
	obs, total := map[batchKey]int{}, 0
	err = ingest.ReadJournal(files, func(l *wire.Line) error {
		k := batchKey{l.Batch.Sensor, l.Batch.Boot, l.Batch.ID}
		if _, dup := obs[k]; !dup && len(l.Batch.Obs) > 0 {
			obs[k] = len(l.Batch.Obs)
			total += len(l.Batch.Obs)
		}
		return nil
	}, func(file string, err error) { t.Errorf("%s: %v", file, err) })
	if err != nil {
		t.Fatal(err)
	}
	return obs, total
}

// storedObs counts the stored observations of each batch, and all.
func storedObs(st store.Store, site string) (map[batchKey]int, int, error) {
	obs, total := map[batchKey]int{}, 0
	err := st.ScanBatches(context.Background(), site, 0, 1<<62, func(b *store.RawBatch) error {
		obs[batchKey{b.Batch.Sensor, b.Batch.Boot, b.Batch.ID}] += len(b.Batch.Obs)
		total += len(b.Batch.Obs)
		return nil
	})
	return obs, total, err
}

// awayStore fails every write while away: the embedded database unable to
// write (its disk full, its file locked), as a server meets it.
type awayStore struct {
	store.Store
	away atomic.Bool
}

var errAway = errors.New("test: the database is away")

func (a *awayStore) WriteBatches(ctx context.Context, bs []store.RawBatch) error {
	if a.away.Load() {
		return errAway
	}
	return a.Store.WriteBatches(ctx, bs)
}

func (a *awayStore) ReplaceBatches(ctx context.Context, bs []store.RawBatch) error {
	if a.away.Load() {
		return errAway
	}
	return a.Store.ReplaceBatches(ctx, bs)
}

func (a *awayStore) WritePositions(ctx context.Context, site string, ps []wire.Position) error {
	if a.away.Load() {
		return errAway
	}
	return a.Store.WritePositions(ctx, site, ps)
}

func (a *awayStore) WriteTrackDays(ctx context.Context, ds []footfall.TrackDay) error {
	if a.away.Load() {
		return errAway
	}
	return a.Store.WriteTrackDays(ctx, ds)
}

func (a *awayStore) WriteVisits(ctx context.Context, vs []footfall.Visit) error {
	if a.away.Load() {
		return errAway
	}
	return a.Store.WriteVisits(ctx, vs)
}

// A gap's batches are stored from the journal only once the batches held
// before it are written, each once, in journal order; one whose line the
// journal does not have is counted missing and not waited for, and the
// stored mark ends at the last batch stored.
func TestWriterGapFromJournal(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	w, j := gapWriter(t, st, 2)
	const t0 = gapT0
	// Journaled: 1 to 5 and 7; 6 was taken but its line is gone.
	for _, id := range []int64{1, 2, 3, 4, 5, 6, 7} {
		if id == 6 {
			w.batch(gapBatch(id, 1))
			continue
		}
		journaled(t, w, j, gapBatch(id, 1)) // 3 over the bound of 2: the gap opens
	}
	if got := w.journalPending(); got != 5 {
		t.Fatalf("%d batches waiting in the journal, want 5", got)
	}
	// Nothing of the gap before the batches held before it are written.
	if err := w.refill(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.CountObservations(ctx, "s", 0, 1<<62); n != 0 {
		t.Fatalf("%d observations stored before the held ones were written", n)
	}
	if err := w.drain(ctx); err != nil {
		t.Fatal(err)
	}
	got, n, err := storedObs(st, "s")
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 || len(got) != 6 || got[batchKey{"s1", 1, 6}] != 0 {
		t.Errorf("stored %v (%d observations), want batches 1–5 and 7 once each", got, n)
	}
	if w.missing.Load() != 1 || w.fromJournal.Load() != 4 || w.journalPending() != 0 || len(w.gapped()) != 0 {
		t.Errorf("missing %d, from the journal %d, waiting %d, gaps %v; want 1, 4, 0, none",
			w.missing.Load(), w.fromJournal.Load(), w.journalPending(), w.gapped())
	}
	if m, ok := w.storedMark("s"); !ok || m != (mark{t0 + 7, 1}) {
		t.Errorf("stored mark %+v, want batch 7's", m)
	}
	// The gap closed: the next batch is held in memory again.
	w.batch(gapBatch(8, 1))
	if w.pendingObs() != 1 {
		t.Errorf("after the gap: %d observations held, want 1", w.pendingObs())
	}
}

// A gap read on from a closed day's journal file that `passant forget`
// rewrote meanwhile (shorter lines, renamed over the old file) is read
// from the day's start: the position taken in the old file means nothing
// in the new one.
func TestWriterGapAfterForget(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	j, err := ingest.OpenJournal(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	const t0 = 1_796_374_800_000
	var lines []int64 // each line's length
	for id := int64(1); id <= 5; id++ {
		b := wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: id, Sent: t0 + id, Obs: []wire.Observation{
			{T: t0 + id, Dev: 1, RSSI: -60, Kind: "probe"}, {T: t0 + id, Dev: wire.Dev(100 + id), RSSI: -61, Kind: "probe"}}}
		lines = append(lines, int64(len(wire.AppendJournalLine(nil, t0+id, &b))+1))
		if err := j.Append("s", t0+id, &b); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	day := time.UnixMilli(t0).UTC().Format(time.DateOnly)
	st := sqliteStore(t)
	w := newWriter(st, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.dir = dir
	if w.journal, err = ingest.OpenJournal(dir, 0); err != nil {
		t.Fatal(err)
	}
	defer w.journal.Close()
	// Batches 3 to 5 wait, to be read from line 3.
	w.gaps["s"] = &gap{recvs: []int64{t0 + 3, t0 + 4, t0 + 5}, from: ingest.Pos{Day: day, Off: lines[0] + lines[1]},
		fromFile: w.dayFile("s", day)}
	if _, n, err := ingest.ForgetInJournal(dir, "s", []wire.Dev{1}, nil); err != nil || n != 5 {
		t.Fatalf("forget: %d observations, %v", n, err)
	}
	if err := w.refill(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, n, err := storedObs(st, "s")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || got[batchKey{"s1", 1, 3}] != 1 || got[batchKey{"s1", 1, 5}] != 1 || w.missing.Load() != 0 {
		t.Errorf("stored %v, %d missing; want batches 3 to 5, one observation each", got, w.missing.Load())
	}
}

// lostAnswer commits the first write of batches (while lost is false) and
// then reports it failed, as when the connection goes between the
// database's commit and its answer.
type lostAnswer struct {
	store.Store
	lost atomic.Bool
}

func (l *lostAnswer) WriteBatches(ctx context.Context, bs []store.RawBatch) error {
	if err := l.Store.WriteBatches(ctx, bs); err != nil {
		return err
	}
	if !l.lost.Swap(true) {
		return errAway
	}
	return nil
}

func (l *lostAnswer) ReplaceBatches(ctx context.Context, bs []store.RawBatch) error {
	if err := l.Store.ReplaceBatches(ctx, bs); err != nil {
		return err
	}
	if !l.lost.Swap(true) {
		return errAway
	}
	return nil
}

// Held batches written by the database though the answer was lost are
// written again by the next flush, and stored once.
func TestWriterFlushAnswerLost(t *testing.T) {
	ctx := context.Background()
	st := &lostAnswer{Store: sqliteStore(t)}
	w := newWriter(st, 100, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.batch(gapBatch(1, 1, 2))
	w.batch(gapBatch(2, 3))
	if err := w.flush(ctx); !errors.Is(err, errAway) {
		t.Fatalf("flush: %v, want the lost answer", err)
	}
	w.batch(gapBatch(3, 4))
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, n, err := storedObs(st, "s")
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || len(got) != 3 {
		t.Errorf("stored %v (%d observations), want batches 1 to 3 once each", got, n)
	}
}

// A chunk of a gap written by the database though its answer was lost is
// written again, and stored once.
func TestWriterGapWriteAnswerLost(t *testing.T) {
	ctx := context.Background()
	st := &lostAnswer{Store: sqliteStore(t)}
	w, j := gapWriter(t, st, 1)
	for id := int64(1); id <= 4; id++ {
		journaled(t, w, j, gapBatch(id, wire.Dev(id))) // 1 held, 2 to 4 in the gap
	}
	st.lost.Store(true) // the held batch's write is answered
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	st.lost.Store(false)
	if err := w.refill(ctx, time.Time{}); !errors.Is(err, errAway) {
		t.Fatalf("refill: %v, want the lost answer", err)
	}
	if err := w.drain(ctx); err != nil {
		t.Fatal(err)
	}
	got, n, err := storedObs(st, "s")
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || len(got) != 4 {
		t.Errorf("stored %v (%d observations), want batches 1 to 4 once each", got, n)
	}
}

// A person forgotten while their batches wait in a gap is not stored from
// the journal, whose open file still holds them.
func TestWriterGapForgets(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	w, j := gapWriter(t, st, 1)
	journaled(t, w, j, gapBatch(1, 7)) // held
	journaled(t, w, j, gapBatch(2, 7, 8))
	journaled(t, w, j, gapBatch(3, 7))
	if err := w.forget("s", []wire.Dev{7}, nil, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := w.drain(ctx); err != nil {
		t.Fatal(err)
	}
	got, n, err := storedObs(st, "s")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || got[batchKey{"s1", 1, 2}] != 1 {
		t.Errorf("stored %v; want batch 2's other observation only", got)
	}
}

const gapT0 = 1_796_374_800_000 // the gap tests' receive times start here

// gapWriter returns a writer on st holding at most limit observations, with
// a journal of its own.
func gapWriter(t *testing.T, st store.Store, limit int) (*writer, *ingest.Journal) {
	t.Helper()
	dir := t.TempDir()
	j, err := ingest.OpenJournal(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	w := newWriter(st, limit, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.dir, w.journal = dir, j
	return w, j
}

// gapBatch is batch id of sensor s1 of site s, received at gapT0+id, with
// an observation of each of devs.
func gapBatch(id int64, devs ...wire.Dev) store.RawBatch {
	b := wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: id, Sent: gapT0 + id}
	for k, d := range devs {
		b.Obs = append(b.Obs, wire.Observation{T: gapT0 + id, Dev: d, RSSI: -60 - float64(k), Kind: "probe"})
	}
	return store.RawBatch{Site: "s", Recv: gapT0 + id, Batch: b}
}

// journaled journals b and hands it to the writer, as a site runner does.
func journaled(t *testing.T, w *writer, j *ingest.Journal, b store.RawBatch) {
	t.Helper()
	if err := j.Append(b.Site, b.Recv, &b.Batch); err != nil {
		t.Fatal(err)
	}
	w.batch(b)
}

// A site's first batch in a new data directory leaves a mark saying that
// nothing from it on is stored: a restart before the first write stores
// everything from there (before, no mark meant nothing to store again, and
// a server whose first writes all failed lost them at a restart).
func TestFirstMark(t *testing.T) {
	w, _ := gapWriter(t, sqliteStore(t), 1)
	w.batch(gapBatch(5, 1))
	w2, _ := gapWriter(t, sqliteStore(t), 1)
	w2.dir = w.dir // the next start's writer
	m, ok := w2.storedMark("s")
	var seen int64
	if !ok || m.unstored(gapT0+4, &seen) || !m.unstored(gapT0+5, &seen) || !m.unstored(gapT0+6, &seen) {
		t.Fatalf("mark %+v (%v): want batch 5 and after unstored, not before", m, ok)
	}
	if err := w.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m, _ := w2.storedMark("s"); m != (mark{gapT0 + 5, 1}) {
		t.Errorf("mark after the write %+v, want batch 5's", m)
	}
}
