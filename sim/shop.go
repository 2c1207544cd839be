// Package sim simulates shops with ground truth: shoppers, passers-by and
// staff walking a floor all day, their phones probing with realistic habits
// (bursts every 15–90 s over channels 1, 6, 11 and some 5 GHz, randomised
// MACs, per-model fingerprints, sequence numbers), heard by sensors through
// a radio world that is a faithful adversary of the locator: log-distance
// path loss with a true exponent other than the site's default, shadowing
// correlated from burst to burst, per-sensor gain errors, per-phone transmit
// offsets, loss through the shop's front, fast fading and sensor clocks off
// by up to ±300 ms. It produces exactly what real nodes send: the contract's
// observation batches, per sensor.
package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/passant/passant/sensor"
	"github.com/passant/passant/wire"
)

// Config sets the simulated world; the zero value gives the defaults.
type Config struct {
	Seed uint64
	// People.
	PassersPerHour  float64 // default 240
	ShoppersPerHour float64 // default 30
	Staff           int     // present all day; default 2 (-1: none)
	PhoneShare      float64 // share of people with a probing phone; default 0.9
	RandShare       float64 // share of phones that randomise their MAC; default 0.75
	// Radio world.
	Exponent float64 // true path-loss exponent; default the site's + 0.4
	// ExponentSD spreads the true exponent per sensor (σ around Exponent,
	// drawn from a stream of its own, so 0 leaves the world unchanged);
	// default 0.
	ExponentSD float64
	// Sensors, when set, fixes the sensors' true radio (by index; a zero
	// field keeps the drawn value): their true rssi_1m for a phone of
	// transmit offset 0 (replacing the site's plus the gain error) and
	// exponent.
	Sensors  []SensorRadio
	ShadowDB float64 // shadowing, dB, correlated burst to burst; default 3.5
	GainDB   float64 // per-sensor gain error; default 2
	TxDB     float64 // per-phone transmit offset; default 3
	FadeDB   float64 // frame-to-frame fading; default 2.5
	// ChannelDB is the per-channel fading (frequency-selective multipath):
	// per phone, sensor and channel an offset of this spread, correlated
	// burst to burst (decorrelating over 0.5 m walked and 10 min);
	// default 3 (real captures: 1.8–4.7 dB, docs/sim.md). Negative: none.
	ChannelDB float64
	Offset5   float64 // true 5 GHz offset; default the site's - 1
	ClockMs   float64 // sensor clocks off uniformly within ±ClockMs; default 300
	Sensitive float64 // weakest frame a sensor hears, dBm; default -90
	LossRate  float64 // share of frames a sensor misses anyway; default 0.1
	// SiteKey is the key the simulated sensors pseudonymise MACs with;
	// default "passant-sim".
	SiteKey []byte
	// BatchEvery is how often each sensor publishes; default 1 s.
	BatchEvery time.Duration
	// Regulars, when set, makes some shoppers people who come back on
	// other days with the same phone (regulars.go).
	Regulars *Regulars
	// Profile, when set, scales the arrival rates of passers-by and
	// shoppers over the day: at time t (Unix ms) the rates are the ones
	// above times Profile(t), in [0, 1]. Arrivals are thinned (drawn at the
	// full rates, kept with probability Profile(t), from a random stream
	// of their own).
	Profile func(t int64) float64
	// Open, when set, is the shop's opening hours (t Unix ms): shoppers
	// arrive only while it is open, and the staff work from each opening
	// to a little after its closing (hours.go), instead of one shift from
	// the run's start. Passers-by are left to Profile.
	Open func(t int64) bool
}

func (c Config) withDefaults(site *wire.Site) Config {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.PassersPerHour, 240)
	def(&c.ShoppersPerHour, 30)
	if c.Staff == 0 {
		c.Staff = 2
	}
	def(&c.PhoneShare, 0.9)
	def(&c.RandShare, 0.75)
	def(&c.Exponent, site.Radio.Exponent+0.4)
	def(&c.ShadowDB, 3.5)
	def(&c.GainDB, 2)
	def(&c.TxDB, 3)
	def(&c.FadeDB, 2.5)
	def(&c.ChannelDB, 3)
	c.ChannelDB = math.Max(c.ChannelDB, 0)
	def(&c.Offset5, site.Radio.Offset5GHz-1)
	def(&c.ClockMs, 300)
	def(&c.Sensitive, -90)
	def(&c.LossRate, 0.1)
	if len(c.SiteKey) == 0 {
		c.SiteKey = []byte("passant-sim")
	}
	if c.BatchEvery <= 0 {
		c.BatchEvery = time.Second
	}
	return c
}

// Shop is one simulated shop. A Shop runs once; make a new one to run again.
type Shop struct {
	layout *Layout
	cfg    Config
	rng    *rand.Rand
	pseud  *sensor.Pseudonymizer

	gain  []float64 // per sensor, dB
	expn  []float64 // true exponent per sensor
	clock []float64 // per sensor, ms
	phase []float64 // publish phase per sensor, ms
	boot  []int64
	ids   []int64
	pend  [][]wire.Observation

	people  []*person
	walkers []*person // scripted walkers, joining the run at its start
	nwalk   int
	nextID  int
	nextPas float64
	nextSho float64

	regulars *regularPool // nil without Config.Regulars
	thin     *rand.Rand   // Config.Profile's stream; nil without one
	wasOpen  bool         // Config.Open at the last step (hours.go)
	// nextShift is when the next crew comes to a shop open round the
	// clock (hours.go).
	nextShift float64
}

// NewShop returns a shop of the named layout (see Layouts).
func NewShop(layout string, cfg Config) (*Shop, error) {
	l, err := LayoutNamed(layout)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults(&l.Site)
	s := &Shop{layout: l, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x9a55a47))}
	s.pseud = sensor.NewPseudonymizer(cfg.SiteKey, sensor.DefaultRotation)
	s.regulars = newRegularPool(cfg.Regulars, cfg.Seed, cfg.TxDB)
	if cfg.Profile != nil {
		s.thin = rand.New(rand.NewPCG(cfg.Seed, 0x7f11e))
	}
	n := len(l.Site.Sensors)
	s.gain, s.clock, s.phase = make([]float64, n), make([]float64, n), make([]float64, n)
	s.boot, s.ids, s.pend = make([]int64, n), make([]int64, n), make([][]wire.Observation, n)
	for i := 0; i < n; i++ {
		s.gain[i] = cfg.GainDB * s.rng.NormFloat64()
		s.clock[i] = uniform(s.rng, -cfg.ClockMs, cfg.ClockMs)
		s.phase[i] = uniform(s.rng, 0, float64(cfg.BatchEvery.Milliseconds()))
	}
	// Per-sensor exponents come from a stream of their own: a world without
	// a spread draws exactly what it drew before.
	er := rand.New(rand.NewPCG(cfg.Seed, 0xe4b0e47))
	s.expn = make([]float64, n)
	for i := range s.expn {
		s.expn[i] = cfg.Exponent
		if cfg.ExponentSD > 0 {
			s.expn[i] += cfg.ExponentSD * er.NormFloat64()
		}
	}
	for i, r := range cfg.Sensors {
		if i >= n {
			break
		}
		if r.RSSI1m != 0 {
			s.gain[i] = r.RSSI1m - l.Site.SensorRadio(i).RSSI1m
		}
		if r.Exponent != 0 {
			s.expn[i] = r.Exponent
		}
	}
	return s, nil
}

// SensorRadio is a sensor's true radio, for Config.Sensors.
type SensorRadio struct {
	RSSI1m   float64 // dBm at 1 m, 2.4 GHz, for a phone of transmit offset 0
	Exponent float64
}

// Site returns the site file of the shop: what the server is told. It
// holds the site's default radio model, not the simulated world's truth.
func (s *Shop) Site() *wire.Site {
	site := s.layout.Site
	return &site
}

// Layout returns the shop's layout.
func (s *Shop) Layout() *Layout { return s.layout }

// Emit receives each batch of a sensor, in arrival order. The batch is the
// caller's to keep.
type Emit func(sensorID string, b *wire.Batch) error

// Run simulates [from, to) as fast as it can.
func (s *Shop) Run(ctx context.Context, from, to time.Time, emit Emit, truth TruthSink) error {
	return s.run(ctx, from, to, 0, emit, truth)
}

// Live simulates from from on, paced at speed times real time (1: real
// time), until ctx ends.
func (s *Shop) Live(ctx context.Context, from time.Time, speed float64, emit Emit, truth TruthSink) error {
	if speed <= 0 {
		speed = 1
	}
	return s.run(ctx, from, time.Unix(1<<40, 0), speed, emit, truth)
}

func (s *Shop) run(ctx context.Context, from, to time.Time, speed float64, emit Emit, truth TruthSink) error {
	if truth == nil {
		truth = &discard{}
	}
	t0, t1 := float64(from.UnixMilli()), float64(to.UnixMilli())
	step := float64(s.cfg.BatchEvery.Milliseconds())
	for i := range s.boot {
		s.boot[i] = int64(t0+s.clock[i]) - int64(s.rng.IntN(3600e3))
	}
	s.nextPas = t0 + s.expo(s.cfg.PassersPerHour)
	s.nextSho = t0 + s.expo(s.cfg.ShoppersPerHour)
	// Staff work shifts of up to 10 hours (a live run gets no more).
	// With opening hours, they come when the shop opens (shifts).
	shiftEnd := math.Min(t1, t0+10*3600e3)
	for i := 0; s.cfg.Open == nil && i < s.cfg.Staff; i++ {
		s.add(newStaff(s.rng, s.layout, t0+uniform(s.rng, 0, 10)*60e3, shiftEnd-uniform(s.rng, 0, 10)*60e3), t0)
	}
	s.people = append(s.people, s.walkers...)
	s.walkers = nil
	start := time.Now()
	for t := t0; t < t1; t += step {
		if err := ctx.Err(); err != nil {
			return err
		}
		if speed > 0 {
			due := start.Add(time.Duration((t - t0) / speed * float64(time.Millisecond)))
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(d):
				}
			}
		}
		s.shifts(t, t1)
		s.spawn(t + step)
		s.probe(t+step, truth)
		if err := s.publish(t, t+step, emit); err != nil {
			return err
		}
		s.retire(t, truth, false)
	}
	s.retire(t1, truth, true)
	return nil
}

type discard struct{}

func (discard) Burst(*BurstTruth)   {}
func (discard) Person(*PersonTruth) {}

// expo draws the gap to the next arrival of a Poisson process, ms.
func (s *Shop) expo(perHour float64) float64 {
	if perHour <= 0 {
		return math.Inf(1)
	}
	return s.rng.ExpFloat64() / perHour * 3600e3
}

// spawn adds the people who arrive before t.
func (s *Shop) spawn(t float64) {
	for s.nextPas < t || s.nextSho < t {
		if s.nextPas <= s.nextSho {
			if s.kept(s.nextPas) {
				s.add(newPasserby(s.rng, s.layout, s.nextPas), s.nextPas)
			}
			s.nextPas += s.expo(s.cfg.PassersPerHour)
		} else {
			if s.open(s.nextSho) && s.kept(s.nextSho) {
				s.add(newShopper(s.rng, s.layout, s.nextSho), s.nextSho)
			}
			s.nextSho += s.expo(s.cfg.ShoppersPerHour)
		}
	}
}

// kept reports whether an arrival at t stays under Config.Profile.
func (s *Shop) kept(t float64) bool {
	return s.thin == nil || s.thin.Float64() < s.cfg.Profile(int64(t))
}

func (s *Shop) add(p *person, t float64) {
	s.nextID++
	p.id = fmt.Sprintf("p%d", s.nextID)
	var reg *regular
	if p.class == Shopper {
		reg = s.regulars.next()
	}
	// A regular always carries their phone; the draws of a stranger's are
	// those of a world without regulars.
	if reg != nil || s.rng.Float64() < s.cfg.PhoneShare {
		m := pickModel(s.rng)
		randomise, tx := s.rng.Float64() < s.cfg.RandShare, s.cfg.TxDB*s.rng.NormFloat64()
		if reg != nil {
			m, randomise, tx = reg.model, false, reg.tx
		}
		p.phone = newPhone(s.rng, m, randomise, tx, len(s.gain))
		if reg != nil {
			p.phone.mac = reg.mac
		}
		for i := range p.phone.shadow {
			p.phone.shadow[i] = s.cfg.ShadowDB * s.rng.NormFloat64()
		}
		p.phone.drawChans(s.rng, s.cfg.ChannelDB, 0)
		p.phone.next = p.start() + uniform(s.rng, 0, m.interval[1])*1000
	}
	s.people = append(s.people, p)
}

// retire reports and drops the people whose path ended before t (all of
// them when final).
func (s *Shop) retire(t float64, truth TruthSink, final bool) {
	keep := s.people[:0]
	for _, p := range s.people {
		if !final && p.end() >= t {
			keep = append(keep, p)
			continue
		}
		pt := PersonTruth{Person: p.id, Class: p.class, Arrive: int64(p.start()), Leave: int64(math.Min(p.end(), t)),
			Visits: []Visit{}}
		for _, v := range p.visits {
			if float64(v.Start) < t {
				v.End = min(v.End, int64(t))
				pt.Visits = append(pt.Visits, v)
			}
		}
		if ph := p.phone; ph != nil {
			pt.Phone, pt.Model, pt.Rand, pt.MACs = true, ph.model.name, ph.rand, ph.macs
		}
		truth.Person(&pt)
	}
	for i := len(keep); i < len(s.people); i++ {
		s.people[i] = nil
	}
	s.people = keep
}
