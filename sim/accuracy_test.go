package sim

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestAccuracyTable prints the accuracy and linking tables of every layout
// (PASSANT_ACCURACY=hours to run; the figures in docs/locate.md).
func TestAccuracyTable(t *testing.T) {
	h, err := strconv.ParseFloat(os.Getenv("PASSANT_ACCURACY"), 64)
	if err != nil {
		t.Skip("set PASSANT_ACCURACY=<hours> to print the accuracy tables")
	}
	var rs []*Accuracy
	for _, l := range Layouts() {
		r, err := RunAccuracy(context.Background(), l, Config{Seed: 1}, h, nil)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	var b strings.Builder
	WriteTable(&b, rs)
	b.WriteString("\n")
	WriteBreakdown(&b, rs)
	b.WriteString("\n")
	WriteLinking(&b, rs)
	t.Log("\n" + b.String())
}

// TestLocatorBeatsBaselines guards the locator's lead on two shops: on the
// same simulated bursts its median error is below both baselines', and it
// puts more fixes on the right side of the front.
func TestLocatorBeatsBaselines(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates two shop-hours")
	}
	for _, l := range []string{"large", "narrow"} {
		r, err := RunAccuracy(context.Background(), l, Config{Seed: 2}, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]*Method{}
		for _, m := range r.Methods {
			by[m.Name] = m
		}
		p, c, s := by["passant"], by["weighted centroid"], by["strongest sensor"]
		t.Logf("%s: median %.2f m (centroid %.2f, strongest %.2f); side %d/%d (centroid %d)", l,
			p.Quantile(0.5), c.Quantile(0.5), s.Quantile(0.5), p.Side, p.Sides, c.Side)
		if p.Quantile(0.5) >= min(c.Quantile(0.5), s.Quantile(0.5)) {
			t.Errorf("%s: median %.2f m, not below the baselines' %.2f and %.2f", l, p.Quantile(0.5), c.Quantile(0.5), s.Quantile(0.5))
		}
		if p.Side <= c.Side {
			t.Errorf("%s: %d fixes on the right side, the centroid %d", l, p.Side, c.Side)
		}
		if r.Merged*10 > r.Tracks {
			t.Errorf("%s: %d of %d tracks merge two people", l, r.Merged, r.Tracks)
		}
	}
}
