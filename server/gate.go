package server

// How a site runner shares the CPU with ingest: it yields to other
// goroutines every yieldEvery while it locates, and waits before a batch
// while a burst of messages comes in (ingestGate).

import (
	"runtime"
	"time"
)

// yieldEvery is how long a runner locates before it lets the goroutines
// waiting for a CPU run. Go's scheduler preempts a running goroutine only
// every 10 ms, so without it the ingest path (the MQTT client's goroutines,
// the journal's syncer, the acknowledgements), which waits for a CPU at
// every message, queued behind the site runners for up to 10 ms per turn
// while they located a burst: it took 135 batches a second instead of
// thousands (docs/reliability.md).
const yieldEvery = 200 * time.Microsecond

// yield lets other goroutines run if the runner has run for yieldEvery. It
// runs under r.mu, from the pipeline's callbacks (at every fix).
func (r *siteRunner) yield() {
	if now := time.Now(); now.Sub(r.yielded) >= yieldEvery {
		runtime.Gosched()
		r.yielded = time.Now()
	}
}

// yieldToIngest waits while messages come in, so that a burst (a broker
// handing over what it queued, sensors emptying their spools after an
// outage) is journaled and acknowledged first instead of sharing the CPU
// with locating (docs/reliability.md, "Ingest cost").
func (r *siteRunner) yieldToIngest() {
	if sub := r.ingest(); sub != nil {
		r.gate.wait(time.Now, func() { time.Sleep(time.Millisecond) }, sub.Busy)
	}
}

// ingestGate is a runner's budget of waiting for ingest: at most gateMax
// at a time, refilled at gateShare of the time passed, so that a steady
// stream that keeps ingest busy still leaves the runner most of its time.
type ingestGate struct {
	budget time.Duration
	at     time.Time // when the budget was last brought up to date
}

const (
	gateMax   = 2 * time.Second
	gateShare = 0.2
)

// wait sleeps while busy reports true and the budget lasts.
func (g *ingestGate) wait(now func() time.Time, sleep func(), busy func() bool) {
	t := now()
	if g.at.IsZero() {
		g.budget = gateMax
	} else {
		g.budget = min(gateMax, g.budget+time.Duration(gateShare*float64(t.Sub(g.at))))
	}
	g.at = t
	for g.budget > 0 && busy() {
		sleep()
		t = now()
		g.budget -= t.Sub(g.at)
		g.at = t
	}
}
