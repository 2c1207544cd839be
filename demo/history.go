package demo

// The demo's history: the simulated shop's previous days, sent by its
// sensors through the embedded broker before the live shop starts, so the
// server computes them exactly as if it had run all week (journal, store,
// the live pipeline, the footfall summaries, the heatmap's tiles) and the
// footfall pages show the past days of a busy shop, with regulars who come
// back.
//
// The days go through the live pipeline, in event-time order, before
// today's warm-up, rather than as late data re-processed afterwards: a
// re-processing runs a pipeline of its own, whose track names ("k1",
// "k2", ...) start afresh and would meet the live pipeline's names of
// today, making strangers "returning" and regulars new.
//
// Today's hours before the warm-up are the live shop's own (today.go).

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/passant/passant/sensor"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// historyBatchEvery is how often the history's sensors publish: as nodes
// do that send their spool after a while offline, ten seconds of frames a
// batch (a tenth of the batches of live, for the same frames).
const historyBatchEvery = 10 * time.Second

// historyQueue is how many batches a sensor may have waiting for the
// broker before the history waits for it: it keeps the sensors within
// about historyQueue × historyBatchEvery of each other, well inside the
// two minutes the pipeline lets a sensor lag before its frames come late.
const historyQueue = 4

// regulars is the pool of people who come back (sim.Regulars), of the
// history and of the live shop after it.
func regulars(seed uint64) *sim.Regulars {
	return &sim.Regulars{Seed: seed, N: 150, Share: 0.2}
}

// shopDay is one opening day of the history.
type shopDay struct {
	date     string // local date, YYYY-MM-DD
	from, to time.Time
}

// historyDays returns the opening spans of the days local days before
// now's (oldest first), in the site's time zone and opening hours; closed
// days are left out. hours > 0 cuts each day to its last that many hours
// before closing (the busy evening).
func historyDays(site *wire.Site, now time.Time, days int, hours float64) []shopDay {
	loc := site.Location()
	y, m, d := now.In(loc).Date()
	var out []shopDay
	for k := days; k >= 1; k-- {
		day, ok := openSpan(site, time.Date(y, m, d-k, 0, 0, 0, 0, loc))
		if !ok {
			continue // closed all day
		}
		out = append(out, day.last(hours))
	}
	return out
}

// openSpan returns the opening span of the local day that starts at day
// (midnight in the site's time zone): the opening hours in steps of 15
// minutes, from the first open step to the end of the last; false when the
// shop is closed all day.
func openSpan(site *wire.Site, day time.Time) (shopDay, bool) {
	y, m, d := day.Date()
	next := time.Date(y, m, d+1, 0, 0, 0, 0, day.Location())
	var from, to time.Time
	hours := site.Open.Compile()
	for t := day; t.Before(next); t = t.Add(15 * time.Minute) {
		if hours.IsOpen(t) {
			if from.IsZero() {
				from = t
			}
			to = t.Add(15 * time.Minute)
		}
	}
	return shopDay{date: day.Format(time.DateOnly), from: from, to: to}, !from.IsZero()
}

// last cuts the day to its last hours before its end (hours > 0; else the
// whole day).
func (d shopDay) last(hours float64) shopDay {
	if hours > 0 {
		if cut := d.to.Add(-time.Duration(hours * float64(time.Hour))); cut.After(d.from) {
			d.from = cut
		}
	}
	return d
}

// dayProfile is how busy the shop is at t, relative to the busiest hour
// of a Saturday: quiet mornings, a peak in the late afternoon (local time),
// weekdays quieter than Saturday.
func dayProfile(loc *time.Location) func(int64) float64 {
	week := [7]float64{0.6, 0.7, 0.75, 0.75, 0.8, 0.9, 1} // Sunday .. Saturday
	return func(ms int64) float64 {
		t := time.UnixMilli(ms).In(loc)
		h := float64(t.Hour()) + float64(t.Minute())/60
		return week[t.Weekday()] * (0.3 + 0.7*math.Exp(-math.Pow((h-16.5)/3, 2)))
	}
}

// daySeed is the seed of one day's shop: the demo's seed and the date, so
// a date's shop is the same whenever the demo runs.
func daySeed(seed uint64, date string) uint64 {
	d, _ := time.Parse(time.DateOnly, date)
	return seed ^ uint64(d.Unix()/86400)*0x9e3779b97f4a7c15
}

// playHistory simulates the days and hands their batches to emit, in the
// order the shop emits them, with progress in the log.
func playHistory(ctx context.Context, cfg Config, days []shopDay, emit sim.Emit) error {
	start := time.Now()
	var batches, obs int64
	for i, d := range days {
		c := busier(sim.Config{Seed: daySeed(cfg.Seed, d.date)}, cfg.Busy)
		c.BatchEvery = historyBatchEvery
		c.Regulars = regulars(cfg.Seed)
		c.Profile = dayProfile(d.from.Location())
		shop, err := sim.NewShop(cfg.Layout, c)
		if err != nil {
			return fmt.Errorf("demo: history: %w", err)
		}
		cfg.Log.Info(fmt.Sprintf("history: day %d of %d (%s, %s–%s)", i+1, len(days), d.date,
			d.from.Format("15:04"), d.to.Format("15:04")))
		err = shop.Run(ctx, d.from, d.to, func(id string, b *wire.Batch) error {
			batches++
			obs += int64(len(b.Obs))
			return emit(id, b)
		}, nil)
		if err != nil {
			return fmt.Errorf("demo: history: %w", err)
		}
	}
	cfg.Log.Info("history: sent; the server works through it, then the live shop starts", "days", len(days),
		"batches", batches, "observations", obs, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// throughSensors returns an emit that publishes each batch through its
// sensor's publisher, holding back while that sensor has historyQueue
// batches waiting for the broker.
func throughSensors(ctx context.Context, pubs map[string]*sensor.Publisher) sim.Emit {
	return func(id string, b *wire.Batch) error {
		p := pubs[id]
		for p.Status("online").QueuedBatches >= historyQueue {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		return p.Publish(b)
	}
}
