package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// DeleteDerived implements Derived.
func (db *DB) DeleteDerived(ctx context.Context, site string, from, to int64) error {
	err := db.tx(ctx, func(tx q) error {
		for _, query := range []string{
			`DELETE FROM positions WHERE site = $1 AND t >= $2 AND t < $3`,
			`DELETE FROM visits WHERE site = $1 AND start >= $2 AND start < $3`,
			`DELETE FROM track_days WHERE site = $1 AND first >= $2 AND first < $3`,
			`DELETE FROM hours WHERE site = $1 AND start >= $2 AND start < $3`,
			`DELETE FROM heat_tiles WHERE site = $1 AND start >= $2 AND start < $3`,
		} {
			if _, err := tx.exec(ctx, query, site, from, to); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete derived data of %s in [%d, %d): %w", site, from, to, err)
	}
	return nil
}

// DeleteSummariesBefore implements Derived.
func (db *DB) DeleteSummariesBefore(ctx context.Context, before int64) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx q) error {
		for _, query := range []string{
			`DELETE FROM visits WHERE start < $1`,
			`DELETE FROM track_days WHERE first < $1`,
			`DELETE FROM hours WHERE start < $1`,
		} {
			m, err := tx.exec(ctx, query, before)
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete summaries before %d: %w", before, err)
	}
	return n, nil
}

// DeleteTrack implements Derived.
func (db *DB) DeleteTrack(ctx context.Context, site, track string, from, to int64) error {
	err := db.tx(ctx, func(tx q) error {
		for _, query := range []string{
			`DELETE FROM visits WHERE site = $1 AND start >= $2 AND start <= $3 AND track = $4`,
			`DELETE FROM track_days WHERE site = $1 AND first >= $2 AND first <= $3 AND track = $4`,
		} {
			if _, err := tx.exec(ctx, query, site, from, to, track); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete track %s of %s in [%d, %d]: %w", track, site, from, to, err)
	}
	return nil
}

// DeleteDerivedTracks implements Derived.
func (db *DB) DeleteDerivedTracks(ctx context.Context, site string, from, to int64, tracks []string) error {
	if len(tracks) == 0 {
		return nil
	}
	arg, in := db.textList(tracks)
	err := db.tx(ctx, func(tx q) error {
		for _, query := range []string{
			`DELETE FROM positions WHERE site = $1 AND t >= $2 AND t < $3 AND track IN (`,
			`DELETE FROM visits WHERE site = $1 AND start >= $2 AND start < $3 AND track IN (`,
			`DELETE FROM track_days WHERE site = $1 AND first >= $2 AND first < $3 AND track IN (`,
		} {
			if _, err := tx.exec(ctx, query+fmt.Sprintf(in, 4)+`)`, site, from, to, arg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete derived data of %d tracks of %s in [%d, %d): %w", len(tracks), site, from, to, err)
	}
	return nil
}

// textList is devList for strings: one parameter holding them all.
func (db *DB) textList(ss []string) (arg any, in string) {
	if db.pg {
		return ss, "SELECT unnest($%d::text[])"
	}
	b, _ := json.Marshal(ss) // strings always marshal
	return string(b), "SELECT value FROM json_each($%d)"
}
