package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/passant/passant/store"
)

// heatTiles lists the site's stored tiles in [from, to) as "start/kind=data".
func heatTiles(t *testing.T, s store.Store, site string, from, to int64) []string {
	t.Helper()
	var got []string
	err := s.ScanHeatTiles(context.Background(), site, from, to, func(h *store.HeatTile) error {
		kind := "all"
		if h.Staff {
			kind = "staff"
		}
		got = append(got, fmt.Sprintf("%d/%s=%s", h.Start-Day0, kind, h.Data))
		return nil
	})
	fatalIf(t, err)
	return got
}

func testHeatTiles(t *testing.T, s store.Store) {
	ctx := context.Background()
	const hr = 3_600_000
	tile := func(start int64, staff bool, data string) store.HeatTile {
		return store.HeatTile{Start: Day0 + start, Staff: staff, Data: []byte(data)}
	}
	fatalIf(t, s.WriteHeatTiles(ctx, "demo", []store.HeatTile{tile(hr, false, "b"), tile(0, true, "as"), tile(0, false, "a"),
		tile(2*hr, false, "")}, true))
	fatalIf(t, s.WriteHeatTiles(ctx, "other", []store.HeatTile{tile(0, false, "o")}, true))
	want := fmt.Sprint([]string{"0/all=a", "0/staff=as", fmt.Sprintf("%d/all=b", hr), fmt.Sprintf("%d/all=", 2*hr)})
	if got := fmt.Sprint(heatTiles(t, s, "demo", Day0, Day0+dayMs)); got != want {
		t.Fatalf("tiles\n got %s\nwant %s", got, want)
	}
	// Without replace a stored tile stays; a new one is written.
	fatalIf(t, s.WriteHeatTiles(ctx, "demo", []store.HeatTile{tile(0, false, "A"), tile(3*hr, false, "d")}, false))
	if got := heatTiles(t, s, "demo", Day0, Day0+hr); fmt.Sprint(got) != "[0/all=a 0/staff=as]" {
		t.Fatalf("a write without replace changed a stored tile: %s", got)
	}
	if got := heatTiles(t, s, "demo", Day0+3*hr, Day0+4*hr); fmt.Sprint(got) != fmt.Sprintf("[%d/all=d]", 3*hr) {
		t.Fatalf("a write without replace of a new tile: %s", got)
	}
	// With replace it goes; binary data comes back whole.
	bin := []byte{0, 1, 2, 0xff, 0x80, 0}
	fatalIf(t, s.WriteHeatTiles(ctx, "demo", []store.HeatTile{{Start: Day0, Data: bin}}, true))
	var back []byte
	fatalIf(t, s.ScanHeatTiles(ctx, "demo", Day0, Day0+1, func(h *store.HeatTile) error {
		if !h.Staff {
			back = bytes.Clone(h.Data)
		}
		return nil
	}))
	if !bytes.Equal(back, bin) {
		t.Fatalf("binary tile % x, want % x", back, bin)
	}
	// A re-processing's delete, the retention's, DeleteDerived's.
	fatalIf(t, s.DeleteHeatTiles(ctx, "demo", Day0+hr, Day0+2*hr))
	if got := heatTiles(t, s, "demo", Day0, Day0+dayMs); len(got) != 4 {
		t.Fatalf("after deleting hour 1: %s", got)
	}
	n, err := s.DeleteHeatBefore(ctx, Day0+hr)
	fatalIf(t, err)
	if n != 3 { // demo's two of hour 0, other's
		t.Fatalf("DeleteHeatBefore deleted %d, want 3", n)
	}
	fatalIf(t, s.DeleteDerived(ctx, "demo", Day0+3*hr, Day0+4*hr))
	if got := heatTiles(t, s, "demo", Day0, Day0+dayMs); fmt.Sprint(got) != fmt.Sprintf("[%d/all=]", 2*hr) {
		t.Fatalf("after the retention and DeleteDerived: %s", got)
	}
}
