package calibration

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/wire"
)

func TestAccuracyMap(t *testing.T) {
	site := newWorld().site
	site.Zones = append(site.Zones, wire.Zone{ID: "street", Kind: wire.ZoneOutside, Polygon: []wire.Point{{-2, -8}, {32, -8}, {32, 0}, {-2, 0}}})
	am, err := Accuracy(site, AccuracyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in, out := am.At(15, 5), am.At(15, -7)
	if !(in > 0.3 && in < 4 && out > in) {
		t.Errorf("bound in the store %.2f m, on the street %.2f m", in, out)
	}
	if am.Worst != "store" || len(am.Zones) != 2 {
		t.Errorf("zones %+v worst %q", am.Zones, am.Worst)
	}
	// Fewer sensors: worse everywhere.
	three := cloneSite(site)
	three.Sensors = three.Sensors[:3]
	am3, _ := Accuracy(three, AccuracyOptions{})
	if am3.Zones[0].Mean <= am.Zones[0].Mean {
		t.Errorf("3 sensors %.2f m, 6 sensors %.2f m", am3.Zones[0].Mean, am.Zones[0].Mean)
	}
}

// With every sensor on the left wall, the suggestion goes to the right and
// helps the worst zone.
func TestSuggest(t *testing.T) {
	site := newWorld().site
	site.Sensors = []wire.Sensor{{ID: "a", X: 1, Y: 1, Z: 2.5}, {ID: "b", X: 1, Y: 19, Z: 2.5}, {ID: "c", X: 8, Y: 10, Z: 2.5}}
	site.Zones = append(site.Zones, wire.Zone{ID: "back", Kind: wire.ZoneArea, Polygon: []wire.Point{{22, 2}, {29, 2}, {29, 18}, {22, 18}}})
	am, err := Accuracy(site, AccuracyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sug, err := am.Suggest()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("worst %s: %.2f m -> %.2f m with a sensor at (%.1f, %.1f)", sug.Zone, sug.Before, sug.After, sug.X, sug.Y)
	if am.Worst != "back" || sug.Zone != "back" || sug.X < 18 || sug.After >= 0.8*sug.Before {
		t.Errorf("suggestion %+v (worst %s)", sug, am.Worst)
	}
	var v struct {
		Grid struct {
			NX, NY int
			Unit   string
			Values []float64
		}
		Worst      string
		Suggestion struct{ X, Y float64 }
	}
	if err := json.Unmarshal(am.AppendJSON(nil, sug), &v); err != nil {
		t.Fatal(err)
	}
	if v.Grid.NX*v.Grid.NY != len(v.Grid.Values) || v.Grid.Unit != "m" || v.Worst != "back" || v.Suggestion.X != round(sug.X, 2) {
		t.Errorf("json %+v", v)
	}
	var buf bytes.Buffer
	if err := heatmap.WritePNG(&buf, am.Image(sug, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&buf); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("PASSANT_ARTEFACTS"); dir != "" {
		var b2 bytes.Buffer
		heatmap.WritePNG(&b2, am.Image(sug, nil))
		os.WriteFile(filepath.Join(dir, "accuracy.png"), b2.Bytes(), 0o644)
	}
}

func BenchmarkAccuracy(b *testing.B) {
	site := newWorld().site
	for b.Loop() {
		if _, err := Accuracy(site, AccuracyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSuggest(b *testing.B) {
	site := newWorld().site
	am, _ := Accuracy(site, AccuracyOptions{})
	for b.Loop() {
		if _, err := am.Suggest(); err != nil {
			b.Fatal(err)
		}
	}
}
