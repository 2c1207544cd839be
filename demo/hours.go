package demo

// The live shop keeps the site's opening hours (unless Config.AlwaysOpen):
// while the site is open it runs at the full rates, a busy afternoon, as
// the demo always has; while it is closed no shopper comes in and the
// staff have gone home (sim.Config.Open), and the street outside is as
// busy as the hour of the day makes it: a fraction of the afternoon's
// passers-by in the evening, hardly anyone at night (liveProfile). So the
// footfall page's "closed now" no longer stands beside people in the
// store.

import (
	"math"
	"time"

	"github.com/passant/passant/wire"
)

// siteOpen is the site's opening hours for sim.Config.Open.
func siteOpen(site *wire.Site) func(int64) bool {
	loc, hours := site.Location(), site.Open.Compile()
	return func(ms int64) bool { return hours.IsOpen(time.UnixMilli(ms).In(loc)) }
}

// liveProfile is the live shop's arrival rates relative to its full ones:
// 1 while the site is open, and the street's while it is closed.
func liveProfile(site *wire.Site) func(int64) float64 {
	loc, hours := site.Location(), site.Open.Compile()
	return func(ms int64) float64 {
		t := time.UnixMilli(ms).In(loc)
		if hours.IsOpen(t) {
			return 1
		}
		return streetProfile(t)
	}
}

// streetProfile is how busy the street is at local time t, relative to
// the busy afternoon: as busy at 15:00 (a Sunday's), half at 20:00, a
// quarter at 8:00 and 22:00, a tenth at midnight, a twentieth through the
// small hours.
func streetProfile(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return math.Max(0.05, math.Exp(-math.Pow((h-15)/6, 2)))
}
