package demo

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// TestHistoryDays: the history's days are the opening hours of the days
// before today in the site's time zone, closed days left out.
func TestHistoryDays(t *testing.T) {
	shop, err := sim.NewShop("small", sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	site := shop.Site() // Europe/Berlin, mon-sat 09:00-20:00
	berlin := site.Location()
	// Monday 30 November, 00:30 in Berlin (still Sunday in UTC).
	now := time.Date(2026, 11, 30, 0, 30, 0, 0, berlin)
	days := historyDays(site, now, 7, 0)
	var got []string
	for _, d := range days {
		got = append(got, d.date+" "+d.from.In(berlin).Format("15:04")+"-"+d.to.In(berlin).Format("15:04"))
	}
	want := []string{"2026-11-23 09:00-20:00", "2026-11-24 09:00-20:00", "2026-11-25 09:00-20:00",
		"2026-11-26 09:00-20:00", "2026-11-27 09:00-20:00", "2026-11-28 09:00-20:00"} // Sunday the 29th closed
	if len(got) != len(want) {
		t.Fatalf("days %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("day %d: %s, want %s", i, got[i], want[i])
		}
	}
	if d := historyDays(site, now, 1, 3); len(d) != 0 {
		t.Errorf("the day before a Monday is a Sunday, closed; got %v", d)
	}
	evening := historyDays(site, now, 2, 3)
	if len(evening) != 1 || evening[0].from.In(berlin).Format("15:04") != "17:00" || evening[0].to.In(berlin).Format("15:04") != "20:00" {
		t.Errorf("3 hours of Saturday: %+v", evening)
	}
}

// TestHistoryIsDeterministic: the same seed gives the same history, batch
// for batch; another seed another one.
func TestHistoryIsDeterministic(t *testing.T) {
	site := func() *wire.Site {
		shop, _ := sim.NewShop("small", sim.Config{})
		return shop.Site()
	}()
	days := historyDays(site, time.Date(2026, 12, 5, 12, 0, 0, 0, site.Location()), 2, 0.5)
	play := func(seed uint64) []byte {
		var out []byte
		cfg := Config{Seed: seed, Layout: "small", Busy: 3, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		err := playHistory(context.Background(), cfg, days, func(id string, b *wire.Batch) error {
			out = append(wire.AppendBatch(append(out, id...), b), '\n')
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b, c := play(1), play(1), play(2)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("two histories of seed 1: %d and %d bytes, not the same", len(a), len(b))
	}
	if bytes.Equal(a, c) {
		t.Fatal("seeds 1 and 2 gave the same history")
	}
}

// TestDemoHistory: the shared demo plays the evenings of the 4 days before
// today first; its footfall report over them shows each open day with
// passers-by and visitors, visitors who came back (the regulars), loyalty
// beyond first-time, and the heatmap of the past days is not empty.
func TestDemoHistory(t *testing.T) {
	base := sharedDemo(t) // waits for today's live figures: the history is through
	var s wire.Site
	if err := get(base+"/api/sites/"+site, &s); err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(s.Location())
	days := historyDays(&s, now, sharedHistory, sharedHistoryHours)
	if len(days) == 0 {
		t.Fatal("no open day in the history")
	}
	first, today := days[0].date, now.Format(time.DateOnly)
	var rep wire.Report
	if err := get(base+"/api/sites/"+site+"/report?from="+first+"&to="+today, &rep); err != nil {
		t.Fatal(err)
	}
	byDate := map[string]wire.Day{}
	for _, d := range rep.Days {
		byDate[d.Date] = d
	}
	for _, d := range days {
		got := byDate[d.date]
		t.Logf("%s: %d passers-by, %d visitors (%d returning)", d.date, got.Passersby, got.Visitors, got.Returning)
		if got.Passersby < 100 || got.Visitors < 10 {
			t.Errorf("%s, open %s–%s: %d passers-by, %d visitors", d.date, d.from.Format("15:04"), d.to.Format("15:04"), got.Passersby, got.Visitors)
		}
	}
	if rep.Totals.Returning == 0 {
		t.Errorf("no returning visitor over %s to %s: %+v", first, today, rep.Totals)
	}
	if rep.Extra == nil || rep.Extra.Loyalty[footfall.FirstTime] >= rep.Totals.Visitors {
		t.Errorf("loyalty: every visitor first-time: %+v", rep.Extra)
	}
	var hm struct {
		Max float64 `json:"max"`
	}
	last := days[len(days)-1].date
	if err := get(base+"/api/sites/"+site+"/heatmap?from="+first+"&to="+last, &hm); err != nil {
		t.Fatal(err)
	}
	if hm.Max <= 0 {
		t.Errorf("the heatmap of %s to %s is empty", first, last)
	}
}
