package store

import (
	"context"
	"fmt"

	"github.com/passant/passant/footfall"
)

// WriteTrackDays implements Derived.
func (db *DB) WriteTrackDays(ctx context.Context, ds []footfall.TrackDay) error {
	err := db.insertRows(ctx, "track_days", []string{"site", "day", "track", "first", "last", "fixes", "fp", "rand"},
		[]string{"site", "day", "track"},
		`ON CONFLICT (site, day, track) DO UPDATE SET first = excluded.first, last = excluded.last, fixes = excluded.fixes,
			fp = excluded.fp, rand = excluded.rand`,
		len(ds), func(i int) []any {
			d := &ds[i]
			return []any{d.Site, d.Day, d.Track, d.First, d.Last, d.Fixes, d.FP, d.Rand}
		})
	if err != nil {
		return fmt.Errorf("store: write %d track days: %w", len(ds), err)
	}
	return nil
}

// TrackDays implements Derived.
func (db *DB) TrackDays(ctx context.Context, site string, from, to int64) ([]footfall.TrackDay, error) {
	rs, err := db.r().query(ctx, `SELECT day, track, first, last, fixes, fp, rand FROM track_days
		WHERE site = $1 AND first >= $2 AND first < $3 ORDER BY day, track`, site, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: track days %s: %w", site, err)
	}
	defer rs.Close()
	ds := []footfall.TrackDay{}
	var day interned
	for rs.Next() {
		d := footfall.TrackDay{Site: site}
		if err := rs.Scan(day.dest(db), &d.Track, &d.First, &d.Last, &d.Fixes, &d.FP, &d.Rand); err != nil {
			return nil, fmt.Errorf("store: track days %s: %w", site, err)
		}
		d.Day = day.String()
		ds = grow(ds)
		ds = append(ds, d)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: track days %s: %w", site, err)
	}
	return ds, nil
}
