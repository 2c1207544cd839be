package demo

// Today's earlier part: with the history on, the live shop starts at
// today's opening, not at the warm-up. Its batches up to the warm-up go
// out as the history's do (gathered into batches of historyBatchEvery,
// through the sensors' publishers as fast as the broker takes them), then
// the same shop plays its warm-up and runs in real time: one shop, one
// run, so nobody is counted twice at the seam and nobody vanishes there.
//
// Before the warm-up the shop follows the day's profile (dayProfile),
// within today's opening hours, as the past days do; from the warm-up on
// it runs at the full rates while open (a busy afternoon; hours.go), so
// the last hour of today is busier than the profile.

import (
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// todaySpan returns the part of today (now's local date) that the live
// shop plays before its warm-up, which starts at seam: from today's
// opening to the earlier of its closing and seam, cut to its last hours
// when hours > 0; false when there is none (closed today, or not yet open
// at seam).
func todaySpan(site *wire.Site, now, seam time.Time, hours float64) (shopDay, bool) {
	y, m, d := now.In(site.Location()).Date()
	day, ok := openSpan(site, time.Date(y, m, d, 0, 0, 0, 0, site.Location()))
	if !ok {
		return shopDay{}, false
	}
	if seam.Before(day.to) {
		day.to = seam.In(site.Location())
	}
	if !day.to.After(day.from) {
		return shopDay{}, false
	}
	return day.last(hours), true
}

// todayProfile is the live shop's arrival profile when it plays today's
// earlier part: the day's profile within today's span, none between its
// end (closing) and seam, and live's from seam on.
func todayProfile(site *wire.Site, today shopDay, seam time.Time, live func(int64) float64) func(int64) float64 {
	day := dayProfile(site.Location())
	end, from := today.to.UnixMilli(), seam.UnixMilli()
	return func(ms int64) float64 {
		switch {
		case ms >= from:
			return live(ms)
		case ms < end:
			return day(ms)
		default:
			return 0
		}
	}
}

// spool passes the live shop's batches to the sensors: the ones sent
// before seam gathered per sensor into batches of historyBatchEvery and
// handed to early (throughSensors: as fast as the broker takes them), the
// later ones to late, one by one. It numbers each sensor's batches 1, 2,
// 3, ... as it sends them, so that the gathered batches leave no gap that
// the server would count as loss.
type spool struct {
	seam         int64 // Unix ms
	early, late  sim.Emit
	pending      map[string]*wire.Batch
	first        map[string]int64 // sent of a sensor's first pending batch
	n            map[string]int64 // batches sent per sensor
	batches, obs int64            // gathered batches sent, their observations
}

func newSpool(seam time.Time, early, late sim.Emit) *spool {
	return &spool{seam: seam.UnixMilli(), early: early, late: late,
		pending: map[string]*wire.Batch{}, first: map[string]int64{}, n: map[string]int64{}}
}

// emit is the live shop's sim.Emit.
func (s *spool) emit(id string, b *wire.Batch) error {
	if b.Sent >= s.seam {
		if err := s.flush(id); err != nil {
			return err
		}
		s.n[id]++
		b.ID = s.n[id]
		return s.late(id, b)
	}
	p := s.pending[id]
	if p != nil && b.Sent-s.first[id] >= historyBatchEvery.Milliseconds() {
		if err := s.flush(id); err != nil {
			return err
		}
		p = nil
	}
	if p == nil {
		s.pending[id], s.first[id] = b, b.Sent
		return nil
	}
	// The shop's batches of one sensor follow each other in frame order.
	p.Obs = append(p.Obs, b.Obs...)
	p.Sent = b.Sent
	return nil
}

// flush sends the sensor's pending batch, if any.
func (s *spool) flush(id string) error {
	p := s.pending[id]
	if p == nil {
		return nil
	}
	delete(s.pending, id)
	s.n[id]++
	s.batches++
	s.obs += int64(len(p.Obs))
	p.ID = s.n[id]
	return s.early(id, p)
}
