package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/passant/passant/wire"
)

// Walker is a scripted phone: an installer walking a calibration route with
// the phone's Wi-Fi settings open (so it probes often), pressing "I'm here"
// at every waypoint. It walks the route, then back, and again, until its
// time is up. Its phone keeps one MAC address, so the walk is one
// pseudonym; the marks it writes are the contract's walk marks.
type Walker struct {
	Route    []wire.Point  // waypoints, in order
	Start    time.Time     // when the walk begins, at Route[0]
	Duration time.Duration // default 10 minutes
	Speed    float64       // walking speed, m/s; default 1
	// Interval is the time between two probe bursts, seconds, uniform
	// within; default 3–6 s (a phone showing its Wi-Fi settings scans
	// every few seconds).
	Interval [2]float64
	// StepSD is how far from each waypoint the installer really passes
	// (σ per axis, m): marks say the waypoint, the phone is off by this;
	// default 0.3 (-1: exactly on it).
	StepSD float64
	// Model names the phone's model (see the people file); default
	// Pixel-8: two frames on each of channels 1, 6, 11 and one on each of
	// 36–48.
	Model string
}

// WalkerTruth is what a scripted walk really was: the phone's pseudonym,
// its transmit offset (the fitted rssi_1m of a calibration on this walk is
// the sensors' true rssi_1m plus TxDB), and the marks it wrote.
type WalkerTruth struct {
	Person string          `json:"person"`
	Dev    wire.Dev        `json:"dev"`
	TxDB   float64         `json:"tx_db"`
	Marks  []wire.WalkMark `json:"-"`
	End    time.Time       `json:"-"`
}

// AddWalker adds a scripted walker to the shop before it runs. The walker
// draws from a random stream of its own (seeded by the shop's seed and its
// number), so the rest of the simulated world is the same with or without
// it. It returns the walk's marks and truth.
func (s *Shop) AddWalker(w Walker) (*WalkerTruth, error) {
	if len(w.Route) == 0 {
		return nil, errors.New("sim: a walker needs a route")
	}
	if w.Start.IsZero() {
		return nil, errors.New("sim: a walker needs a start time")
	}
	if w.Duration <= 0 {
		w.Duration = 10 * time.Minute
	}
	if w.Speed <= 0 {
		w.Speed = 1
	}
	if w.Interval[1] <= 0 {
		w.Interval = [2]float64{3, 6}
	}
	if w.Interval[0] <= 0 || w.Interval[0] > w.Interval[1] {
		return nil, fmt.Errorf("sim: walker probe interval %v", w.Interval)
	}
	switch {
	case w.StepSD == 0:
		w.StepSD = 0.3
	case w.StepSD < 0:
		w.StepSD = 0
	}
	if w.Model == "" {
		w.Model = "Pixel-8"
	}
	var model *phoneModel
	for _, m := range models {
		if m.name == w.Model {
			c := *m
			c.interval = w.Interval
			model = &c
		}
	}
	if model == nil {
		return nil, fmt.Errorf("sim: unknown phone model %q", w.Model)
	}
	s.nwalk++
	rng := rand.New(rand.NewPCG(s.cfg.Seed, 0x3a1c0000+uint64(s.nwalk)))
	t0 := float64(w.Start.UnixMilli())
	end := t0 + float64(w.Duration.Milliseconds())
	p := &person{id: fmt.Sprintf("w%d", s.nwalk), class: Installer, rng: rng}
	ph := newPhone(rng, model, false, s.cfg.TxDB*rng.NormFloat64(), len(s.gain))
	for i := range ph.shadow {
		ph.shadow[i] = s.cfg.ShadowDB * rng.NormFloat64()
	}
	ph.drawChans(rng, s.cfg.ChannelDB, 0)
	ph.next = t0 + uniform(rng, 0, model.interval[1])*1000
	p.phone = ph
	dev, err := s.pseud.Dev(ph.mac, int64(t0))
	if err != nil {
		return nil, fmt.Errorf("sim: walker: %w", err)
	}
	wt := &WalkerTruth{Person: p.id, Dev: dev, TxDB: ph.tx, End: time.UnixMilli(int64(end))}
	mark := func(t float64, q wire.Point) {
		d, err := s.pseud.Dev(ph.mac, int64(t))
		if err != nil {
			panic(err) // the simulator holds the site key
		}
		wt.Marks = append(wt.Marks, wire.WalkMark{T: int64(math.Round(t)), Dev: &d, X: q[0], Y: q[1]})
	}
	off := func(q wire.Point) wire.Point {
		return wire.Point{q[0] + w.StepSD*rng.NormFloat64(), q[1] + w.StepSD*rng.NormFloat64()}
	}
	// The route, then back, and again: each waypoint is passed a little
	// off (StepSD) and marked where the route says.
	route := w.Route
	pt := &path{t: t0, at: off(route[0])}
	mark(t0, route[0])
	for k, dir := 1, 1; ; k += dir {
		if k == len(route) || k < 0 {
			if len(route) == 1 {
				break
			}
			dir = -dir
			k += 2 * dir
		}
		to := off(route[k])
		d := math.Hypot(to[0]-pt.at[0], to[1]-pt.at[1])
		if pt.t+d/w.Speed*1000 > end {
			f := (end - pt.t) / (d / w.Speed * 1000)
			pt.walk(wire.Point{pt.at[0] + f*(to[0]-pt.at[0]), pt.at[1] + f*(to[1]-pt.at[1])}, w.Speed)
			break
		}
		pt.walk(to, w.Speed)
		mark(pt.t, route[k])
	}
	if len(pt.legs) == 0 || pt.t < end {
		pt.pause(end - pt.t)
	}
	p.legs = pt.legs
	s.walkers = append(s.walkers, p)
	wt.Marks = wt.Marks[:len(wt.Marks):len(wt.Marks)]
	return wt, nil
}

// SensorTruth is a simulated sensor's true radio: what a perfect
// calibration with a phone of transmit offset 0 would fit.
type SensorTruth struct {
	ID         string  `json:"id"`
	RSSI1m     float64 `json:"rssi_1m"`     // at 1 m, 2.4 GHz, dBm
	Exponent   float64 `json:"exponent"`    // path-loss exponent
	Offset5GHz float64 `json:"offset_5ghz"` // 5 GHz frames' offset, dB
	GainDB     float64 `json:"gain_db"`     // the sensor's gain error against the site's rssi_1m
}

// Radio returns the sensors' true radio models (the site file says
// otherwise: it holds the defaults).
func (s *Shop) Radio() []SensorTruth {
	site := &s.layout.Site
	out := make([]SensorTruth, len(site.Sensors))
	for i := range site.Sensors {
		r := site.SensorRadio(i)
		out[i] = SensorTruth{ID: site.Sensors[i].ID, RSSI1m: r.RSSI1m + s.gain[i], Exponent: s.expn[i],
			Offset5GHz: s.cfg.Offset5, GainDB: s.gain[i]}
	}
	return out
}
