package store

import (
	"context"
	"fmt"
)

// UpsertSensorHealth implements Sensors.
func (db *DB) UpsertSensorHealth(ctx context.Context, hs []SensorHealth) error {
	if len(hs) == 0 {
		return nil
	}
	err := db.tx(ctx, func(tx q) error {
		for _, h := range hs {
			if _, err := tx.exec(ctx, `INSERT INTO sensor_health (site, sensor, last_seen, batches, observations,
				rejected, lost, clock_offset_ms, state, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
				ON CONFLICT (site, sensor) DO UPDATE SET last_seen = excluded.last_seen, batches = excluded.batches,
				observations = excluded.observations, rejected = excluded.rejected, lost = excluded.lost,
				clock_offset_ms = excluded.clock_offset_ms, state = excluded.state, version = excluded.version`,
				h.Site, h.Sensor, h.LastSeen, h.Batches, h.Observations, h.Rejected, h.Lost, h.ClockOffsetMs,
				h.State, cleanText(h.Version)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: upsert sensor health: %w", err)
	}
	return nil
}

// SensorHealth implements Sensors.
func (db *DB) SensorHealth(ctx context.Context, site string) ([]SensorHealth, error) {
	rs, err := db.q().query(ctx, `SELECT site, sensor, last_seen, batches, observations, rejected, lost,
		clock_offset_ms, state, version FROM sensor_health WHERE site = $1 ORDER BY sensor`, site)
	if err != nil {
		return nil, fmt.Errorf("store: sensor health %s: %w", site, err)
	}
	defer rs.Close()
	hs := []SensorHealth{}
	for rs.Next() {
		var h SensorHealth
		if err := rs.Scan(&h.Site, &h.Sensor, &h.LastSeen, &h.Batches, &h.Observations, &h.Rejected, &h.Lost,
			&h.ClockOffsetMs, &h.State, &h.Version); err != nil {
			return nil, fmt.Errorf("store: sensor health %s: %w", site, err)
		}
		hs = append(hs, h)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: sensor health %s: %w", site, err)
	}
	return hs, nil
}
