package store

import (
	"context"
	"fmt"
)

// RaiseAlert implements Alerts.
func (db *DB) RaiseAlert(ctx context.Context, a Alert) (Alert, bool, error) {
	var isNew bool
	err := db.tx(ctx, func(tx q) error {
		err := tx.queryRow(ctx, `SELECT id, message, raised FROM alerts
			WHERE site = $1 AND sensor = $2 AND kind = $3 AND cleared = 0`+db.forUpdate(), a.Site, a.Sensor, a.Kind).
			Scan(&a.ID, &a.Message, &a.Raised)
		if err == nil {
			return nil
		}
		if !errNoRows(err) {
			return err
		}
		isNew = true
		a.Cleared = 0
		return tx.queryRow(ctx, `INSERT INTO alerts (site, sensor, kind, message, raised, cleared)
			VALUES ($1, $2, $3, $4, $5, 0) RETURNING id`, a.Site, a.Sensor, a.Kind, cleanText(a.Message), a.Raised).Scan(&a.ID)
	})
	if err != nil {
		return Alert{}, false, fmt.Errorf("store: raise %s alert on %s/%s: %w", a.Kind, a.Site, a.Sensor, err)
	}
	return a, isNew, nil
}

// ClearAlert implements Alerts.
func (db *DB) ClearAlert(ctx context.Context, site, sensor, kind string, t int64) (bool, error) {
	var n int64
	err := db.tx(ctx, func(tx q) error {
		var err error
		n, err = tx.exec(ctx, `UPDATE alerts SET cleared = $4 WHERE site = $1 AND sensor = $2 AND kind = $3
			AND cleared = 0`, site, sensor, kind, t)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: clear %s alert on %s/%s: %w", kind, site, sensor, err)
	}
	return n > 0, nil
}

// ListAlerts implements Alerts.
func (db *DB) ListAlerts(ctx context.Context, site string, openOnly bool, from, to int64) ([]Alert, error) {
	query := `SELECT id, site, sensor, kind, message, raised, cleared FROM alerts WHERE ($1 = '' OR site = $1)`
	args := []any{site}
	if openOnly {
		query += ` AND cleared = 0`
	} else {
		query += ` AND raised >= $2 AND raised < $3`
		args = append(args, from, to)
	}
	rs, err := db.q().query(ctx, query+` ORDER BY raised DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list alerts: %w", err)
	}
	defer rs.Close()
	as := []Alert{}
	for rs.Next() {
		var a Alert
		if err := rs.Scan(&a.ID, &a.Site, &a.Sensor, &a.Kind, &a.Message, &a.Raised, &a.Cleared); err != nil {
			return nil, fmt.Errorf("store: list alerts: %w", err)
		}
		as = append(as, a)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: list alerts: %w", err)
	}
	return as, nil
}
