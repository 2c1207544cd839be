package store

import (
	"context"
	"fmt"
)

// HeatTile is one of a site's hourly heatmap tiles: the occupancy
// (person-seconds per cell) of the hour that starts at Start, everyone's
// or, with Staff, the staff's that a heatmap of people takes out. Data is
// the tile in the heatmap package's encoding (heatmap.AppendTile): its
// grid's geometry, the box of cells reached and their values; storage
// does not look inside. A tile holds no pseudonym.
type HeatTile struct {
	Start int64
	Staff bool
	Data  []byte
}

// Heat keeps the heatmap's tiles of the hours that are over, so that a
// server holds only the day under way in memory.
type Heat interface {
	// WriteHeatTiles stores tiles of a site. With replace a tile replaces
	// the one stored for the same hour and kind (a re-processing, a site
	// change); without, a tile already stored is kept (the same hours
	// computed again by a replay of the journal after a restart, or built
	// from the stored positions while a live one was being written).
	WriteHeatTiles(ctx context.Context, site string, ts []HeatTile, replace bool) error
	// ScanHeatTiles calls fn with each of the site's tiles whose start lies
	// in [from, to), by start (everyone's before the staff's). The tile
	// passed to fn, and its Data, are reused after fn returns.
	ScanHeatTiles(ctx context.Context, site string, from, to int64, fn func(*HeatTile) error) error
	// DeleteHeatTiles deletes the site's tiles whose start lies in [from,
	// to): a re-processing of a range the passers-by retention has thinned,
	// whose tiles are built again from the stored positions.
	DeleteHeatTiles(ctx context.Context, site string, from, to int64) error
	// DeleteHeatBefore deletes every site's tiles that start before before
	// (their retention), returning how many went.
	DeleteHeatBefore(ctx context.Context, before int64) (int64, error)
}

// WriteHeatTiles implements Heat.
func (db *DB) WriteHeatTiles(ctx context.Context, site string, ts []HeatTile, replace bool) error {
	conflict := `ON CONFLICT (site, start, staff) DO NOTHING`
	if replace {
		conflict = `ON CONFLICT (site, start, staff) DO UPDATE SET data = excluded.data`
	}
	err := db.insertRows(ctx, "heat_tiles", []string{"site", "start", "staff", "data"}, []string{"site", "start", "staff"},
		conflict, len(ts), func(i int) []any { return []any{site, ts[i].Start, ts[i].Staff, ts[i].Data} })
	if err != nil {
		return fmt.Errorf("store: write %d heat tiles of %s: %w", len(ts), site, err)
	}
	return nil
}

// ScanHeatTiles implements Heat.
func (db *DB) ScanHeatTiles(ctx context.Context, site string, from, to int64, fn func(*HeatTile) error) error {
	rs, err := db.r().query(ctx, `SELECT start, staff, data FROM heat_tiles WHERE site = $1 AND start >= $2 AND start < $3
		ORDER BY start, staff`, site, from, to)
	if err != nil {
		return fmt.Errorf("store: heat tiles of %s: %w", site, err)
	}
	defer rs.Close()
	var t HeatTile
	for rs.Next() {
		t.Data = t.Data[:0]
		if err := rs.Scan(&t.Start, &t.Staff, &t.Data); err != nil {
			return fmt.Errorf("store: heat tiles of %s: %w", site, err)
		}
		if err := fn(&t); err != nil {
			return err
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("store: heat tiles of %s: %w", site, err)
	}
	return nil
}

// DeleteHeatTiles implements Heat.
func (db *DB) DeleteHeatTiles(ctx context.Context, site string, from, to int64) error {
	if _, err := db.q().exec(ctx, `DELETE FROM heat_tiles WHERE site = $1 AND start >= $2 AND start < $3`, site, from, to); err != nil {
		return fmt.Errorf("store: delete heat tiles of %s in [%d, %d): %w", site, from, to, err)
	}
	return nil
}

// DeleteHeatBefore implements Heat.
func (db *DB) DeleteHeatBefore(ctx context.Context, before int64) (int64, error) {
	n, err := db.q().exec(ctx, `DELETE FROM heat_tiles WHERE start < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("store: delete heat tiles before %d: %w", before, err)
	}
	return n, nil
}
