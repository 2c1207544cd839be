package storetest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

func sameSite(t *testing.T, got, want *wire.Site) {
	t.Helper()
	a, _ := wire.MarshalSite(got)
	b, _ := wire.MarshalSite(want)
	if !bytes.Equal(a, b) {
		t.Fatalf("site differs:\n got %s\nwant %s", a, b)
	}
}

func testSites(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, _, err := s.Site(ctx, "demo"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Site of an unknown site: %v, want ErrNotFound", err)
	}
	site := Site(t, "demo")
	v1, err := s.SaveSite(ctx, site, store.SourceAPI, "first")
	fatalIf(t, err)
	if v1.Version != 1 || v1.Source != store.SourceAPI || v1.Note != "first" || len(v1.Hash) != 64 || v1.Created == 0 {
		t.Fatalf("first version: %+v", v1)
	}
	again, err := s.SaveSite(ctx, Site(t, "demo"), store.SourceAPI, "same")
	fatalIf(t, err)
	if again != v1 {
		t.Fatalf("saving an unchanged site made %+v, want %+v", again, v1)
	}

	moved := Site(t, "demo")
	moved.Sensors[0].X = 2
	e := -2.1
	moved.Sensors[1].Exponent = &e
	if _, err := s.SaveSite(ctx, moved, store.SourceAPI, ""); err == nil || !strings.Contains(err.Error(), "exponent") {
		t.Fatalf("an invalid site was saved (err %v)", err)
	}
	e = 2.1
	v2, err := s.SaveSite(ctx, moved, store.SourceCalibration, "walk")
	fatalIf(t, err)
	if v2.Version != 2 || v2.Hash == v1.Hash {
		t.Fatalf("second version: %+v", v2)
	}
	got, gv, err := s.Site(ctx, "demo")
	fatalIf(t, err)
	sameSite(t, got, moved)
	if gv != v2 {
		t.Fatalf("latest %+v, want %+v", gv, v2)
	}
	if got.Location().String() != "Europe/Berlin" {
		t.Fatalf("time zone %s", got.Location())
	}
	old, ov, err := s.SiteAt(ctx, "demo", 1)
	fatalIf(t, err)
	sameSite(t, old, site)
	if ov != v1 {
		t.Fatalf("version 1: %+v, want %+v", ov, v1)
	}
	if _, _, err := s.SiteAt(ctx, "demo", 9); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SiteAt of a missing version: %v", err)
	}

	v3, err := s.RevertSite(ctx, "demo", 1, "")
	fatalIf(t, err)
	if v3.Version != 3 || v3.Source != store.SourceRevert || v3.Hash != v1.Hash || v3.Note == "" {
		t.Fatalf("revert: %+v", v3)
	}
	got, _, err = s.Site(ctx, "demo")
	fatalIf(t, err)
	sameSite(t, got, site)
	if _, err := s.RevertSite(ctx, "demo", 7, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revert to a missing version: %v", err)
	}

	hist, err := s.SiteHistory(ctx, "demo")
	fatalIf(t, err)
	if len(hist) != 3 || hist[0] != v3 || hist[1] != v2 || hist[2] != v1 {
		t.Fatalf("history %+v", hist)
	}

	_, err = s.SaveSite(ctx, Site(t, "another"), store.SourceAPI, "")
	fatalIf(t, err)
	list, err := s.ListSites(ctx)
	fatalIf(t, err)
	if len(list) != 2 || list[0].Site != "another" || list[1] != v3 {
		t.Fatalf("list %+v", list)
	}
	fatalIf(t, s.DeleteSite(ctx, "another"))
	list, err = s.ListSites(ctx)
	fatalIf(t, err)
	if len(list) != 1 || list[0].Site != "demo" {
		t.Fatalf("list after delete %+v", list)
	}
	if _, _, err := s.Site(ctx, "another"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted site: %v", err)
	}
}

// testSiteFile: a file given at start replaces the stored site only when
// the file changed since it was last applied.
func testSiteFile(t *testing.T, s store.Store) {
	ctx := context.Background()
	file := []byte(exampleSite)
	v, changed, err := s.ApplySiteFile(ctx, Site(t, "demo"), file)
	fatalIf(t, err)
	if !changed || v.Version != 1 || v.Source != store.SourceFile {
		t.Fatalf("first start: %+v changed=%v", v, changed)
	}
	// A calibration through the UI.
	cal := Site(t, "demo")
	r := -50.0
	cal.Sensors[0].RSSI1m = &r
	vc, err := s.SaveSite(ctx, cal, store.SourceCalibration, "")
	fatalIf(t, err)
	// Restart with the same file: the calibration survives.
	v, changed, err = s.ApplySiteFile(ctx, Site(t, "demo"), file)
	fatalIf(t, err)
	if changed || v != vc {
		t.Fatalf("restart with the same file: %+v changed=%v, want %+v", v, changed, vc)
	}
	got, _, err := s.Site(ctx, "demo")
	fatalIf(t, err)
	sameSite(t, got, cal)
	// The file is edited: it wins.
	edited := Site(t, "demo")
	edited.Name = "Edited"
	file2 := append([]byte(nil), file...)
	file2 = bytes.Replace(file2, []byte("Demo Store"), []byte("Edited"), 1)
	v, changed, err = s.ApplySiteFile(ctx, edited, file2)
	fatalIf(t, err)
	if !changed || v.Version != 3 || v.Source != store.SourceFile {
		t.Fatalf("edited file: %+v changed=%v", v, changed)
	}
	got, _, err = s.Site(ctx, "demo")
	fatalIf(t, err)
	if got.Name != "Edited" {
		t.Fatalf("name %q", got.Name)
	}
	// Same again: nothing.
	if v2, changed, err := s.ApplySiteFile(ctx, edited, file2); err != nil || changed || v2 != v {
		t.Fatalf("edited file again: %+v %v %v", v2, changed, err)
	}
	// A reformatted file with the same content as the latest: no version.
	file3 := append([]byte(" "), file2...)
	if v3, changed, err := s.ApplySiteFile(ctx, edited, file3); err != nil || changed || v3 != v {
		t.Fatalf("reformatted file: %+v %v %v", v3, changed, err)
	}
}

func testPlanImage(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.PlanImage(ctx, "demo"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no image: %v", err)
	}
	img := store.PlanImage{ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n\x00\xff binary"), Updated: 5}
	fatalIf(t, s.PutPlanImage(ctx, "demo", img))
	got, err := s.PlanImage(ctx, "demo")
	fatalIf(t, err)
	if !reflect.DeepEqual(got, img) {
		t.Fatalf("image %+v, want %+v", got, img)
	}
	img2 := store.PlanImage{ContentType: "image/svg+xml", Data: []byte("<svg/>"), Updated: 6}
	fatalIf(t, s.PutPlanImage(ctx, "demo", img2))
	got, err = s.PlanImage(ctx, "demo")
	fatalIf(t, err)
	if !reflect.DeepEqual(got, img2) {
		t.Fatalf("replaced image %+v, want %+v", got, img2)
	}
}

func testSensorHealth(t *testing.T, s store.Store) {
	ctx := context.Background()
	hs := []store.SensorHealth{
		{Site: "demo", Sensor: "s2", LastSeen: 10, Batches: 3, Observations: 300, Rejected: 1, Lost: 2,
			ClockOffsetMs: -250, State: store.StateOnline, Version: "0.3.0"},
		{Site: "demo", Sensor: "s1", LastSeen: 11, State: store.StateOffline},
		{Site: "other", Sensor: "s1", LastSeen: 12, State: store.StateOnline},
	}
	fatalIf(t, s.UpsertSensorHealth(ctx, hs))
	hs[1].Batches, hs[1].State, hs[1].ClockOffsetMs = 7, store.StateOnline, 600000
	fatalIf(t, s.UpsertSensorHealth(ctx, hs[1:2]))
	got, err := s.SensorHealth(ctx, "demo")
	fatalIf(t, err)
	want := []store.SensorHealth{hs[1], hs[0]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("health\n got %+v\nwant %+v", got, want)
	}
}
