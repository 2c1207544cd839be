package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/ingest"
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
// beyond first-time, and the heatmap of the past days is not empty. Today's
// hours before the warm-up have people too when the shop was open then.
func TestDemoHistory(t *testing.T) {
	base := sharedDemo(t) // waits for today's live figures: the history is through
	var s wire.Site
	if err := get(base+"/api/sites/"+site, &s); err != nil {
		t.Fatal(err)
	}
	// The demo's today is the day it started on, not the test's (a local
	// midnight may have passed while the demo warmed up).
	now := shared.started.In(s.Location())
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
	todayBeforeWarmup(t, base, &s)
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

// TestTodaySpan: today's part before the warm-up runs from today's opening
// to the warm-up or to closing, whichever is first; none on a closed day or
// before opening.
func TestTodaySpan(t *testing.T) {
	shop, err := sim.NewShop("small", sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	site := shop.Site() // Europe/Berlin, mon-sat 09:00-20:00
	berlin := site.Location()
	at := func(day, h, m int) time.Time { return time.Date(2026, 12, day, h, m, 0, 0, berlin) }
	for _, c := range []struct {
		now   time.Time // Saturday the 5th, Sunday the 6th
		hours float64
		want  string
	}{
		{at(5, 17, 7), 0, "2026-12-05 09:00-16:57"},
		{at(5, 17, 7), 3, "2026-12-05 13:57-16:57"},
		{at(5, 8, 30), 0, ""},
		{at(5, 9, 5), 0, ""}, // the warm-up starts before opening
		{at(5, 9, 40), 0, "2026-12-05 09:00-09:30"},
		{at(5, 23, 0), 0, "2026-12-05 09:00-20:00"},
		{at(5, 23, 0), 3, "2026-12-05 17:00-20:00"},
		{at(6, 12, 0), 0, ""}, // Sunday: closed
	} {
		got := ""
		if d, ok := todaySpan(site, c.now, c.now.Add(-10*time.Minute), c.hours); ok {
			got = d.date + " " + d.from.In(berlin).Format("15:04") + "-" + d.to.In(berlin).Format("15:04")
		}
		if got != c.want {
			t.Errorf("at %s, %g h: %q, want %q", c.now.Format("Mon 15:04"), c.hours, got, c.want)
		}
	}
}

// TestSpoolGathersToday: the live shop's batches before the seam go out
// gathered into batches of historyBatchEvery, in frame order, and every
// sensor's batches are numbered 1, 2, 3, ... across the seam; no
// observation is lost or sent twice.
func TestSpoolGathersToday(t *testing.T) {
	shop, err := sim.NewShop("small", sim.Config{Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	seam := from.Add(20 * time.Minute)
	var shopObs, shopEarly, early, late int
	last := map[string]int64{}  // batch number per sensor
	lastT := map[string]int64{} // frame time per sensor before the seam
	check := func(phase string, n *int) sim.Emit {
		return func(id string, b *wire.Batch) error {
			if b.ID != last[id]+1 {
				t.Fatalf("%s: sensor %s batch %d after %d", phase, id, b.ID, last[id])
			}
			last[id] = b.ID
			if phase == "early" {
				if b.Sent >= seam.UnixMilli() {
					t.Fatalf("a gathered batch sent at %d, after the seam", b.Sent)
				}
				for _, o := range b.Obs {
					if o.T < lastT[id] {
						t.Fatalf("sensor %s: frame at %d after one at %d", id, o.T, lastT[id])
					}
					lastT[id] = o.T
				}
			}
			*n += len(b.Obs)
			if phase == "early" {
				early++
			} else {
				late++
			}
			return nil
		}
	}
	var nEarly, nLate int
	sp := newSpool(seam, check("early", &nEarly), check("late", &nLate))
	err = shop.Run(context.Background(), from, seam.Add(5*time.Minute), func(id string, b *wire.Batch) error {
		shopObs += len(b.Obs)
		if b.Sent < seam.UnixMilli() {
			shopEarly++
		}
		return sp.emit(id, b)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if nEarly+nLate != shopObs || nEarly == 0 || nLate == 0 {
		t.Fatalf("the shop sent %d observations; %d went before the seam, %d after", shopObs, nEarly, nLate)
	}
	// 20 minutes of 4 sensors' batches, gathered by 10 s: at most 4×121.
	if early > 4*121 || 3*early > shopEarly {
		t.Errorf("%d gathered batches of the shop's %d for 20 minutes of 4 sensors", early, shopEarly)
	}
	t.Logf("%d observations: %d in %d gathered batches (of %d), %d in %d batches after the seam", shopObs, nEarly, early, shopEarly, nLate, late)
}

// todayBeforeWarmup checks today's report of the shared demo in the hours
// before its warm-up: when the shop was open in them (todaySpan), the live
// shop played them first, so the hours fully inside have passers-by and
// visitors; when not, they have nobody.
func todayBeforeWarmup(t *testing.T, base string, s *wire.Site) {
	t.Helper()
	seam := shared.started.Add(-sharedWarmup) // the demo's warm-up starts after it
	span, open := todaySpan(s, shared.started, seam, sharedHistoryHours)
	date := shared.started.In(s.Location()).Format(time.DateOnly)
	var rep wire.Report
	if err := get(base+"/api/sites/"+site+"/report?from="+date+"&to="+date, &rep); err != nil {
		t.Fatal(err)
	}
	limit := seam
	if open {
		limit = span.to
	}
	var hours, passers, visitors int
	for _, h := range rep.Hours {
		start, end := time.UnixMilli(h.Start), time.UnixMilli(h.Start).Add(time.Hour)
		if end.After(limit) || open && start.Before(span.from) {
			continue
		}
		if h.Passersby > 0 || h.Visitors > 0 {
			t.Logf("today %s: %d passers-by, %d visitors", start.In(s.Location()).Format("15:04"), h.Passersby, h.Visitors)
		}
		hours++
		passers += h.Passersby
		visitors += h.Visitors
	}
	switch {
	case !open && passers+visitors > 0:
		t.Errorf("today before the warm-up (%s): closed, yet %d passers-by and %d visitors", seam.Format("15:04"), passers, visitors)
	case open && hours == 0:
		t.Logf("today's part %s–%s holds no whole hour: not checked", span.from.Format("15:04"), span.to.Format("15:04"))
	case open && (passers < 50 || visitors < 5):
		t.Errorf("today's %d whole hours of %s–%s before the warm-up: %d passers-by, %d visitors", hours,
			span.from.Format("15:04"), span.to.Format("15:04"), passers, visitors)
	}
}

var errLive = errors.New("the live part")

// TestTodayIsDeterministic: today's part is the live shop from today's
// opening, so for a seed and date its frames do not depend on when the demo
// starts: two demos started 20 minutes apart send the same frames up to the
// earlier one's warm-up; another seed sends others.
func TestTodayIsDeterministic(t *testing.T) {
	shop, _ := sim.NewShop("small", sim.Config{})
	site := shop.Site()
	berlin := site.Location()
	cut := time.Date(2026, 12, 5, 9, 55, 0, 0, berlin).UnixMilli()
	play := func(seed uint64, seam time.Time) []byte {
		today, ok := todaySpan(site, seam.Add(10*time.Minute), seam, 0)
		if !ok || today.from.In(berlin).Format("15:04") != "09:00" {
			t.Fatalf("today before %s: %+v", seam, today)
		}
		cfg := Config{Seed: seed, Layout: "small", Busy: 3}
		live, err := liveShop(cfg, site, true, false, today, seam)
		if err != nil {
			t.Fatal(err)
		}
		frames := map[string][]byte{}
		sp := newSpool(seam, func(id string, b *wire.Batch) error {
			for _, o := range b.Obs {
				if o.T < cut {
					frames[id] = fmt.Appendf(frames[id], "%+v\n", o)
				}
			}
			return nil
		}, func(string, *wire.Batch) error { return errLive })
		// The demo's run has no end (its staff's shifts depend on it).
		if err := live.Run(context.Background(), today.from, seam.Add(365*24*time.Hour), sp.emit, nil); !errors.Is(err, errLive) {
			t.Fatal(err)
		}
		var out []byte
		for _, id := range []string{"s1", "s2", "s3", "s4"} {
			out = append(append(out, id...), frames[id]...)
		}
		return out
	}
	seam := time.Date(2026, 12, 5, 10, 0, 0, 0, berlin)
	a, b, c := play(1, seam), play(1, seam.Add(20*time.Minute)), play(2, seam)
	if len(a) < 1000 || !bytes.Equal(a, b) {
		t.Fatalf("seed 1, warm-up at 10:00 and 10:20: %d and %d bytes of frames before 09:55, not the same", len(a), len(b))
	}
	if bytes.Equal(a, c) {
		t.Fatal("seeds 1 and 2 gave the same morning")
	}
}

// TestHasJournal: the demo sends no history into a data directory whose
// journal (as the server writes it) holds a file of the site; another
// site's journal, or none, leaves the history on.
func TestHasJournal(t *testing.T) {
	dir := t.TempDir()
	if hasJournal(dir, "shop") {
		t.Fatal("an empty data directory has a journal")
	}
	j, err := ingest.OpenJournal(filepath.Join(dir, "journal"), 0)
	if err != nil {
		t.Fatal(err)
	}
	b := &wire.Batch{V: wire.Version, Sensor: "s1", Sent: 1764850000000, Obs: []wire.Observation{}}
	if err := j.Append("shop", 1764850000150, b); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if !hasJournal(dir, "shop") {
		t.Error("the journal of site shop is not found")
	}
	if hasJournal(dir, "other") {
		t.Error("site other has a journal: only shop's was written")
	}
}
