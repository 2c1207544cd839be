package store

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/passant/passant/wire"
)

// Forgotten counts what ForgetDevs removed: the pseudonyms asked for
// (Devs), the other pseudonyms found on their tracks' stored fixes
// (Linked), the tracks that had rows (Tracks), and the rows deleted per
// table.
type Forgotten struct {
	Devs         int   `json:"devs"`
	Linked       int   `json:"linked"`
	Tracks       int   `json:"tracks"`
	Observations int64 `json:"observations"`
	Positions    int64 `json:"positions"`
	Visits       int64 `json:"visits"`
	TrackDays    int64 `json:"track_days"`
	// Erased are the pseudonyms erased, those asked for and the linked
	// ones, for the caller to erase elsewhere too (the journal); never
	// shown.
	Erased []wire.Dev `json:"-"`
}

// TrackOf is the name the pipeline gives a track started by the pseudonym
// d: "k" and the first 12 hex characters of d (pipeline's stableName).
func TrackOf(d wire.Dev) string { return "k" + d.String()[:12] }

// ForgetDevs implements Observations. In one transaction:
//
//  1. the person's tracks: those named after one of devs (TrackOf), those
//     whose stored fixes carry one of devs, and tracks given;
//  2. the pseudonyms linked into them: every other pseudonym on their
//     stored fixes (a randomised address the tracker found to be the same
//     phone), the tracks named after those or holding their fixes, and so
//     on to a fixed point (one phone's addresses chain across days and
//     tracks; a tracker's wrong merge is followed too: erasing more than
//     the person is the safe side);
//  3. deleted: the observations and fixes of all those pseudonyms, and the
//     fixes, visits (store and zone) and track days of all those tracks.
//
// The hours (counts per hour, about nobody) stay.
func (db *DB) ForgetDevs(ctx context.Context, site string, devs []wire.Dev, tracks []string) (Forgotten, error) {
	f := Forgotten{Devs: len(devs)}
	if len(devs) == 0 && len(tracks) == 0 {
		return f, nil
	}
	err := db.tx(ctx, func(tx q) error {
		f = Forgotten{Devs: len(devs)}
		asked := map[wire.Dev]bool{}
		all := slices.Clone(devs)
		names := map[string]bool{}
		for _, d := range devs {
			asked[d] = true
			names[TrackOf(d)] = true
		}
		for _, t := range tracks {
			if t != "" {
				names[t] = true
			}
		}
		// To a fixed point: the tracks holding the new pseudonyms' fixes,
		// then the pseudonyms on the new tracks' fixes (and the tracks
		// named after them), until a round finds nothing new.
		newDevs, newTracks := slices.Clone(devs), slices.Sorted(maps.Keys(names))
		for len(newDevs) > 0 || len(newTracks) > 0 {
			var found []string
			if len(newDevs) > 0 {
				arg, in := db.devList(newDevs)
				err := queryEach(ctx, tx, `SELECT DISTINCT track FROM positions WHERE site = $1 AND track <> ''
					AND dev IN (`+fmt.Sprintf(in, 2)+`)`, func(t string) {
					if !names[t] {
						names[t] = true
						found = append(found, t)
					}
				}, site, arg)
				if err != nil {
					return err
				}
			}
			newDevs = nil
			if tracks := append(newTracks, found...); len(tracks) > 0 {
				targ, tin := db.textList(tracks)
				newTracks = nil
				err := queryEach(ctx, tx, `SELECT DISTINCT dev FROM positions WHERE site = $1 AND track IN (`+fmt.Sprintf(tin, 2)+`)`,
					func(v int64) {
						if d := wire.Dev(v); !asked[d] {
							asked[d] = true
							all = append(all, d)
							newDevs = append(newDevs, d)
							f.Linked++
							if t := TrackOf(d); !names[t] {
								names[t] = true
								newTracks = append(newTracks, t)
							}
						}
					}, site, targ)
				if err != nil {
					return err
				}
			}
		}
		arg, in := db.devList(all)
		targ, tin := db.textList(slices.Sorted(maps.Keys(names)))
		devIn, trackIn := fmt.Sprintf(in, 2), fmt.Sprintf(tin, 2)
		had := map[string]bool{}
		for _, table := range []string{"positions", "visits", "track_days"} {
			err := queryEach(ctx, tx, `SELECT DISTINCT track FROM `+table+` WHERE site = $1 AND track IN (`+trackIn+`)`,
				func(t string) { had[t] = true }, site, targ)
			if err != nil {
				return err
			}
		}
		f.Tracks = len(had)
		f.Erased = all
		for _, d := range []struct {
			n     *int64
			query string
			arg   any
		}{
			{&f.Observations, `DELETE FROM observations WHERE site = $1 AND dev IN (` + devIn + `)`, arg},
			{&f.Positions, `DELETE FROM positions WHERE site = $1 AND dev IN (` + devIn + `)`, arg},
			{&f.Positions, `DELETE FROM positions WHERE site = $1 AND track IN (` + trackIn + `)`, targ},
			{&f.Visits, `DELETE FROM visits WHERE site = $1 AND track IN (` + trackIn + `)`, targ},
			{&f.TrackDays, `DELETE FROM track_days WHERE site = $1 AND track IN (` + trackIn + `)`, targ},
		} {
			m, err := tx.exec(ctx, d.query, site, d.arg)
			if err != nil {
				return err
			}
			*d.n += m
		}
		return nil
	})
	if err != nil {
		return Forgotten{}, fmt.Errorf("store: forget %d pseudonyms of %s: %w", len(devs), site, err)
	}
	return f, nil
}

// queryEach calls fn with the one column of each row.
func queryEach[T any](ctx context.Context, tx q, query string, fn func(T), args ...any) error {
	rs, err := tx.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var v T
		if err := rs.Scan(&v); err != nil {
			return err
		}
		fn(v)
	}
	return rs.Err()
}

// DataSince implements Observations: the earliest time of the site's
// stored observations, fixes, visits and track days.
func (db *DB) DataSince(ctx context.Context, site string) (int64, bool, error) {
	var since int64
	found := false
	for _, query := range []string{
		`SELECT min(t) FROM observations WHERE site = $1`,
		`SELECT min(t) FROM positions WHERE site = $1`,
		`SELECT min(start) FROM visits WHERE site = $1`,
		`SELECT min(first) FROM track_days WHERE site = $1`,
	} {
		var t *int64
		if err := db.r().queryRow(ctx, query, site).Scan(&t); err != nil {
			return 0, false, fmt.Errorf("store: data of %s since: %w", site, err)
		}
		if t != nil && (!found || *t < since) {
			since, found = *t, true
		}
	}
	return since, found, nil
}
