package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// SaveCalibration implements Calibrations.
func (db *DB) SaveCalibration(ctx context.Context, c *Calibration) (int64, error) {
	sensors, err := json.Marshal(c.Sensors)
	if err != nil {
		return 0, fmt.Errorf("store: save calibration of %s: %w", c.Site, err)
	}
	report := string(c.Report)
	if report == "" {
		report = "null"
	}
	var id int64
	err = db.tx(ctx, func(tx q) error {
		return tx.queryRow(ctx, `INSERT INTO calibrations (site, t, site_version, sensors, report)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, c.Site, c.T, c.SiteVersion, string(sensors), report).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("store: save calibration of %s: %w", c.Site, err)
	}
	c.ID = id
	return id, nil
}

const calibrationColumns = `id, site, t, site_version, sensors, report`

func scanCalibration(r row) (*Calibration, error) {
	var (
		c               Calibration
		sensors, report string
	)
	if err := r.Scan(&c.ID, &c.Site, &c.T, &c.SiteVersion, &sensors, &report); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(sensors), &c.Sensors); err != nil {
		return nil, fmt.Errorf("stored calibration %d: %w", c.ID, err)
	}
	if report != "null" {
		c.Report = json.RawMessage(report)
	}
	return &c, nil
}

// ListCalibrations implements Calibrations.
func (db *DB) ListCalibrations(ctx context.Context, site string) ([]Calibration, error) {
	rs, err := db.q().query(ctx, `SELECT `+calibrationColumns+` FROM calibrations WHERE site = $1
		ORDER BY t DESC, id DESC`, site)
	if err != nil {
		return nil, fmt.Errorf("store: calibrations %s: %w", site, err)
	}
	defer rs.Close()
	cs := []Calibration{}
	for rs.Next() {
		c, err := scanCalibration(rs)
		if err != nil {
			return nil, fmt.Errorf("store: calibrations %s: %w", site, err)
		}
		cs = append(cs, *c)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: calibrations %s: %w", site, err)
	}
	return cs, nil
}

// Calibration implements Calibrations.
func (db *DB) Calibration(ctx context.Context, id int64) (*Calibration, error) {
	c, err := scanCalibration(db.q().queryRow(ctx, `SELECT `+calibrationColumns+` FROM calibrations WHERE id = $1`, id))
	if errNoRows(err) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: calibration %d: %w", id, err)
	}
	return c, nil
}
