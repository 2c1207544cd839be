package sim

// The radio side of a shop: the phones' probe bursts, what each sensor
// hears of them through the simulated radio world, and the batches the
// sensors publish.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/passant/passant/wire"
)

// probe sends the bursts that are due before t.
func (s *Shop) probe(t float64, truth TruthSink) {
	for _, p := range s.people {
		ph := p.phone
		if ph == nil {
			continue
		}
		rng := s.rng
		if p.rng != nil {
			rng = p.rng
		}
		for ph.next < t && ph.next <= p.end() {
			s.burst(p, ph.next, truth, rng)
			m := ph.model
			ph.next += uniform(rng, m.interval[0], m.interval[1]) * 1000
		}
	}
}

// Channels of a burst.
var (
	chans24 = []int{1, 6, 11}
	chans5  = []int{36, 40, 44, 48}
)

// nChans is the number of channels a burst uses; chanIndex numbers them.
const nChans = 7

func chanIndex(ch int) int {
	switch ch {
	case 1:
		return 0
	case 6:
		return 1
	case 11:
		return 2
	case 36:
		return 3
	case 40:
		return 4
	case 44:
		return 5
	case 48:
		return 6
	}
	panic(fmt.Sprintf("sim: channel %d", ch))
}

// burst sends one probe burst of p's phone starting at time t (true ms),
// drawing from rng (the shop's, or a scripted walker's own).
func (s *Shop) burst(p *person, t float64, truth TruthSink, rng *rand.Rand) {
	ph := p.phone
	ph.newMAC(rng)
	if ph.rand {
		ph.left--
	}
	pos := p.at(t)
	// Shadowing: a Gauss–Markov process per sensor, correlated over the
	// distance walked (decorrelation 5 m) and over time (10 min).
	if ph.lastT >= 0 {
		moved := math.Hypot(pos[0]-ph.lastPos[0], pos[1]-ph.lastPos[1])
		rho := math.Exp(-moved/5) * math.Exp(-(t-ph.lastT)/600e3)
		q := math.Sqrt(1 - rho*rho)
		for i := range ph.shadow {
			ph.shadow[i] = rho*ph.shadow[i] + q*s.cfg.ShadowDB*rng.NormFloat64()
		}
		// Per-channel fading: the same process, decorrelating over 0.5 m
		// walked (a few wavelengths) and over 10 min.
		ph.drawChans(rng, s.cfg.ChannelDB, math.Exp(-moved/0.5)*math.Exp(-(t-ph.lastT)/600e3))
	}
	ph.lastPos, ph.lastT = pos, t
	// The truth has one line per address used in the burst (phones that
	// change their MAC with every channel use several).
	var bt BurstTruth
	heard := make([]bool, len(s.gain))
	flush := func() {
		for i, h := range heard {
			if h {
				bt.Heard++
			}
			heard[i] = false
		}
		if bt.Heard > 0 {
			truth.Burst(&bt)
		}
	}
	ft := t
	m := ph.model
	frame := func(ch int) {
		pos := p.at(ft)
		dev, err := s.pseud.Dev(ph.mac, int64(ft))
		if err != nil {
			panic(err) // the simulator holds the site key
		}
		if bt.Person == "" || dev != bt.Dev {
			if bt.Person != "" {
				flush()
			}
			bt = BurstTruth{T: int64(ft), Dev: dev, Person: p.id, Class: p.class, X: pos[0], Y: pos[1], Rand: ph.rand, Seq: ph.seq, Tx: ph.tx}
		}
		for i := range s.gain {
			r := s.rssi(i, pos, ch, ph) + s.cfg.FadeDB*rng.NormFloat64()
			if r < s.cfg.Sensitive+rng.NormFloat64() || rng.Float64() < s.cfg.LossRate {
				continue
			}
			r = math.Round(math.Min(r, -10))
			heard[i] = true
			s.pend[i] = append(s.pend[i], wire.Observation{T: int64(math.Floor(ft + s.clock[i])), Dev: dev,
				RSSI: r, Ch: ch, Kind: wire.KindProbe, Rand: ph.rand, Seq: ph.seq, FP: m.fp})
		}
		ph.seq = (ph.seq + 1) % 4096
		ft += uniform(rng, 1, 4)
	}
	for k, ch := range chans24 {
		if k > 0 && m.perScan && ph.rand {
			ph.left = 0
			ph.newMAC(rng)
			ph.seq = rng.IntN(4096)
		}
		for k := 0; k < m.perChan; k++ {
			frame(ch)
		}
		ft += uniform(rng, 15, 40)
	}
	if m.fiveG {
		for _, ch := range chans5 {
			frame(ch)
			ft += uniform(rng, 10, 25)
		}
	}
	ph.seq = (ph.seq + rng.IntN(12)) % 4096 // frames between bursts
	if m.perScan && ph.rand {
		// The next burst starts with a fresh address too: a real iPhone
		// never reuses a scan's address (shared/testdata/captures,
		// probing-iPhone*), so no address links two bursts.
		ph.left = 0
	}
	flush()
}

// rssi is the mean received power at sensor i of a phone at pos on channel
// ch: log-distance with the world's true exponent, the sensor's gain error,
// the phone's transmit offset, shadowing and per-channel fading, and the
// front's loss for paths that cross it.
func (s *Shop) rssi(i int, pos wire.Point, ch int, ph *phone) float64 {
	se := &s.layout.Site.Sensors[i]
	site := &s.layout.Site
	r := site.SensorRadio(i)
	dz := site.Radio.PhoneZ - se.Z
	d := math.Sqrt((pos[0]-se.X)*(pos[0]-se.X) + (pos[1]-se.Y)*(pos[1]-se.Y) + dz*dz)
	d = math.Max(d, 0.3)
	v := r.RSSI1m - 10*s.expn[i]*math.Log10(d) + s.gain[i] + ph.tx + ph.shadow[i] + ph.chans[i][chanIndex(ch)]
	if (pos[1] < 0) != (se.Y < 0) {
		v -= s.layout.FrontDB
	}
	if ch > 14 {
		v += s.cfg.Offset5
	}
	return v
}

// publish emits the batches that the sensors publish in [t, t+step), in
// order of publishing time, each with the frames captured before it.
func (s *Shop) publish(t, end float64, emit Emit) error {
	type due struct {
		at float64
		i  int
	}
	var dues []due
	for i := range s.phase {
		step := end - t
		at := t + math.Mod(s.phase[i], step)
		dues = append(dues, due{at, i})
	}
	sort.Slice(dues, func(a, b int) bool {
		return dues[a].at < dues[b].at || (dues[a].at == dues[b].at && dues[a].i < dues[b].i)
	})
	for _, d := range dues {
		i := d.i
		pend := s.pend[i]
		sort.SliceStable(pend, func(a, b int) bool { return pend[a].T < pend[b].T })
		cut := int64(math.Floor(d.at + s.clock[i]))
		n := sort.Search(len(pend), func(k int) bool { return pend[k].T > cut })
		if n == 0 {
			continue
		}
		obs := make([]wire.Observation, n)
		copy(obs, pend[:n])
		s.pend[i] = append(pend[:0], pend[n:]...)
		s.ids[i]++
		b := &wire.Batch{V: wire.Version, Sensor: s.layout.Site.Sensors[i].ID, Boot: s.boot[i], ID: s.ids[i],
			Sent: cut, Obs: obs}
		if err := emit(b.Sensor, b); err != nil {
			return fmt.Errorf("sim: emit: %w", err)
		}
	}
	return nil
}
