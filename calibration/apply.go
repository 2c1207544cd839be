package calibration

import (
	"context"
	"errors"
	"fmt"

	"github.com/passant/passant/wire"
)

// Fit runs the calibration on the walk so far (without applying it) and
// keeps the result for Apply.
func (se *Session) Fit(ctx context.Context) (*Report, error) {
	site, _, err := se.svc.Sites.Site(ctx, se.site)
	if err != nil {
		return nil, err
	}
	se.mu.Lock()
	d, err := se.data(site)
	se.mu.Unlock()
	if err != nil {
		return nil, err
	}
	rep, err := Calibrate(d, 0, Options{})
	if err != nil {
		return nil, err
	}
	se.mu.Lock()
	se.last = rep
	se.mu.Unlock()
	return rep, nil
}

// ErrNothingToApply is returned by Apply when the last fit changed nothing.
var ErrNothingToApply = errors.New("calibration: nothing to apply: the fit kept the previous values")

// Apply writes the last fit's values onto the site's current version (only
// the radio fields of the sensors it changed, and the 5 GHz offsets when
// the fit moved them) as a new version, live.
func (se *Session) Apply(ctx context.Context) (*Applied, error) {
	se.mu.Lock()
	rep := se.last
	se.mu.Unlock()
	if rep == nil {
		return nil, fmt.Errorf("calibration: fit the walk first")
	}
	if rep.Chosen == "none" {
		return nil, ErrNothingToApply
	}
	site, ver, err := se.svc.Sites.Site(ctx, se.site)
	if err != nil {
		return nil, err
	}
	out := cloneSite(site)
	changed := 0
	for _, sr := range rep.Sensors {
		i := out.SensorIndex(sr.ID)
		if i < 0 || sr.Choice == Kept {
			continue
		}
		a, n := sr.Applied.RSSI1m, sr.Applied.Exponent
		out.Sensors[i].RSSI1m, out.Sensors[i].Exponent = &a, &n
		changed++
	}
	if o := rep.Offset5; o != nil && o.Applied && rep.Calibrated != nil {
		// The sensors' values were fitted with the 5 GHz offset moved by
		// delta: move it likewise (as Calibrate does for calibrated.json).
		delta := round(rep.Calibrated.Radio.Offset5GHz-o.Previous, 1)
		out.Radio.Offset5GHz = round(out.Radio.Offset5GHz+delta, 1)
		for i := range out.Sensors {
			if p := out.Sensors[i].Offset5GHz; p != nil {
				v := round(*p+delta, 1)
				out.Sensors[i].Offset5GHz = &v
			}
		}
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("calibration: the calibrated site is invalid: %w", err)
	}
	note := fmt.Sprintf("calibration walk: %d sensors; held-out median error %.2f m -> %.2f m", changed, rep.HeldBefore.Median, rep.HeldAfter.Median)
	v, err := se.svc.Sites.PutSite(ctx, out, note)
	if err != nil {
		return nil, err
	}
	a := &Applied{Version: v, Previous: ver}
	se.mu.Lock()
	se.applied = a
	se.mu.Unlock()
	return a, nil
}

// ErrSiteChanged is returned by a revert when the site was changed after
// the calibration was applied: restoring the version before it would throw
// that change away.
var ErrSiteChanged = errors.New("calibration: the site was changed after the calibration was applied; revert refused (it would undo that change too): set the sensors' radio values by hand")

// Revert restores the version before the last Apply, as a new version.
func (se *Session) Revert(ctx context.Context) (int, error) {
	se.mu.Lock()
	a := se.applied
	se.mu.Unlock()
	if a == nil {
		return 0, fmt.Errorf("calibration: nothing applied to revert")
	}
	if _, cur, err := se.svc.Sites.Site(ctx, se.site); err != nil {
		return 0, err
	} else if cur != a.Version {
		return 0, fmt.Errorf("%w (applied as version %d, now %d)", ErrSiteChanged, a.Version, cur)
	}
	v, err := se.svc.Sites.RevertSite(ctx, se.site, a.Previous, fmt.Sprintf("calibration of version %d reverted", a.Version))
	if err != nil {
		return 0, err
	}
	se.mu.Lock()
	se.applied = nil
	se.mu.Unlock()
	return v, nil
}

// Accuracy returns the predicted accuracy map of the site's current
// version and the best place for one more sensor.
func (se *Session) Accuracy(ctx context.Context) (*AccuracyMap, *Suggestion, *wire.Site, error) {
	site, _, err := se.svc.Sites.Site(ctx, se.site)
	if err != nil {
		return nil, nil, nil, err
	}
	am, err := Accuracy(site, AccuracyOptions{})
	if err != nil {
		return nil, nil, nil, err
	}
	sug, err := am.Suggest()
	if err != nil {
		sug = nil
	}
	return am, sug, site, nil
}
