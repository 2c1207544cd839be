package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/passant/passant/wire"
)

const dayMs = 24 * 3600 * 1000

// obsColumns are the observations table's columns in the order writes give
// them.
var obsColumns = []string{"site", "t", "dev", "rssi", "ch", "kind", "rand", "seq", "fp",
	"sensor", "boot", "batch", "sent", "recv", "ord"}

// WriteBatches implements Observations. PostgreSQL gets one COPY (into the
// day partitions, created on demand); SQLite one transaction.
func (db *DB) WriteBatches(ctx context.Context, bs []RawBatch) error {
	return db.writeBatches(ctx, bs, false)
}

// ReplaceBatches implements Observations: in one transaction, the site's
// observations with receive times and times within those of bs go, and
// bs's are written.
func (db *DB) ReplaceBatches(ctx context.Context, bs []RawBatch) error {
	return db.writeBatches(ctx, bs, true)
}

func (db *DB) writeBatches(ctx context.Context, bs []RawBatch, replace bool) error {
	n := 0
	for i := range bs {
		for j := range bs[i].Batch.Obs {
			if !finite(bs[i].Batch.Obs[j].RSSI) {
				return fmt.Errorf("store: write observations: batch %d (sensor %s, id %d), observation %d: rssi is not finite",
					i, bs[i].Batch.Sensor, bs[i].Batch.ID, j)
			}
		}
		n += len(bs[i].Batch.Obs)
	}
	if n == 0 {
		return nil
	}
	var err error
	switch {
	case replace:
		err = db.replaceBatches(ctx, bs)
	case db.pg:
		err = db.writeBatchesPG(ctx, bs)
	default:
		err = db.writeBatchesSQLite(ctx, bs)
	}
	if err != nil {
		return fmt.Errorf("store: write %d observations: %w", n, err)
	}
	return nil
}

// obsSource feeds batches' observations to COPY. A batch's header goes
// into an interface once per batch, not once per observation (boxing is
// most of a row's allocations).
type obsSource struct {
	bs     []RawBatch
	b, o   int // the batch and observation to give next
	values []any
	kind   string // the kind and fingerprint boxed last
	fp     string
	kindV  any
	fpV    any
}

func (s *obsSource) Next() bool {
	for s.b < len(s.bs) && s.o >= len(s.bs[s.b].Batch.Obs) {
		s.b++
		s.o = 0
	}
	if s.b >= len(s.bs) {
		return false
	}
	rb := &s.bs[s.b]
	o := &rb.Batch.Obs[s.o]
	if s.values == nil {
		s.values = make([]any, len(obsColumns))
		s.kindV, s.fpV = "", ""
	}
	v := s.values
	if s.o == 0 {
		v[0], v[9], v[10], v[11], v[12], v[13] = rb.Site, rb.Batch.Sensor, rb.Batch.Boot, rb.Batch.ID, rb.Batch.Sent, rb.Recv
	}
	if o.Kind != s.kind {
		s.kind, s.kindV = o.Kind, o.Kind
	}
	if o.FP != s.fp {
		s.fp, s.fpV = o.FP, o.FP
	}
	v[1], v[2], v[3], v[4] = o.T, int64(o.Dev), o.RSSI, int16(o.Ch)
	v[5], v[6], v[7], v[8] = s.kindV, o.Rand, int16(o.Seq), s.fpV
	v[14] = int32(s.o)
	s.o++
	return true
}

func (s *obsSource) Values() ([]any, error) { return s.values, nil }
func (s *obsSource) Err() error             { return nil }

func (db *DB) writeBatchesPG(ctx context.Context, bs []RawBatch) error {
	days := map[int64]bool{}
	for i := range bs {
		for j := range bs[i].Batch.Obs {
			days[floorDiv(bs[i].Batch.Obs[j].T, dayMs)] = true
		}
	}
	return db.copyPartitioned(ctx, "observations", obsColumns, days, func() pgx.CopyFromSource { return &obsSource{bs: bs} })
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (db *DB) writeBatchesSQLite(ctx context.Context, bs []RawBatch) error {
	return db.sqliteTx(ctx, func(tx *sql.Tx) error { return insertBatchesSQLite(ctx, tx, bs) })
}

func insertBatchesSQLite(ctx context.Context, tx *sql.Tx, bs []RawBatch) error {
	n := 0
	for i := range bs {
		n += len(bs[i].Batch.Obs)
	}
	src := obsSource{bs: bs}
	return sqliteInsert(ctx, tx, "observations", obsColumns, "", n, func(int) []any {
		src.Next()
		return src.values
	})
}

// batchSpan is the receive times and observation times of a site's
// batches being replaced.
type batchSpan struct{ recv0, recv1, t0, t1 int64 }

const deleteSpan = `DELETE FROM observations WHERE site = $1 AND t >= $2 AND t <= $3 AND recv >= $4 AND recv <= $5`

// replaceBatches deletes, for each site of bs, the observations within
// its batches' span, and writes bs, in one transaction.
func (db *DB) replaceBatches(ctx context.Context, bs []RawBatch) error {
	spans := map[string]*batchSpan{}
	days := map[int64]bool{}
	for i := range bs {
		b := &bs[i]
		sp := spans[b.Site]
		if sp == nil && len(b.Batch.Obs) > 0 {
			o := b.Batch.Obs[0].T
			sp = &batchSpan{b.Recv, b.Recv, o, o}
			spans[b.Site] = sp
		}
		for j := range b.Batch.Obs {
			t := b.Batch.Obs[j].T
			sp.t0, sp.t1 = min(sp.t0, t), max(sp.t1, t)
			sp.recv0, sp.recv1 = min(sp.recv0, b.Recv), max(sp.recv1, b.Recv)
			days[floorDiv(t, dayMs)] = true
		}
	}
	if !db.pg {
		return db.sqliteTx(ctx, func(tx *sql.Tx) error {
			for site, sp := range spans {
				if _, err := tx.ExecContext(ctx, deleteSpan, site, sp.t0, sp.t1, sp.recv0, sp.recv1); err != nil {
					return err
				}
			}
			return insertBatchesSQLite(ctx, tx, bs)
		})
	}
	// A retry (writePartitioned) runs in a new transaction.
	return db.writePartitioned(ctx, "observations", days, func() error {
		tx, err := db.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		for site, sp := range spans {
			if _, err := tx.Exec(ctx, deleteSpan, site, sp.t0, sp.t1, sp.recv0, sp.recv1); err != nil {
				return err
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"observations"}, obsColumns, &obsSource{bs: bs}); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// ScanBatches implements Observations.
func (db *DB) ScanBatches(ctx context.Context, site string, from, to int64, fn func(*RawBatch) error) error {
	rs, err := db.q().query(ctx, `SELECT sensor, boot, batch, sent, recv, t, dev, rssi, ch, kind, rand, seq, fp
		FROM observations WHERE site = $1 AND t >= $2 AND t < $3
		ORDER BY recv, sensor, boot, batch, sent, ord`, site, from, to)
	if err != nil {
		return fmt.Errorf("store: scan batches %s: %w", site, err)
	}
	defer rs.Close()
	var (
		cur                  RawBatch
		have                 bool
		sensor, kind, fp     interned
		boot, id, sent, recv int64
		o                    wire.Observation
		dev                  int64
		ch, seq              int
	)
	// Text columns are read into the driver's buffers and interned: a
	// scan allocates per batch, not per observation.
	dest := []any{sensor.dest(db), &boot, &id, &sent, &recv, &o.T, &dev, &o.RSSI, &ch, kind.dest(db), &o.Rand, &seq, fp.dest(db)}
	cur.Site = site
	for rs.Next() {
		if err := rs.Scan(dest...); err != nil {
			return fmt.Errorf("store: scan batches %s: %w", site, err)
		}
		o.Dev, o.Ch, o.Seq = wire.Dev(dev), ch, seq
		o.Kind, o.FP = kind.String(), fp.String()
		if have && (recv != cur.Recv || string(sensor.b) != cur.Batch.Sensor || boot != cur.Batch.Boot ||
			id != cur.Batch.ID || sent != cur.Batch.Sent) {
			if err := fn(&cur); err != nil {
				return err
			}
			have = false
		}
		if !have {
			cur.Recv = recv
			cur.Batch = wire.Batch{V: wire.Version, Sensor: sensor.String(), Boot: boot, ID: id, Sent: sent, Obs: cur.Batch.Obs[:0]}
			have = true
		}
		cur.Batch.Obs = append(cur.Batch.Obs, o)
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("store: scan batches %s: %w", site, err)
	}
	if have {
		return fn(&cur)
	}
	return nil
}

// CountObservations implements Observations.
func (db *DB) CountObservations(ctx context.Context, site string, from, to int64) (int64, error) {
	var n int64
	err := db.q().queryRow(ctx, `SELECT count(*) FROM observations WHERE site = $1 AND t >= $2 AND t < $3`,
		site, from, to).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count observations %s: %w", site, err)
	}
	return n, nil
}

// DeleteObservationsBefore implements Observations. On PostgreSQL whole
// day partitions before the cut are dropped; the rest is deleted by row.
func (db *DB) DeleteObservationsBefore(ctx context.Context, before int64) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx q) error {
		if db.pg {
			dropped, err := db.dropPartitions(ctx, tx, "observations", before)
			if err != nil {
				return err
			}
			n += dropped
		}
		m, err := tx.exec(ctx, `DELETE FROM observations WHERE t < $1`, before)
		n += m
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete observations before %d: %w", before, err)
	}
	return n, nil
}

// devList passes pseudonyms as one parameter: a bigint array to
// PostgreSQL, a JSON array to SQLite (read with json_each).
func (db *DB) devList(devs []wire.Dev) (arg any, in string) {
	if db.pg {
		ks := make([]int64, len(devs))
		for i, d := range devs {
			ks[i] = int64(d)
		}
		return ks, "SELECT unnest($%d::bigint[])"
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range devs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(int64(d), 10))
	}
	b.WriteByte(']')
	return b.String(), "SELECT value FROM json_each($%d)"
}

// DeleteObservationsExcept implements Observations.
func (db *DB) DeleteObservationsExcept(ctx context.Context, site string, before int64, keep []wire.Dev) (int64, error) {
	arg, in := db.devList(keep)
	var n int64
	err := db.tx(ctx, func(tx q) error {
		var err error
		n, err = tx.exec(ctx, `DELETE FROM observations WHERE site = $1 AND t < $2
			AND dev NOT IN (`+fmt.Sprintf(in, 3)+`)`, site, before, arg)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete observations of %s before %d: %w", site, before, err)
	}
	return n, nil
}
