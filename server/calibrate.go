package server

import (
	"context"
	"image"

	"github.com/passant/passant/calibration"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// calSites gives the calibration walk the sites: what it fits is stored as
// a new version (source "calibration") and applied live, with no restart.
type calSites struct{ s *Server }

func (c calSites) Site(ctx context.Context, site string) (*wire.Site, int, error) {
	st, v, err := c.s.store.Site(ctx, site)
	return st, v.Version, notFound(err)
}

func (c calSites) PutSite(ctx context.Context, site *wire.Site, note string) (int, error) {
	v, err := c.s.store.SaveSite(ctx, site, store.SourceCalibration, note)
	if err != nil {
		return 0, err
	}
	return v.Version, c.s.apply(ctx, site.Site)
}

// PutSiteFrom implements calibration.SourceSites: the self-calibration's
// versions are stored with source "selfcal".
func (c calSites) PutSiteFrom(ctx context.Context, site *wire.Site, source, note string) (int, error) {
	v, err := c.s.store.SaveSite(ctx, site, source, note)
	if err != nil {
		return 0, err
	}
	return v.Version, c.s.apply(ctx, site.Site)
}

func (c calSites) RevertSite(ctx context.Context, site string, version int, note string) (int, error) {
	v, err := c.s.store.RevertSite(ctx, site, version, note)
	if err != nil {
		return 0, notFound(err)
	}
	return v.Version, c.s.apply(ctx, site)
}

// PlanImage implements calibration.PlanSource: the accuracy map is drawn
// over the floor plan.
func (c calSites) PlanImage(ctx context.Context, site string) (image.Image, error) {
	img, err := c.s.store.PlanImage(ctx, site)
	if err != nil {
		return nil, err
	}
	return web.DecodePlan(img.Data)
}

func (s *Server) newCalibration() *calibration.Service {
	svc := calibration.NewService(calSites{s})
	svc.SelfWindow = s.cfg.SelfWindow.Milliseconds()
	svc.TrackOf = func(site string, d wire.Dev) string {
		if r := s.runner(site); r != nil {
			return r.trackOf(d) // not r.mu: the runner calls the walk holding it
		}
		return ""
	}
	return svc
}
