package footfall

import (
	"slices"

	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// ZoneOccupancy returns, for the store and every area, the occupancy of
// each local hour of [from, to) (Hours(from, to)): the most visits of
// non-staff tracks open at one moment and their time average. It is the
// hourly occupancy of report.json, per zone, for charts.
func ZoneOccupancy(site *wire.Site, from, to int64, days []TrackDay, visits []Visit) map[string][]zones.Load {
	loc := site.Location()
	starts := Hours(from, to, loc)
	out := map[string][]zones.Load{}
	if len(starts) == 0 {
		return out
	}
	edges := append(slices.Clone(starts), to)
	tds, idx := classify(site, days, visits)
	spans := map[string][]zones.Span{}
	for _, z := range site.Zones {
		if z.Kind == wire.ZoneStore || z.Kind == wire.ZoneArea {
			spans[z.ID] = nil
		}
	}
	for i := range visits {
		v := &visits[i]
		if _, ok := spans[v.Zone]; !ok || v.End < from || v.Start >= to {
			continue
		}
		if j, ok := idx[tdKey{v.Track, localDayNumber(v.Start, loc)}]; ok && tds[j].class == Staff {
			continue
		}
		spans[v.Zone] = append(spans[v.Zone], zones.Span{Start: v.Start, End: v.End})
	}
	for id, s := range spans {
		out[id] = zones.Occupancy(s, edges)
	}
	return out
}
