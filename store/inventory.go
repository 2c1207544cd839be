package store

import (
	"context"
	"fmt"
)

// Tables lists the tables Passant keeps, in the order of the data
// inventory (docs/storage.md).
var Tables = []string{"sites", "site_versions", "plan_images", "sensor_health", "observations", "positions",
	"visits", "track_days", "hours", "heat_tiles", "transactions", "calibrations", "users", "tokens", "leases", "alerts",
	"schema_version"}

// Ping implements Store.
func (db *DB) Ping(ctx context.Context) error {
	var err error
	if db.pg {
		err = db.pool.Ping(ctx)
	} else {
		err = db.sql.PingContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Inventory implements Store.
func (db *DB) Inventory(ctx context.Context) ([]TableCount, error) {
	cs := make([]TableCount, 0, len(Tables))
	for _, t := range Tables {
		c := TableCount{Table: t}
		if err := db.q().queryRow(ctx, `SELECT count(*) FROM `+t).Scan(&c.Rows); err != nil {
			return nil, fmt.Errorf("store: inventory: %w", err)
		}
		cs = append(cs, c)
	}
	return cs, nil
}
