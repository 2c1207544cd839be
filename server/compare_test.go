package server

// The comparison with an earlier period (web/compare.go) against the real
// store: known people today and on the same weekday a week before, some of
// them after today's time of day.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// twoWeeks is the shop of the comparison tests: a site whose time zone
// puts now at about noon (so that the people before and after now's time
// of day fit in the local day, whenever the test runs), with
//
//   - today, before now: 6 visitors (2 of them regulars of a week ago) and
//     10 passers-by;
//   - the same weekday a week before: 4 visitors and 5 passers-by before
//     the same local time of day, 5 visitors and 5 passers-by after it.
//
// Every visit lasts 8.5 min. Compared fairly, today has 6 visitors against
// 4 (+50 %), not against 9.
type twoWeeks struct {
	site      *wire.Site
	now       time.Time // the site's local now when the data was written
	today     string
	weekAgo   string
	prevHours map[int64]int // visitors of a week ago before now's time, by the start of today's hour they compare with
}

// noonZone returns an Etc/GMT zone in which now is between 12:00 and 13:00.
func noonZone(now time.Time) string {
	n := 12 - now.UTC().Hour()
	switch {
	case n > 0:
		return fmt.Sprintf("Etc/GMT-%d", n)
	case n < 0:
		return fmt.Sprintf("Etc/GMT+%d", -n)
	}
	return "Etc/GMT"
}

// startTwoWeeks starts a server on the embedded store (pg: on PostgreSQL)
// and writes the two weeks' people into its store.
func startTwoWeeks(t *testing.T, pg bool) (*Server, twoWeeks) {
	t.Helper()
	shop := simtest.Shop(t, "small", sim.Config{Seed: 5})
	site := shop.Site()
	site.Timezone = noonZone(time.Now())
	site.Open = nil
	dir := t.TempDir()
	cfg := Config{SiteFiles: []string{simtest.WriteSite(t, dir, site)}, DataDir: dir}
	if pg {
		cfg.DB, cfg.Migrate = storetest.PostgresURL(t), true
	}
	srv, stop := startServer(t, cfg)
	t.Cleanup(stop)
	st, _, err := srv.store.Site(context.Background(), site.Site)
	if err != nil {
		t.Fatal(err)
	}
	loc := st.Location()
	now := time.Now().In(loc)
	weekAgo := now.AddDate(0, 0, -7)
	tw := twoWeeks{site: st, now: now, today: now.Format(time.DateOnly), weekAgo: weekAgo.Format(time.DateOnly), prevHours: map[int64]int{}}
	store := ""
	for _, z := range st.Zones {
		if z.Kind == wire.ZoneStore {
			store = z.ID
		}
	}
	var days []footfall.TrackDay
	var visits []footfall.Visit
	add := func(track string, at time.Time, visitor bool) {
		date := at.Format(time.DateOnly)
		if !visitor {
			days = append(days, footfall.TrackDay{Site: st.Site, Day: date, Track: track, First: at.UnixMilli(), Last: at.Add(time.Minute).UnixMilli(), Fixes: 12})
			return
		}
		days = append(days, footfall.TrackDay{Site: st.Site, Day: date, Track: track, First: at.UnixMilli(), Last: at.Add(10 * time.Minute).UnixMilli(), Fixes: 60})
		visits = append(visits, footfall.Visit{Site: st.Site, Track: track, Zone: store, Start: at.Add(30 * time.Second).UnixMilli(),
			End: at.Add(9 * time.Minute).UnixMilli(), Fixes: 50})
	}
	mins := func(m int) time.Duration { return time.Duration(m) * time.Minute }
	for i, m := range []int{-100, -80, -60, -40, -20, -10} {
		track := fmt.Sprintf("t-v%d", i)
		if i < 2 {
			track = fmt.Sprintf("w-v%d", i) // came a week ago too
		}
		add(track, now.Add(mins(m)), true)
	}
	for i := range 10 {
		add(fmt.Sprintf("t-p%d", i), now.Add(mins(-110+10*i)), false)
	}
	hourOf := func(at time.Time) int64 { // the start of today's hour it compares with
		t := at.AddDate(0, 0, 7)
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc).UnixMilli()
	}
	for i, m := range []int{-100, -70, -40, -10, 10, 40, 70, 100, 130} {
		at := weekAgo.Add(mins(m))
		add(fmt.Sprintf("w-v%d", i), at, true)
		if m < 0 {
			tw.prevHours[hourOf(at)]++
		}
	}
	for i, m := range []int{-90, -75, -50, -30, -5, 20, 45, 60, 80, 120} {
		add(fmt.Sprintf("w-p%d", i), weekAgo.Add(mins(m)), false)
	}
	ctx := context.Background()
	if err := srv.store.WriteTrackDays(ctx, days); err != nil {
		t.Fatal(err)
	}
	if err := srv.store.WriteVisits(ctx, visits); err != nil {
		t.Fatal(err)
	}
	return srv, tw
}

// comparedReport is the report's JSON with its comparison.
type comparedReport struct {
	wire.Report
	Compare *web.Comparison `json:"compare"`
}

// checkTwoWeeksAPI checks the report of today and of the last 7 days
// compared with a week before, and the chain's visitors_prev.
func checkTwoWeeksAPI(t *testing.T, srv *Server, tw twoWeeks) {
	t.Helper()
	from7 := tw.now.AddDate(0, 0, -6).Format(time.DateOnly)
	for _, from := range []string{tw.today, from7} {
		var rep comparedReport
		path := fmt.Sprintf("/api/sites/%s/report?from=%s&to=%s&compare=week", tw.site.Site, from, tw.today)
		if c := callJSON(t, srv, "GET", path, &rep); c != 200 || rep.Compare == nil {
			t.Fatalf("%s: %d, compare %v", path, c, rep.Compare)
		}
		T, C := rep.Totals, rep.Compare.Totals
		if T.Visitors != 6 || T.Passersby != 10 || T.Returning != 2 || C.Visitors != 4 || C.Passersby != 5 || C.Returning != 0 || !rep.Compare.Cut {
			t.Errorf("%s: %d visitors, %d passers-by, %d returning against %d, %d, %d (cut %v); want 6, 10, 2 against 4, 5, 0",
				from, T.Visitors, T.Passersby, T.Returning, C.Visitors, C.Passersby, C.Returning, rep.Compare.Cut)
		}
		// The comparison ends at now's time of day a week before (now is
		// the request's: a little after the data's).
		if end := time.UnixMilli(rep.Compare.To).In(tw.site.Location()); end.Format(time.DateOnly) != tw.weekAgo ||
			end.Before(tw.now.AddDate(0, 0, -7)) || end.After(tw.now.AddDate(0, 0, -7).Add(5*time.Minute)) {
			t.Errorf("%s: the comparison ends at %v, want about %v", from, end, tw.now.AddDate(0, 0, -7))
		}
		// Hour by hour: today's hours against the same hours of a week ago.
		got := map[int64]int{}
		for i, h := range rep.Compare.Hours {
			if h != nil && h.Visitors > 0 {
				got[rep.Hours[i].Start] += h.Visitors
				if h.Start != time.UnixMilli(rep.Hours[i].Start).AddDate(0, 0, -7).UnixMilli() {
					t.Errorf("%s: hour %d (%d) compared with %d", from, i, rep.Hours[i].Start, h.Start)
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tw.prevHours) {
			t.Errorf("%s: a week ago's visitors by today's hours %v, want %v", from, got, tw.prevHours)
		}
		last := rep.Compare.Days[len(rep.Compare.Days)-1]
		if len(rep.Compare.Days) != len(rep.Days) || last == nil || last.Date != tw.weekAgo || last.Visitors != 4 {
			t.Errorf("%s: days %d against %d, the last %+v", from, len(rep.Days), len(rep.Compare.Days), last)
		}
	}
	var chain []web.SiteSummary
	if c := callJSON(t, srv, "GET", "/api/chain", &chain); c != 200 || len(chain) != 1 {
		t.Fatalf("chain: %d %+v", c, chain)
	}
	if s := chain[0]; s.Visitors != 6 || s.VisitorsPrev == nil || *s.VisitorsPrev != 4 || s.PrevDate != tw.weekAgo {
		t.Errorf("chain: %d visitors, %v a week before on %s; want 6 against 4 on %s", s.Visitors, s.VisitorsPrev, s.PrevDate, tw.weekAgo)
	}
}

func TestCompareWithAWeekBefore(t *testing.T) {
	srv, tw := startTwoWeeks(t, false)
	checkTwoWeeksAPI(t, srv, tw)
}

func TestCompareWithAWeekBeforePostgres(t *testing.T) {
	srv, tw := startTwoWeeks(t, true)
	checkTwoWeeksAPI(t, srv, tw)
}
