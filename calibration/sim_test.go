package calibration

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// TestCalibrateInSimulator calibrates a simulated supermarket (package sim:
// true exponent 0.4 above the site's default, per-sensor gain errors,
// per-phone transmit offsets, correlated shadowing, clock offsets) from an
// hour of reference devices with known positions (the shoppers' and staff's
// phones, positions from the simulator's truth), and measures the position
// error of the next hour's shoppers with the site's defaults and with the
// calibrated values.
func TestCalibrateInSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates two hours of a shop")
	}
	shop := simtest.Shop(t, "large", sim.Config{Seed: 5, PassersPerHour: 30, ShoppersPerHour: 40})
	site := shop.Site()
	from := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	mid := from.Add(time.Hour).UnixMilli()
	truth := &sim.Truth{}
	bs := simtest.Batches(t, shop, from, from.Add(2*time.Hour), truth)
	train, test := simtest.Sent(bs, math.MinInt64, mid), simtest.Sent(bs, mid, math.MaxInt64)
	// Walk marks: where every in-store phone was at each burst of the first hour.
	var marks []wire.WalkMark
	inStore := func(x, y float64) bool { return y >= 0 }
	for _, b := range truth.Bursts {
		if b.T < mid-5000 && b.Class != "passerby" && inStore(b.X, b.Y) {
			d := b.Dev
			marks = append(marks, wire.WalkMark{T: b.T, Dev: &d, X: b.X, Y: b.Y})
		}
	}
	walk, err := NewWalk(marks, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewCollector(site, walk, nil)
	for _, b := range train {
		c.Add(b)
	}
	d := c.Data()
	rep, err := Calibrate(d, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	rep.WriteText(&buf)
	t.Logf("%d marks\n%s", len(marks), buf.String())

	// The second hour's shoppers, located with both models.
	errs := func(s *wire.Site) []float64 {
		return shopperErrors(t, s, truth, test, mid, func(sim.BurstTruth) bool { return true })
	}
	before, after := errs(site), errs(rep.Calibrated)
	mb, ma := median(before), median(after)
	t.Logf("next hour's shoppers (%d bursts): median %.2f m -> %.2f m (%.0f%% better)", len(before), mb, ma, 100*(1-ma/mb))
	if len(before) < 100 || ma > mb {
		t.Errorf("calibration made the next hour worse: %.2f -> %.2f m", mb, ma)
	}
	// The crowd's phones differ in transmit power and their shadowing is
	// correlated over a visit, so single sensors scatter; their median
	// exponent must come near the world's (0.3: a crowd is no single-phone
	// walk, whose tolerance of 0.2 TestCalibrateSeeds checks).
	var ex []float64
	for _, s := range rep.Sensors {
		ex = append(ex, s.Fit.Exponent)
	}
	if me := median(ex); math.Abs(me-(site.Radio.Exponent+0.4)) > 0.3 {
		t.Errorf("median fitted exponent %.2f, truth %.2f", me, site.Radio.Exponent+0.4)
	}
}
