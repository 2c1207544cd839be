package sim

import (
	"bufio"
	"encoding/json"
	"io"
	"math"

	"github.com/passant/passant/wire"
)

// BurstTruth is where a device really was when it sent a probe burst that
// at least one sensor heard: one line of the truth file.
type BurstTruth struct {
	T      int64    `json:"t"` // true time of the burst's first frame, Unix ms
	Dev    wire.Dev `json:"dev"`
	Person string   `json:"person"`
	Class  string   `json:"class"`
	X      float64  `json:"x"`
	Y      float64  `json:"y"`
	Rand   bool     `json:"rand"`
	Seq    int      `json:"seq"`     // sequence number of the first frame
	Heard  int      `json:"sensors"` // sensors that heard at least one frame
	// Tx is the phone's transmit offset, dB (for the Oracle; not written).
	Tx float64 `json:"-"`
}

// Visit is a stay in the store, true times in Unix ms.
type Visit struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// PersonTruth is one simulated person: one line of the people file.
type PersonTruth struct {
	Person string  `json:"person"`
	Class  string  `json:"class"` // shopper, passerby or staff
	Phone  bool    `json:"phone"` // carries a probing phone
	Model  string  `json:"model,omitempty"`
	Rand   bool    `json:"rand"` // the phone randomises its MAC
	MACs   int     `json:"macs"` // addresses it used
	Arrive int64   `json:"arrive"`
	Leave  int64   `json:"leave"`
	Visits []Visit `json:"visits"`
}

// TruthSink receives the ground truth as the simulation runs: bursts in
// order of time, people when they leave (or when the run ends).
type TruthSink interface {
	Burst(*BurstTruth)
	Person(*PersonTruth)
}

// JSONTruth writes the truth as JSON lines: bursts to one writer, people to
// another (either may be nil). Call Flush at the end.
type JSONTruth struct {
	bursts, people *bufio.Writer
	buf            []byte
	err            error
}

// NewJSONTruth returns a sink writing to bursts and people.
func NewJSONTruth(bursts, people io.Writer) *JSONTruth {
	j := &JSONTruth{}
	if bursts != nil {
		j.bursts = bufio.NewWriterSize(bursts, 1<<16)
	}
	if people != nil {
		j.people = bufio.NewWriterSize(people, 1<<16)
	}
	return j
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Burst implements TruthSink.
func (j *JSONTruth) Burst(b *BurstTruth) {
	if j.bursts == nil || j.err != nil {
		return
	}
	c := *b
	c.X, c.Y = round3(c.X), round3(c.Y)
	j.write(j.bursts, &c)
}

// Person implements TruthSink.
func (j *JSONTruth) Person(p *PersonTruth) {
	if j.people == nil || j.err != nil {
		return
	}
	j.write(j.people, p)
}

func (j *JSONTruth) write(w *bufio.Writer, v any) {
	b, err := json.Marshal(v)
	if err == nil {
		b = append(b, '\n')
		_, err = w.Write(b)
	}
	if err != nil && j.err == nil {
		j.err = err
	}
}

// Flush writes out what is buffered and returns the first error.
func (j *JSONTruth) Flush() error {
	for _, w := range []*bufio.Writer{j.bursts, j.people} {
		if w != nil {
			if err := w.Flush(); err != nil && j.err == nil {
				j.err = err
			}
		}
	}
	return j.err
}

// Truth collects the truth in memory (tests, the accuracy benchmark).
type Truth struct {
	Bursts []BurstTruth
	People []PersonTruth
}

// Burst implements TruthSink.
func (t *Truth) Burst(b *BurstTruth) { t.Bursts = append(t.Bursts, *b) }

// Person implements TruthSink.
func (t *Truth) Person(p *PersonTruth) { t.People = append(t.People, *p) }

// matcher returns a function that finds the true burst of dev nearest to t0
// within BurstGap (nil if none).
func (tr *Truth) matcher() func(dev wire.Dev, t0 int64) *BurstTruth {
	byDev := map[wire.Dev][]*BurstTruth{}
	for i := range tr.Bursts {
		t := &tr.Bursts[i]
		byDev[t.Dev] = append(byDev[t.Dev], t)
	}
	return func(dev wire.Dev, t0 int64) *BurstTruth {
		var best *BurstTruth
		for _, t := range byDev[dev] {
			if d := absI(t.T - t0); d <= BurstGap && (best == nil || d < absI(best.T-t0)) {
				best = t
			}
		}
		return best
	}
}
