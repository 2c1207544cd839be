package footfall

import (
	"testing"

	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// Present counts who is in the store now: a shopper who walks out leaves
// the count at the first fix on the street (an open visit counts until
// visit_gap_s has passed), one who falls silent after PresentWithin, and a
// randomising phone's silent track gives way to a newer track of its model
// that began in the store after it: one phone, counted once.
func TestCounterPresent(t *testing.T) {
	site := loadSite(t)
	c := NewCounter(site, zones.NewPlan(site))
	t0 := at(2026, 12, 4, 10, 0, 0)
	for _, p := range stay("out", t0, t0+300_000, 20, aisle) {
		c.Add(p)
	}
	for _, p := range stay("quiet", t0, t0+300_000, 20, till) {
		c.Add(p)
	}
	now := t0 + 300_000
	if got := c.Present(now, PresentWithin); got["store"] != 2 || got["aisle-1"] != 1 || got["till"] != 1 {
		t.Fatalf("two shoppers in the store: %v", got)
	}
	c.Add(wire.Position{T: now + 10_000, Track: "out", X: street[0], Y: street[1], N: 3})
	if got, open := c.Present(now+10_000, PresentWithin), c.Occupancy(); got["store"] != 1 || got["aisle-1"] != 0 || open["store"] != 2 {
		t.Errorf("one walked out: present %v, open visits %v", got, open)
	}
	if got := c.Present(now+PresentWithin, PresentWithin); got["store"] != 1 {
		t.Errorf("silent for PresentWithin: %v", got)
	}
	if got := c.Present(now+PresentWithin+1, PresentWithin); got["store"] != 0 || got["till"] != 0 {
		t.Errorf("silent for longer than PresentWithin: %v", got)
	}

	// A randomising phone's track (model "m") is silent since its last
	// fix; a new track of the model begins in the store after it.
	t1 := t0 + 3600_000
	rnd := func(track string, from, to int64) {
		for _, p := range stay(track, from, to, 20, floor) {
			p.FP, p.Rand = "m", true
			c.Add(p)
		}
	}
	rnd("a", t1, t1+120_000)
	if got := c.Present(t1+130_000, PresentWithin); got["store"] != 1 {
		t.Errorf("before the second address: %v", got)
	}
	rnd("b", t1+140_000, t1+160_000)
	if got := c.Present(t1+160_000, PresentWithin); got["store"] != 1 {
		t.Errorf("one phone under two addresses: %v", got)
	}
	// A phone of another model beside it counts.
	for _, p := range stay("c", t1+100_000, t1+160_000, 20, floor) {
		p.FP, p.Rand = "other", true
		c.Add(p)
	}
	if got := c.Present(t1+160_000, PresentWithin); got["store"] != 2 {
		t.Errorf("two phones of two models: %v", got)
	}
}

// A device that was staff on an earlier day (a printer that keeps its
// address) does not count in the store now from its first fix of the day;
// a shopper beside it does.
func TestCounterKnownStaff(t *testing.T) {
	site := loadSite(t)
	plan := zones.NewPlan(site)
	t0 := at(2026, 12, 3, 9, 0, 0)
	yesterday := NewCounter(site, plan)
	for _, p := range append(stay("printer", t0, t0+5*3600_000, 300, till), stay("shopper", t0, t0+3600_000, 30, aisle)...) {
		yesterday.Add(p)
	}
	yesterday.Flush()
	staff := StaffTracks(site, yesterday.TrackDays(), yesterday.Visits())
	if !staff["printer"] || staff["shopper"] || len(staff) != 1 {
		t.Fatalf("staff tracks %v, want the printer alone", staff)
	}

	t1 := at(2026, 12, 4, 9, 0, 0)
	c := NewCounter(site, plan)
	for _, p := range append(stay("printer", t1, t1+600_000, 300, till), stay("shopper", t1+300_000, t1+600_000, 30, aisle)...) {
		c.Add(p)
	}
	if got := c.Present(t1+600_000, PresentWithin); got["store"] != 2 || got["till"] != 1 {
		t.Errorf("without the earlier days: %v", got)
	}
	report := func() wire.Totals {
		from := at(2026, 12, 4, 0, 0, 0)
		return Build(site, from, from+24*3600_000, c.TrackDays(), c.Visits(), nil, History{}).Totals
	}
	if tot := report(); tot.Visitors != 2 || tot.Staff != 0 {
		t.Errorf("today's provisional report without the earlier days: %d visitors, %d staff", tot.Visitors, tot.Staff)
	}
	c.KnownStaff(staff)
	if got := c.Present(t1+600_000, PresentWithin); got["store"] != 1 || got["till"] != 0 || got["aisle-1"] != 1 {
		t.Errorf("the printer known as staff: %v", got)
	}
	// Today's provisional figures count it as staff from its first fix;
	// once the day is over, the contract's rule alone decides (10 minutes:
	// a visitor).
	if tot := report(); tot.Visitors != 1 || tot.Staff != 1 {
		t.Errorf("today's provisional report, the printer known as staff: %d visitors, %d staff", tot.Visitors, tot.Staff)
	}
	c.Flush()
	if tot := report(); tot.Visitors != 2 || tot.Staff != 0 {
		t.Errorf("the day over: %d visitors, %d staff", tot.Visitors, tot.Staff)
	}
}
