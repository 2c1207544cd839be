package locate_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

func TestZZDump(t *testing.T) {
	files, _ := filepath.Glob("/work/shared/testdata/captures/probing-iPhone*.pcap")
	site := &wire.Site{Site: "cap", Bounds: wire.Rect{{-10, -10}, {10, 10}},
		Radio:   wire.Radio{RSSI1m: -45, Exponent: 2.5, PhoneZ: 1.2},
		Sensors: []wire.Sensor{{ID: "s1", X: 0, Y: 0, Z: 2.5}},
		Zones: []wire.Zone{{ID: "store", Kind: wire.ZoneStore, Polygon: []wire.Point{{-10, 0}, {10, 0}, {10, 10}, {-10, 10}}},
			{ID: "street", Kind: wire.ZoneOutside, Polygon: []wire.Point{{-10, -10}, {10, -10}, {10, 0}, {-10, 0}}}}}
	m, _ := locate.NewModel(site)
	for _, name := range files {
		b := captureBatch(t, name, true)
		bursts := sim.Bursts(m, site, []*wire.Batch{b})
		fmt.Println("==", filepath.Base(name))
		tr := locate.NewTracker(m, locate.TrackerOptions{})
		seen := map[string]bool{}
		var last int64
		var lastR float64
		var lastP wire.Position
		for _, bu := range bursts {
			p := tr.Add(bu)
			tr.Expire(bu.T)
			if !seen[p.Track] {
				fmt.Printf("new %s at %.1f s after %.2f s, rssi %.0f (was %.0f), pos %.1f,%.1f err %.1f (was %.1f,%.1f err %.1f)\n", p.Track, float64(bu.T-bursts[0].T)/1000, float64(bu.T-last)/1000, bu.Readings[0].RSSI, lastR, p.X, p.Y, p.Err, lastP.X, lastP.Y, lastP.Err)
			}
			seen[p.Track] = true
			last, lastR, lastP = bu.T, bu.Readings[0].RSSI, p
		}
	}
}
