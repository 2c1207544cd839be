package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/passant/passant/wire"
)

// WriteHours implements Derived. An hour is kept as its JSON.
func (db *DB) WriteHours(ctx context.Context, site string, hs []wire.Hour) error {
	bodies := make([]string, len(hs))
	for i := range hs {
		b, err := json.Marshal(&hs[i])
		if err != nil {
			return fmt.Errorf("store: write hours of %s: %w", site, err)
		}
		bodies[i] = string(b)
	}
	err := db.insertRows(ctx, "hours", []string{"site", "start", "body"}, []string{"site", "start"},
		`ON CONFLICT (site, start) DO UPDATE SET body = excluded.body`,
		len(hs), func(i int) []any { return []any{site, hs[i].Start, bodies[i]} })
	if err != nil {
		return fmt.Errorf("store: write %d hours of %s: %w", len(hs), site, err)
	}
	return nil
}

// Hours implements Derived.
func (db *DB) Hours(ctx context.Context, site string, from, to int64) ([]wire.Hour, error) {
	rs, err := db.r().query(ctx, `SELECT body FROM hours WHERE site = $1 AND start >= $2 AND start < $3
		ORDER BY start`, site, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: hours %s: %w", site, err)
	}
	defer rs.Close()
	hs := []wire.Hour{}
	for rs.Next() {
		var body string
		if err := rs.Scan(&body); err != nil {
			return nil, fmt.Errorf("store: hours %s: %w", site, err)
		}
		var h wire.Hour
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			return nil, fmt.Errorf("store: hours %s: stored hour: %w", site, err)
		}
		hs = append(hs, h)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: hours %s: %w", site, err)
	}
	return hs, nil
}
