package store

import (
	"context"
	"fmt"
)

// AcquireLease implements Leases: one statement, so two instances racing
// for a site cannot both win.
func (db *DB) AcquireLease(ctx context.Context, site, owner string, now, ttlMs int64) (Lease, bool, error) {
	l := Lease{Site: site}
	err := db.tx(ctx, func(tx q) error {
		err := tx.queryRow(ctx, `INSERT INTO leases (site, owner, acquired, expires) VALUES ($1, $2, $3, $4)
			ON CONFLICT (site) DO UPDATE SET owner = excluded.owner, expires = excluded.expires,
				acquired = CASE WHEN leases.owner = excluded.owner AND leases.expires > excluded.acquired
					THEN leases.acquired ELSE excluded.acquired END
			WHERE leases.owner = excluded.owner OR leases.expires <= excluded.acquired
			RETURNING owner, acquired, expires`, site, owner, now, now+ttlMs).Scan(&l.Owner, &l.Acquired, &l.Expires)
		if errNoRows(err) {
			// Held by another: say by whom.
			return tx.queryRow(ctx, `SELECT owner, acquired, expires FROM leases WHERE site = $1`, site).
				Scan(&l.Owner, &l.Acquired, &l.Expires)
		}
		return err
	})
	if err != nil {
		return Lease{}, false, fmt.Errorf("store: acquire lease on %s: %w", site, err)
	}
	return l, l.Owner == owner, nil
}

// ReleaseLease implements Leases.
func (db *DB) ReleaseLease(ctx context.Context, site, owner string) error {
	err := db.tx(ctx, func(tx q) error {
		_, err := tx.exec(ctx, `DELETE FROM leases WHERE site = $1 AND owner = $2`, site, owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: release lease on %s: %w", site, err)
	}
	return nil
}

// ListLeases implements Leases.
func (db *DB) ListLeases(ctx context.Context) ([]Lease, error) {
	rs, err := db.q().query(ctx, `SELECT site, owner, acquired, expires FROM leases ORDER BY site`)
	if err != nil {
		return nil, fmt.Errorf("store: list leases: %w", err)
	}
	defer rs.Close()
	ls := []Lease{}
	for rs.Next() {
		var l Lease
		if err := rs.Scan(&l.Site, &l.Owner, &l.Acquired, &l.Expires); err != nil {
			return nil, fmt.Errorf("store: list leases: %w", err)
		}
		ls = append(ls, l)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: list leases: %w", err)
	}
	return ls, nil
}
