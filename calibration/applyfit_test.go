package calibration

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/passant/passant/wire"
)

// TestApplyWritesTheFit: the page's Apply stores what the fit calibrated,
// the 5 GHz offset included (the contract: the web UI "applies the same
// fit" as passant calibrate, whose calibrated.json is Report.Calibrated).
// Apply copied the sensors' rssi_1m and exponent only: a walk that fitted
// and applied offset_5ghz left the site's 5 GHz offset as it was, under
// sensor values fitted together with the corrected one.
func TestApplyWritesTheFit(t *testing.T) {
	w := newWorld()
	w.five = w.site.Radio.Offset5GHz - 3 // the site's 5 GHz offset is 3 dB off
	rng := rand.New(rand.NewPCG(5, 5))
	route := installerWalk(rng, w.site, liveT0+20000, 6*60*1000, 0.8, wire.Rect{{0.5, 0.5}, {29.5, 19.5}})
	s1 := w.site.Sensors[0]
	path := walkPath{pts: append([]wire.Point{{s1.X, s1.Y}}, route.pts...), ts: append([]int64{liveT0}, route.ts...)}
	ls := newLiveShopPath(w, rng, path)
	se := ls.svc.Session("sim")
	ls.walk(t, se)
	ls.advance(ls.path.ts[len(ls.path.ts)-1] + 3000)
	ctx := context.Background()
	rep, err := se.Fit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Chosen == "none" || rep.Offset5 == nil || !rep.Offset5.Applied {
		t.Fatalf("the walk should fit and apply a 5 GHz offset: chosen %q, offset %+v", rep.Chosen, rep.Offset5)
	}
	if _, err := se.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	sites := ls.svc.Sites.(*memSites)
	got, want := sites.versions[len(sites.versions)-1], rep.Calibrated
	if got.Radio.Offset5GHz != want.Radio.Offset5GHz {
		t.Errorf("applied offset_5ghz %.1f dB, the fit calibrated %.1f dB (site's before: %.1f)",
			got.Radio.Offset5GHz, want.Radio.Offset5GHz, w.site.Radio.Offset5GHz)
	}
	for i, s := range got.Sensors {
		ws := want.Sensors[i]
		if ptr(s.RSSI1m) != ptr(ws.RSSI1m) || ptr(s.Exponent) != ptr(ws.Exponent) || ptr(s.Offset5GHz) != ptr(ws.Offset5GHz) {
			t.Errorf("sensor %s: applied %v/%v/%v, calibrated %v/%v/%v", s.ID,
				ptr(s.RSSI1m), ptr(s.Exponent), ptr(s.Offset5GHz), ptr(ws.RSSI1m), ptr(ws.Exponent), ptr(ws.Offset5GHz))
		}
	}
}

func ptr(p *float64) float64 {
	if p == nil {
		return -999
	}
	return *p
}

// TestRevertKeepsLaterEdits: revert restores the version before the
// calibration's apply as a new version. When the site was edited after the
// apply (a zone drawn, a sensor moved), that copy threw the edit away
// without a word. Revert now refuses (ErrSiteChanged, 409) and changes
// nothing; the edit stays.
func TestRevertKeepsLaterEdits(t *testing.T) {
	ls := newLiveShop(3, 6*60*1000)
	se := ls.svc.Session("sim")
	ls.walk(t, se)
	ctx := context.Background()
	if _, err := se.Fit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := se.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	sites := ls.svc.Sites.(*memSites)
	edited, _, _ := sites.Site(ctx, "sim")
	edited.Zones = append(edited.Zones, wire.Zone{ID: "new-aisle", Kind: wire.ZoneArea, Polygon: []wire.Point{{2, 2}, {4, 2}, {4, 4}, {2, 4}}})
	if _, err := sites.PutSite(ctx, edited, "the manager draws an aisle"); err != nil {
		t.Fatal(err)
	}
	_, err := se.Revert(ctx)
	cur, _, _ := sites.Site(ctx, "sim")
	if !slices.ContainsFunc(cur.Zones, func(z wire.Zone) bool { return z.ID == "new-aisle" }) {
		t.Fatalf("revert after an edit dropped the edit (%d versions, revert: %v)", len(sites.versions), err)
	}
	if !errors.Is(err, ErrSiteChanged) {
		t.Errorf("revert after an edit: %v, want ErrSiteChanged", err)
	}
}
