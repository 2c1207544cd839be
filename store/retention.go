package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/passant/passant/wire"
)

// Retention says how long raw data is kept. A zero duration keeps forever.
type Retention struct {
	// PassersBy: raw observations of devices that never became visitors
	// (default 24 h).
	PassersBy time.Duration
	// Raw: every raw observation, visitors' too (default 30 days).
	Raw time.Duration
	// Positions: position fixes (default 30 days).
	Positions time.Duration
	// Heat: the heatmap's hourly tiles (default 30 days, as the fixes
	// they can be built again from).
	Heat time.Duration
	// Summaries: visits, track days and hours (default 0: kept, for
	// year-on-year reports). Should exceed the returning-visitor history.
	Summaries time.Duration
}

// DefaultRetention is the retention unless configured otherwise.
var DefaultRetention = Retention{PassersBy: 24 * time.Hour, Raw: 30 * 24 * time.Hour, Positions: 30 * 24 * time.Hour,
	Heat: 30 * 24 * time.Hour}

// Pruned counts what a Prune deleted.
type Pruned struct {
	PassersBy     int64 `json:"passersby_observations"`
	Observations  int64 `json:"observations"`
	Positions     int64 `json:"positions"`
	HeatTiles     int64 `json:"heat_tiles"`
	Summaries     int64 `json:"summaries"`
	ExpiredTokens int64 `json:"expired_tokens"`
}

// Prune deletes what the retention no longer allows at now: for each site,
// the raw observations older than r.PassersBy of devices not in keep(site)
// (the pseudonyms that became visitors); everyone's raw observations older
// than r.Raw; fixes older than r.Positions; summaries older than
// r.Summaries; heat tiles older than r.Heat; expired tokens. Each step goes
// on when another fails: a site whose visitors keep cannot name keeps its
// passers-by this time, and the others are pruned all the same; the errors
// are returned together.
func Prune(ctx context.Context, s Store, now time.Time, r Retention, keep func(site string) ([]wire.Dev, error)) (Pruned, error) {
	var p Pruned
	var errs []error
	ms := now.UnixMilli()
	if r.PassersBy > 0 {
		sites, err := s.ListSites(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("store: prune: %w", err))
		}
		for _, site := range sites {
			devs, err := keep(site.Site)
			if err != nil {
				errs = append(errs, fmt.Errorf("store: prune %s: %w", site.Site, err))
				continue
			}
			n, err := s.DeleteObservationsExcept(ctx, site.Site, ms-r.PassersBy.Milliseconds(), devs)
			p.PassersBy += n
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if r.Raw > 0 {
		n, err := s.DeleteObservationsBefore(ctx, ms-r.Raw.Milliseconds())
		p.Observations += n
		errs = append(errs, err)
	}
	if r.Positions > 0 {
		n, err := s.DeletePositionsBefore(ctx, ms-r.Positions.Milliseconds())
		p.Positions += n
		errs = append(errs, err)
	}
	if r.Heat > 0 {
		n, err := s.DeleteHeatBefore(ctx, ms-r.Heat.Milliseconds())
		p.HeatTiles += n
		errs = append(errs, err)
	}
	if r.Summaries > 0 {
		n, err := s.DeleteSummariesBefore(ctx, ms-r.Summaries.Milliseconds())
		p.Summaries += n
		errs = append(errs, err)
	}
	n, err := s.DeleteExpiredTokens(ctx, ms)
	p.ExpiredTokens = n
	errs = append(errs, err)
	return p, errors.Join(errs...)
}
