package store

import (
	"context"
	"fmt"

	"github.com/passant/passant/footfall"
)

// WriteVisits implements Derived.
func (db *DB) WriteVisits(ctx context.Context, vs []footfall.Visit) error {
	err := db.insertRows(ctx, "visits", []string{"site", "track", "zone", "start", "stop", "fixes", "out_before", "enter", "out_after"},
		[]string{"site", "start", "track", "zone"},
		`ON CONFLICT (site, start, track, zone) DO UPDATE SET stop = excluded.stop, fixes = excluded.fixes,
			out_before = excluded.out_before, enter = excluded.enter, out_after = excluded.out_after`,
		len(vs), func(i int) []any {
			v := &vs[i]
			return []any{v.Site, v.Track, v.Zone, v.Start, v.End, v.Fixes, v.Before, v.Enter, v.After}
		})
	if err != nil {
		return fmt.Errorf("store: write %d visits: %w", len(vs), err)
	}
	return nil
}

// Visits implements Derived.
func (db *DB) Visits(ctx context.Context, site string, from, to int64) ([]footfall.Visit, error) {
	rs, err := db.r().query(ctx, `SELECT track, zone, start, stop, fixes, out_before, enter, out_after FROM visits
		WHERE site = $1 AND start >= $2 AND start < $3 ORDER BY start, track, zone`, site, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: visits %s: %w", site, err)
	}
	defer rs.Close()
	vs := []footfall.Visit{}
	var zone interned
	for rs.Next() {
		v := footfall.Visit{Site: site}
		if err := rs.Scan(&v.Track, zone.dest(db), &v.Start, &v.End, &v.Fixes, &v.Before, &v.Enter, &v.After); err != nil {
			return nil, fmt.Errorf("store: visits %s: %w", site, err)
		}
		v.Zone = zone.String()
		vs = grow(vs)
		vs = append(vs, v)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: visits %s: %w", site, err)
	}
	return vs, nil
}
