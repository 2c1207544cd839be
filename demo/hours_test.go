package demo

import (
	"context"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// people counts the simulated people by class and hour of arrival, and the
// staff's latest leaving.
type people struct {
	arrive    map[string]map[int]int // class -> local hour -> arrivals
	staffLeft int64
	loc       *time.Location
}

func (p *people) Burst(*sim.BurstTruth) {}

func (p *people) Person(t *sim.PersonTruth) {
	if p.arrive[t.Class] == nil {
		p.arrive[t.Class] = map[int]int{}
	}
	p.arrive[t.Class][time.UnixMilli(t.Arrive).In(p.loc).Hour()]++
	if t.Class == "staff" {
		p.staffLeft = max(p.staffLeft, t.Leave)
	}
}

// TestLiveShopKeepsHours plays the demo's live shop on a Saturday from
// 19:00 to 23:00, the small shop being open until 20:00: shoppers come
// until closing and none after it, the staff leave soon after closing,
// and the street has fewer passers-by late in the evening. Before, the live shop ran at its full rates whatever the hour
// (the footfall page said "closed now" beside people in the store);
// Config.AlwaysOpen still does.
func TestLiveShopKeepsHours(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates four hours of the shop")
	}
	layout, err := sim.LayoutNamed("small")
	if err != nil {
		t.Fatal(err)
	}
	site := &layout.Site
	loc := site.Location()
	from := time.Date(2026, 12, 5, 19, 0, 0, 0, loc) // a Saturday; open mon-sat 9-20
	closing := from.Add(time.Hour)
	if !site.Open.IsOpen(from) || site.Open.IsOpen(closing) {
		t.Fatalf("the small shop's hours %v: want open at 19:00 and closed at 20:00", site.Open)
	}
	run := func(alwaysOpen bool) *people {
		cfg := Config{Seed: 2, Layout: "small", Busy: 3, AlwaysOpen: alwaysOpen}
		shop, err := liveShop(cfg, site, false, false, shopDay{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		p := &people{arrive: map[string]map[int]int{}, loc: loc}
		err = shop.Run(context.Background(), from, from.Add(4*time.Hour), func(string, *wire.Batch) error { return nil }, p)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := run(false)
	shoppers, passers := p.arrive["shopper"], p.arrive["passerby"]
	t.Logf("arrivals by hour: shoppers %v, passers-by %v, staff %v; staff gone by %s", shoppers, passers,
		p.arrive["staff"], time.UnixMilli(p.staffLeft).In(loc).Format("15:04"))
	if shoppers[19] == 0 {
		t.Errorf("no shopper came between 19:00 and 20:00, the shop open")
	}
	if n := shoppers[20] + shoppers[21] + shoppers[22]; n != 0 {
		t.Errorf("%d shoppers came after closing", n)
	}
	if p.arrive["staff"][19] == 0 || p.staffLeft > closing.Add(30*time.Minute).UnixMilli() {
		t.Errorf("staff %v, gone by %s: want them at work from 19:00 and gone by 20:30", p.arrive["staff"],
			time.UnixMilli(p.staffLeft).In(loc).Format("15:04"))
	}
	if passers[19] == 0 || 2*passers[22] > passers[19] {
		t.Errorf("passers-by %v: want fewer from 22:00 than half of 19:00's", passers)
	}
	always := run(true).arrive["shopper"]
	if always[21]+always[22] == 0 {
		t.Errorf("AlwaysOpen: shoppers %v, want some after closing", always)
	}
}

// staffAt counts the staff at work at each of the times.
type staffAt struct {
	at      []time.Time
	present []int
	loc     *time.Location
	across  int // shifts across midnight
}

func (s *staffAt) Burst(*sim.BurstTruth) {}
func (s *staffAt) Person(t *sim.PersonTruth) {
	if t.Class != "staff" {
		return
	}
	for i, at := range s.at {
		if t.Arrive <= at.UnixMilli() && at.UnixMilli() < t.Leave {
			s.present[i]++
		}
	}
	if time.UnixMilli(t.Arrive).In(s.loc).Day() != time.UnixMilli(t.Leave).In(s.loc).Day() {
		s.across++
	}
}

// TestLiveShopRoundTheClock plays the live shop of a site without opening
// hours (open 24/7) for three days, and with --always-open: the staff are
// at work all the time, in shifts that do not cross midnight. Before,
// they came once, at the start, and left a day later (with --always-open
// ten hours later) for good.
func TestLiveShopRoundTheClock(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates three days of the shop")
	}
	layout, err := sim.LayoutNamed("small")
	if err != nil {
		t.Fatal(err)
	}
	site := layout.Site
	site.Open = nil // 24/7
	loc := site.Location()
	from := time.Date(2026, 12, 7, 10, 30, 0, 0, loc)
	for _, alwaysOpen := range []bool{false, true} {
		cfg := Config{Seed: 3, Layout: "small", Busy: 0.01, AlwaysOpen: alwaysOpen}
		shop, err := liveShop(cfg, &site, false, false, shopDay{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		st := &staffAt{loc: loc}
		for h := 1; h < 72; h += 2 {
			st.at = append(st.at, from.Add(time.Duration(h)*time.Hour))
		}
		st.present = make([]int, len(st.at))
		if err := shop.Run(context.Background(), from, from.Add(72*time.Hour), func(string, *wire.Batch) error { return nil }, st); err != nil {
			t.Fatal(err)
		}
		for i, at := range st.at {
			if st.present[i] == 0 {
				t.Errorf("always-open %v: no staff at %s (staff at the odd hours: %v)", alwaysOpen, at.Format("Mon 15:04"), st.present)
				break
			}
		}
		if st.across != 0 {
			t.Errorf("always-open %v: %d shifts across midnight", alwaysOpen, st.across)
		}
	}
}
