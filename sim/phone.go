package sim

import (
	"crypto/sha256"
	"math"
	"math/rand/v2"

	"github.com/passant/passant/sensor"
	"github.com/passant/passant/wire"
)

// phoneModel is what every phone of one model shares: its probe request's
// information elements (hence its fingerprint), its probing habits and its
// MAC randomisation policy.
type phoneModel struct {
	name     string
	share    float64 // of phones
	oui      [3]byte // vendor prefix of the global MAC
	ies      []byte  // information elements of its probe requests
	fp       string
	perChan  int        // frames per 2.4 GHz channel in a burst
	fiveG    bool       // also probes channels 36..48
	interval [2]float64 // seconds between bursts, uniform
	macLife  [2]int     // bursts on one random MAC, uniform
	resetSeq bool       // sequence numbers start afresh on each new MAC
	perScan  bool       // a new MAC and sequence number for each channel of a burst (iOS)
}

// ies builds a plausible probe request body for a model: SSID (wildcard),
// supported rates, DS parameter set, extended rates, HT and extended
// capabilities and a vendor element, their bytes varying by model.
func modelIEs(name string, oui [3]byte) []byte {
	h := sha256.Sum256([]byte("passant-sim-model-" + name))
	ies := []byte{0, 0}
	ies = append(ies, 1, 8, 0x02, 0x04, 0x0b, 0x16, 0x0c, 0x12, 0x18, 0x24)
	ies = append(ies, 3, 1, 6)
	ies = append(ies, 50, 4, 0x30, 0x48, 0x60, 0x6c)
	ies = append(ies, 45, 26)
	ies = append(ies, h[:26]...)
	ies = append(ies, 127, 8)
	ies = append(ies, h[26:32]...)
	ies = append(ies, 0, 0x40)
	if h[0]&1 == 1 {
		ies = append(ies, 191, 12) // VHT capabilities
		ies = append(ies, h[4:16]...)
	}
	ies = append(ies, 221, 7, oui[0], oui[1], oui[2], 0x08, h[1], h[2], h[3])
	return ies
}

// models are the simulated phone models, with their market shares.
var models = func() []*phoneModel {
	ms := []*phoneModel{
		{name: "iPhone-15", share: 0.20, oui: [3]byte{0xf0, 0x18, 0x98}, perChan: 2, fiveG: true, interval: [2]float64{20, 60}, macLife: [2]int{1, 1}, resetSeq: true, perScan: true},
		{name: "iPhone-12", share: 0.15, oui: [3]byte{0xf0, 0x18, 0x98}, perChan: 2, fiveG: true, interval: [2]float64{25, 90}, macLife: [2]int{1, 1}, resetSeq: true, perScan: true},
		{name: "Galaxy-S23", share: 0.15, oui: [3]byte{0x8c, 0x79, 0xf5}, perChan: 2, fiveG: true, interval: [2]float64{15, 45}, macLife: [2]int{1, 2}, resetSeq: true},
		{name: "Galaxy-A14", share: 0.12, oui: [3]byte{0x8c, 0x79, 0xf5}, perChan: 1, fiveG: false, interval: [2]float64{30, 90}, macLife: [2]int{3, 10}, resetSeq: true},
		{name: "Pixel-8", share: 0.10, oui: [3]byte{0x3c, 0x28, 0x6d}, perChan: 2, fiveG: true, interval: [2]float64{15, 60}, macLife: [2]int{1, 4}, resetSeq: false},
		{name: "Redmi-Note-12", share: 0.12, oui: [3]byte{0x64, 0x09, 0x80}, perChan: 3, fiveG: false, interval: [2]float64{20, 70}, macLife: [2]int{2, 8}, resetSeq: true},
		{name: "Moto-G54", share: 0.08, oui: [3]byte{0xe0, 0x98, 0x06}, perChan: 1, fiveG: true, interval: [2]float64{30, 90}, macLife: [2]int{1, 6}, resetSeq: false},
		{name: "Nokia-G21", share: 0.08, oui: [3]byte{0x00, 0x1f, 0xdf}, perChan: 2, fiveG: false, interval: [2]float64{15, 50}, macLife: [2]int{2, 5}, resetSeq: true},
	}
	for _, m := range ms {
		m.ies = modelIEs(m.name, m.oui)
		fp, _ := sensor.Fingerprint(m.ies)
		m.fp = wire.FormatFP(fp)
	}
	return ms
}()

func pickModel(rng *rand.Rand) *phoneModel {
	u := rng.Float64()
	for _, m := range models {
		if u < m.share {
			return m
		}
		u -= m.share
	}
	return models[len(models)-1]
}

// phone is one probing phone.
type phone struct {
	model   *phoneModel
	rand    bool    // randomises its MAC
	tx      float64 // transmit offset, dB
	mac     [6]byte
	left    int // bursts left on this MAC
	seq     int
	next    float64           // time of the next burst, ms
	shadow  []float64         // per sensor, dB
	chans   [][nChans]float64 // per-channel fading per sensor, dB
	lastPos wire.Point
	lastT   float64
	macs    int // MACs used
}

func newPhone(rng *rand.Rand, m *phoneModel, randomise bool, tx float64, sensors int) *phone {
	p := &phone{model: m, rand: randomise, tx: tx, seq: rng.IntN(4096), shadow: make([]float64, sensors),
		chans: make([][nChans]float64, sensors), lastT: -1}
	if !randomise {
		p.mac = [6]byte{m.oui[0], m.oui[1], m.oui[2], byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}
		p.macs = 1
	}
	return p
}

// newMAC gives the phone a fresh locally administered address when due.
func (p *phone) newMAC(rng *rand.Rand) {
	if !p.rand || p.left > 0 {
		return
	}
	for i := range p.mac {
		p.mac[i] = byte(rng.Uint32())
	}
	p.mac[0] = p.mac[0]&^0x01 | 0x02
	m := p.model
	p.left = m.macLife[0] + rng.IntN(m.macLife[1]-m.macLife[0]+1)
	if m.resetSeq {
		p.seq = rng.IntN(4096)
	}
	p.macs++
}

// drawChans renews the per-channel fading as a Gauss–Markov step of
// correlation rho (0: fresh draws) and spread sd; sd 0 draws nothing.
func (p *phone) drawChans(rng *rand.Rand, sd, rho float64) {
	if sd == 0 {
		return
	}
	q := math.Sqrt(1 - rho*rho)
	for i := range p.chans {
		for c := range p.chans[i] {
			p.chans[i][c] = rho*p.chans[i][c] + q*sd*rng.NormFloat64()
		}
	}
}
