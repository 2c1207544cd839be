package server

import (
	"context"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// TestCalibrationWalkWhileLive: a calibration walk follows the chosen
// phone's track while the site runs, and the site goes on. The walk looks
// up the track of every pseudonym it hears from inside the site runner's
// accept; until the runner's pseudonym-to-track map got a lock of its own
// that lookup waited for the lock the runner held, and the site stopped:
// no batch processed, every report and heatmap request hanging (found by
// the dashboard's browser tests, which pick a phone and then ask for
// reports).
func TestCalibrationWalkWhileLive(t *testing.T) {
	srv, site, stop := shopThroughMQTT(t, 20*time.Minute)
	defer stop()
	r := srv.runner(site.Site)
	// A phone the pipeline knows under several pseudonyms.
	var dev wire.Dev
	var track string
	r.mu.Lock()
	for tr, devs := range r.trackDevs {
		if len(devs) >= 2 {
			track = tr
			for d := range devs {
				dev = d
				break
			}
			break
		}
	}
	r.mu.Unlock()
	if track == "" {
		t.Fatal("no track holds two pseudonyms")
	}
	se := srv.cal.Session(site.Site)
	if p := se.Start(dev); p.Track != track {
		t.Fatalf("the walk follows track %q, the pipeline has %q", p.Track, track)
	}
	// More of the street and the shop, heard while the walk is on: new
	// pseudonyms, each looked up.
	before := processed(r)
	more := simtest.Shop(t, "small", sim.Config{Seed: 6, ShoppersPerHour: 120, PassersPerHour: 400})
	sent := publishShop(t, srv, more, time.Now().Add(-5*time.Minute), time.Now())
	eventually(t, "every batch processed during the walk", func() bool { return processed(r) == before+int64(sent) })
	ctx := context.Background()
	rep, err := srv.Report(ctx, site.Site, time.Now().Add(-time.Hour).UnixMilli(), time.Now().Add(time.Hour).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Passersby == 0 {
		t.Fatalf("report during the walk: %+v", rep.Totals)
	}
	st, err := se.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("walk on track %s: %d of its frames; %d batches processed during the walk", track, st.Frames, sent)
}
