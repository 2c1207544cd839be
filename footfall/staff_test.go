package footfall_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/locate"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// staffBurst is one scripted probe burst: who sent it and what a sensor
// ring would hear.
type staffBurst struct {
	who string
	b   *locate.Burst
}

// TestStaffPhoneOneTrack follows a staff phone at the till of the small
// shop for five hours through the tracker into footfall. It takes a new
// MAC and a new sequence number with every burst (20 to 30 s apart), as
// many phones do, so each burst must be linked to the one before. Twice an
// hour a shopper's phone of the same model is first heard right beside it,
// 20 s after a staff burst, with the signal another phone has there (its
// own transmit power and shadowing), most often takes the staff phone's
// track and walks off; once an hour the staff phone's new sequence number
// happens to continue the counter of a phone of its model passing on the
// street. Over eight such days, before links could be contested (and
// before a sequence number's continuity could be outweighed), the staff
// phone ended in 10 to 13 tracks a day and was never counted as staff.
// Now it must end in at most 4 tracks a day, 10 extra tracks in all (a
// contest is lost where the shopper's phone happens to sound as much like
// the staff phone as the staff phone's own next burst does: 3 of the 8
// days end with one track, 4 with two). Its tracks follow each other at
// the till, so the report counts them as one staff chain: staff (once) on
// every day (3 of 8 before staff chains), and at most one visitor holding
// its bursts in the 8 days.
func TestStaffPhoneOneTrack(t *testing.T) {
	var extra, staffDays, visitors int
	for seed := uint64(1); seed <= 8; seed++ {
		d := staffDay(t, seed)
		t.Logf("seed %d: staff phone on %d tracks (%d of %d bursts elsewhere), %d staff, %d visitors of its bursts",
			seed, d.tracks, d.elsewhere, d.bursts, d.staff, d.visitors)
		if d.tracks > 4 {
			t.Errorf("seed %d: the staff phone on %d tracks, want at most 4", seed, d.tracks)
		}
		if d.staff > 1 {
			t.Errorf("seed %d: %d staff counted", seed, d.staff)
		}
		if d.staff == 1 {
			staffDays++
		}
		extra += d.tracks - 1
		visitors += d.visitors
	}
	if extra > 10 || staffDays < 8 || visitors > 1 {
		t.Errorf("%d extra tracks of the staff phone in 8 days, staff on %d days, %d visitors of its bursts; want at most 10, 8 and 1", extra, staffDays, visitors)
	}
}

// staffDayResult is what became of the staff phone on one scripted day.
type staffDayResult struct {
	bursts, tracks, elsewhere int // its bursts, the tracks holding them, and the bursts not in the main one
	staff, visitors           int // staff counted by the report that day; visitor tracks holding its bursts
}

func staffDay(t *testing.T, seed uint64) staffDayResult {
	l, err := sim.LayoutNamed("small")
	if err != nil {
		t.Fatal(err)
	}
	site := &l.Site
	m, err := locate.NewModel(site)
	if err != nil {
		t.Fatal(err)
	}
	plan := zones.NewPlan(site)
	rng := rand.New(rand.NewPCG(seed, 8))
	const fp = "00112233445566778899aabbccddeeff"
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, site.Location()).UnixMilli()
	// A phone's bursts: its offset at each sensor (transmit power and
	// shadowing), 1.5 dB of fading left in each sensor's mean.
	at := func(x, y float64, off []float64, ms int64, dev wire.Dev, rnd bool, seq int) *locate.Burst {
		b := &locate.Burst{T: ms, End: ms + 40, Dev: dev, Rand: rnd, FP: fp, SeqFirst: seq, SeqLast: (seq + 2) % 4096}
		for i := range m.Sensors {
			b.Readings = append(b.Readings, locate.Reading{Sensor: i, RSSI: m.Expected(i, x, y) + off[i] + 1.5*rng.NormFloat64(), N: 4})
		}
		return b
	}
	// Another phone differs from the staff phone at each sensor by its
	// transmit power and shadowing: 3 and 3.5 dB apart (the simulator's).
	other := func() []float64 {
		tx := 3 * rng.NormFloat64()
		off := make([]float64, len(m.Sensors))
		for i := range off {
			off[i] = tx + 3.5*rng.NormFloat64()
		}
		return off
	}
	none := make([]float64, len(m.Sensors))
	var bursts []staffBurst
	var dev wire.Dev = 1000
	// The model's rhythm, from a phone that keeps its MAC, on the street
	// before opening.
	for i, ms := 0, t0-30*60_000; i < 40; i, ms = i+1, ms+20_000+rng.Int64N(10_000) {
		bursts = append(bursts, staffBurst{"teacher", at(-8, -5, none, ms, 1, false, -1)})
	}
	// The staff phone.
	var staff []int64
	for ms := t0; ms < t0+5*3600_000; ms += 20_000 + rng.Int64N(10_000) {
		staff = append(staff, ms)
	}
	for _, ms := range staff {
		dev++
		bursts = append(bursts, staffBurst{"staff", at(8.5, 1.5, none, ms, dev, true, rng.IntN(4096))})
	}
	// Shoppers first heard beside the till 20 s after a staff burst (7 s
	// or more before the next), then on their way to the rails and out,
	// one MAC each.
	for k := 0; k < 10; k++ {
		i := slices.IndexFunc(staff, func(ms int64) bool { return ms >= t0+int64(k)*30*60_000+10*60_000 })
		for staff[i+1]-staff[i] < 27_000 {
			i++
		}
		dev++
		who, off := "shopper"+string(rune('a'+k)), other()
		path := [][2]float64{{8.9, 1.5}, {7, 3}, {4, 5}, {2, 5}, {4, 2}, {5, -2}, {10, -4}, {20, -4}}
		for j, p := range path {
			bursts = append(bursts, staffBurst{who, at(p[0], p[1], off, staff[i]+20_000+int64(j)*25_000, dev, true, 100+3*j)})
		}
	}
	// Phones passing on the street whose counter the staff phone's next
	// sequence number happens to continue.
	for k := 0; k < 5; k++ {
		i := slices.IndexFunc(staff, func(ms int64) bool { return ms >= t0+int64(k)*60*60_000+25*60_000 })
		seq := 2000 + 10*k
		for j := 0; j < 4; j++ {
			dev++
			x := -20 + 8*float64(j)
			ms := staff[i] - 35_000 + int64(j)*25_000
			if k := slices.IndexFunc(staff, func(s int64) bool { return s > ms-2000 && s < ms+2000 }); k >= 0 {
				ms = staff[k] + 2000 // not in a staff burst's scan
			}
			bursts = append(bursts, staffBurst{"passer", at(x, -4, none, ms, dev, true, seq)})
			seq += 6
		}
		for _, sb := range bursts {
			if sb.who == "staff" && sb.b.T == staff[i+1] {
				sb.b.SeqFirst, sb.b.SeqLast = seq-6+2+5, seq-6+2+7
			}
		}
	}
	slices.SortStableFunc(bursts, func(a, b staffBurst) int { return int(a.b.T - b.b.T) })

	tr := locate.NewTracker(m, locate.TrackerOptions{})
	c := footfall.NewCounter(site, plan)
	alias := map[string]string{}
	final := func(k string) string {
		for alias[k] != "" {
			k = alias[k]
		}
		return k
	}
	var staffTracks []string
	merges := func() {
		for _, mg := range tr.Merges() {
			c.Merge(mg.From, mg.Into)
			alias[mg.From] = mg.Into
		}
	}
	for _, sb := range bursts {
		p := tr.Add(sb.b)
		merges()
		tr.Expire(sb.b.T)
		merges()
		p.Zone = plan.Innermost(p.X, p.Y)
		c.Add(p)
		if sb.who == "staff" {
			staffTracks = append(staffTracks, p.Track)
		}
	}
	c.Flush()
	days, visits := c.TrackDays(), c.Visits()
	classes := footfall.Classes(site, days, visits)
	lo, hi := days[0].First, days[0].Last
	for _, d := range days {
		lo, hi = min(lo, d.First), max(hi, d.Last)
	}
	from, to := footfall.HourSpan(lo, hi, site.Location())
	rep := footfall.Build(site, from, to, days, visits, nil, footfall.History{})
	held := map[string]int{}
	for _, k := range staffTracks {
		held[final(k)]++
	}
	r := staffDayResult{bursts: len(staffTracks), tracks: len(held)}
	most := 0
	for _, n := range held {
		most = max(most, n)
	}
	r.elsewhere = r.bursts - most
	r.staff = rep.Totals.Staff
	for k, cl := range classes {
		if held[k] > 0 && cl == footfall.Visitor {
			r.visitors++
		}
	}
	return r
}
