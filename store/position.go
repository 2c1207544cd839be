package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/passant/passant/wire"
)

var positionColumns = []string{"site", "t", "track", "dev", "x", "y", "err", "zone", "n"}

// WritePositions implements Derived: COPY on PostgreSQL.
func (db *DB) WritePositions(ctx context.Context, site string, ps []wire.Position) error {
	if len(ps) == 0 {
		return nil
	}
	for i := range ps {
		if !finite(ps[i].X, ps[i].Y, ps[i].Err) {
			return fmt.Errorf("store: write positions of %s: fix %d (t %d): a coordinate or the error is not finite", site, i, ps[i].T)
		}
	}
	row := func(i int) []any {
		p := &ps[i]
		return []any{site, p.T, p.Track, int64(p.Dev), p.X, p.Y, p.Err, p.Zone, int32(p.N)}
	}
	var err error
	if db.pg {
		days := map[int64]bool{}
		for i := range ps {
			days[floorDiv(ps[i].T, dayMs)] = true
		}
		err = db.copyPartitioned(ctx, "positions", positionColumns, days, func() pgx.CopyFromSource {
			return pgx.CopyFromSlice(len(ps), func(i int) ([]any, error) { return row(i), nil })
		})
	} else {
		err = db.insertRows(ctx, "positions", positionColumns, nil, "", len(ps), row)
	}
	if err != nil {
		return fmt.Errorf("store: write %d positions of %s: %w", len(ps), site, err)
	}
	return nil
}

// Positions implements Derived.
func (db *DB) Positions(ctx context.Context, site string, from, to int64) ([]wire.Position, error) {
	ps := []wire.Position{}
	err := db.ScanPositions(ctx, site, from, to, func(p *wire.Position) error {
		ps = grow(ps)
		ps = append(ps, *p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ps, nil
}

// ScanPositions implements Derived: fixes stream from the database, so a
// month of them never sits in memory at once; tracks and zones are
// interned.
func (db *DB) ScanPositions(ctx context.Context, site string, from, to int64, fn func(*wire.Position) error) error {
	rs, err := db.r().query(ctx, `SELECT t, track, dev, x, y, err, zone, n FROM positions
		WHERE site = $1 AND t >= $2 AND t < $3 ORDER BY t`, site, from, to)
	if err != nil {
		return fmt.Errorf("store: positions %s: %w", site, err)
	}
	defer rs.Close()
	var (
		p     wire.Position
		dev   int64
		track = interned{max: 1 << 20}
		zone  interned
	)
	dest := []any{&p.T, track.dest(db), &dev, &p.X, &p.Y, &p.Err, zone.dest(db), &p.N}
	for rs.Next() {
		if err := rs.Scan(dest...); err != nil {
			return fmt.Errorf("store: positions %s: %w", site, err)
		}
		p.Dev, p.Track, p.Zone = wire.Dev(dev), track.String(), zone.String()
		if err := fn(&p); err != nil {
			return err
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("store: positions %s: %w", site, err)
	}
	return nil
}

// RenameTrack implements Derived.
func (db *DB) RenameTrack(ctx context.Context, site, from, to string, since, until int64) error {
	if from == to {
		return nil
	}
	_, err := db.q().exec(ctx, `UPDATE positions SET track = $5
		WHERE site = $1 AND t >= $2 AND t <= $3 AND track = $4`, site, since, until, from, to)
	if err != nil {
		return fmt.Errorf("store: rename track %s of %s to %s in [%d, %d]: %w", from, site, to, since, until, err)
	}
	return nil
}

// DeletePositionsBefore implements Derived.
func (db *DB) DeletePositionsBefore(ctx context.Context, before int64) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx q) error {
		if db.pg {
			dropped, err := db.dropPartitions(ctx, tx, "positions", before)
			if err != nil {
				return err
			}
			n += dropped
		}
		m, err := tx.exec(ctx, `DELETE FROM positions WHERE t < $1`, before)
		n += m
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete positions before %d: %w", before, err)
	}
	return n, nil
}

// VisitorDevs implements Derived.
func (db *DB) VisitorDevs(ctx context.Context, site string, from, to int64, zone string, minDwellMs int64) ([]wire.Dev, error) {
	rs, err := db.q().query(ctx, `SELECT DISTINCT dev FROM positions
		WHERE site = $1 AND t >= $2 AND t < $3 AND track IN (
			SELECT track FROM visits WHERE site = $1 AND start >= $2 AND start < $3 AND zone = $4
			AND stop - start >= $5)
		ORDER BY dev`, site, from, to, zone, minDwellMs)
	if err != nil {
		return nil, fmt.Errorf("store: visitor devices of %s: %w", site, err)
	}
	defer rs.Close()
	devs := []wire.Dev{}
	for rs.Next() {
		var d int64
		if err := rs.Scan(&d); err != nil {
			return nil, fmt.Errorf("store: visitor devices of %s: %w", site, err)
		}
		devs = append(devs, wire.Dev(d))
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: visitor devices of %s: %w", site, err)
	}
	return devs, nil
}
