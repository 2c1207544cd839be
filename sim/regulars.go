package sim

import (
	"math/rand/v2"
	"slices"
)

// Regulars are shoppers who come back: a pool of people whose phones keep
// their MAC address, drawn from a seed of the pool's own, so that shops
// run for several days (one Shop a day, each with a seed of its own) share
// the pool and its phones, and a server sees the same pseudonym on another
// day: returning visitors and loyalty. Some come more often than others:
// the pool's first tenth is picked six times as often as its last six
// tenths, the three tenths between twice as often. Config.Regulars nil
// (the default) leaves the world as it was.
type Regulars struct {
	Seed  uint64  // the pool's seed: the same seed, the same people and phones
	N     int     // people in the pool
	Share float64 // share of the shoppers who are one of the pool, drawn per shopper
}

// regular is one person of the pool and their phone.
type regular struct {
	model *phoneModel
	mac   [6]byte
	tx    float64
}

// regularPool is a Shop's view of Config.Regulars: the pool, and the
// stream (of the day's seed) that picks who of it comes.
type regularPool struct {
	cfg    *Regulars
	people []regular
	cum    []float64 // cumulative weights of people
	pick   *rand.Rand
}

func newRegularPool(cfg *Regulars, daySeed uint64, txDB float64) *regularPool {
	if cfg == nil {
		return nil
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x4e6a1a45))
	p := &regularPool{cfg: cfg, pick: rand.New(rand.NewPCG(daySeed, 0x4e6a1a46))}
	w := 0.0
	for i := range cfg.N {
		switch {
		case i < cfg.N/10:
			w += 6
		case i < cfg.N*4/10:
			w += 2
		default:
			w++
		}
		p.cum = append(p.cum, w)
		m := pickModel(r)
		g := regular{model: m, tx: txDB * r.NormFloat64()}
		g.mac = [6]byte{m.oui[0], m.oui[1], m.oui[2], byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
		p.people = append(p.people, g)
	}
	return p
}

// next returns the regular a new shopper is, or nil (a stranger).
func (p *regularPool) next() *regular {
	if p == nil || len(p.people) == 0 || p.pick.Float64() >= p.cfg.Share {
		return nil
	}
	u := p.pick.Float64() * p.cum[len(p.cum)-1]
	i, _ := slices.BinarySearch(p.cum, u)
	return &p.people[min(i, len(p.people)-1)]
}
