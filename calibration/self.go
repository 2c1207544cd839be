package calibration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"

	"github.com/passant/passant/wire"
)

// Anchor is a fixed transmitter at a known position: a sensor sending
// probes of its own (passant sensor's transmit mode), a printer, a till.
type Anchor struct {
	Dev wire.Dev `json:"dev"`
	// Devs are further pseudonyms of the same transmitter: pseudonyms
	// change with each key epoch (contract §1), so a long-lived anchor
	// lists the current and the next ones.
	Devs []wire.Dev `json:"devs,omitempty"`
	// ID names it ("s1", "printer").
	ID string  `json:"id,omitempty"`
	X  float64 `json:"x"`
	Y  float64 `json:"y"`
	Z  float64 `json:"z"`
	// TxDB is its transmit power relative to the reference phone, dB (0
	// when unknown; LearnTx estimates it once the site is calibrated).
	TxDB float64 `json:"tx_db,omitempty"`
}

// ParseAnchors reads an anchors file: a JSON array of anchors, or an object
// {"anchors": [...]}.
func ParseAnchors(data []byte) ([]Anchor, error) {
	data = bytes.TrimSpace(data)
	var as []Anchor
	if len(data) > 0 && data[0] == '{' {
		var w struct {
			Anchors []Anchor `json:"anchors"`
		}
		if err := json.Unmarshal(data, &w); err != nil {
			return nil, fmt.Errorf("calibration: anchors: %w", err)
		}
		as = w.Anchors
	} else if err := json.Unmarshal(data, &as); err != nil {
		return nil, fmt.Errorf("calibration: anchors: %w", err)
	}
	seen := map[wire.Dev]bool{}
	for i, a := range as {
		for _, d := range append([]wire.Dev{a.Dev}, a.Devs...) {
			if seen[d] {
				return nil, fmt.Errorf("calibration: anchors[%d]: dev %s given twice", i, d)
			}
			seen[d] = true
		}
		if math.IsNaN(a.X+a.Y+a.Z+a.TxDB) || math.IsInf(a.X+a.Y+a.Z+a.TxDB, 0) || a.Z < 0 {
			return nil, fmt.Errorf("calibration: anchors[%d]: bad position or tx_db", i)
		}
	}
	return as, nil
}

// AnchorDevs returns a test for the pseudonyms of anchors.
func AnchorDevs(anchors []Anchor) func(wire.Dev) bool {
	m := map[wire.Dev]bool{}
	for _, a := range anchors {
		m[a.Dev] = true
		for _, d := range a.Devs {
			m[d] = true
		}
	}
	return func(d wire.Dev) bool { return m[d] }
}

// LoadAnchors reads an anchors file.
func LoadAnchors(path string) ([]Anchor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	return ParseAnchors(data)
}

// SelfFit is one sensor's fit from anchor links at one time; N counts
// links (anchor and band), not frames.
type SelfFit struct {
	ID string `json:"id"`
	Result
}

// Snapshot is the fitted state of every sensor at one time.
type Snapshot struct {
	T       int64     `json:"t"`
	Sensors []SelfFit `json:"sensors"`
}

// Defaults of a SelfFitter.
const (
	DefaultSelfWindow = 24 * 3600 * 1000 // ms of links a fit uses
	maxSelfSamples    = 50_000           // per sensor, newest kept
	selfMinDist       = 1.0              // m: a sensor hearing itself is no link
	SelfSigmaN        = 0.1
)

type timed struct {
	t      int64
	anchor wire.Dev
	band5  bool
	s      Sample
}

// SelfFitter keeps every sensor's radio values fitted continuously from
// what it hears of the anchors, with the same regularised fit as the walk,
// over a sliding window, and keeps the history of its fits to show drift.
// It is safe for concurrent use.
type SelfFitter struct {
	mu      sync.Mutex
	site    *wire.Site
	anchors map[wire.Dev]*Anchor
	sensors map[string]int
	window  int64
	samples [][]timed
	raw     [2][]float64 // recent raw RSSI per band, for the floor
	history []Snapshot
	// MaxHistory, when > 0, is how many snapshots History keeps (the
	// latest); first and last keep each sensor's first and latest fitted
	// rssi_1m with links, for Drift.
	MaxHistory  int
	first, last map[string]float64
	base        map[baseKey]float64 // each link's mean at its first refit (selftx.go)
	latest      map[string]*selfRef // each sensor's state at the latest refit with links (selfapply.go)
	refs        map[string]*selfRef // what its changes are measured from (selfapply.go)
	// SigmaN is the exponent prior's width (default SelfSigmaN). A few
	// fixed links hardly tell a change of exponent from a change of gain;
	// what drifts in a shop is gain (a knocked antenna, a new shelf in the
	// way), so the exponent is held close to the walk's.
	SigmaN float64
}

// NewSelfFitter fits the sensors of site from links to anchors over the
// last window ms (0: DefaultSelfWindow).
func NewSelfFitter(site *wire.Site, anchors []Anchor, window int64) *SelfFitter {
	if window <= 0 {
		window = DefaultSelfWindow
	}
	f := &SelfFitter{SigmaN: SelfSigmaN, site: site, anchors: map[wire.Dev]*Anchor{}, sensors: map[string]int{}, window: window,
		samples: make([][]timed, len(site.Sensors))}
	f.setAnchors(anchors)
	for i, s := range site.Sensors {
		f.sensors[s.ID] = i
	}
	return f
}

// SetAnchors replaces the anchors, keeping the links heard so far and the
// history: anchors come and go (a sensor announces the pseudonym of its
// transmissions for each new key epoch). Links of an anchor no longer
// listed are dropped at the next Refit. An anchor keeps the transmit power
// LearnTx found for it.
func (f *SelfFitter) SetAnchors(anchors []Anchor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setAnchors(anchors)
}

func (f *SelfFitter) setAnchors(anchors []Anchor) {
	old := f.anchors
	f.anchors = make(map[wire.Dev]*Anchor, len(anchors))
	for i := range anchors {
		a := anchors[i]
		if o := old[a.Dev]; o != nil && a.TxDB == 0 {
			a.TxDB = o.TxDB
		}
		for _, d := range append([]wire.Dev{a.Dev}, a.Devs...) {
			f.anchors[d] = &a
		}
	}
}

// Add takes the frames of a batch that come from anchors. A sensor's own
// transmissions (an anchor whose ID is the batch's sensor) are no link.
func (f *SelfFitter) Add(b *wire.Batch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	si, ok := f.sensors[b.Sensor]
	if !ok {
		return
	}
	se := &f.site.Sensors[si]
	for k := range b.Obs {
		o := &b.Obs[k]
		a := f.anchors[o.Dev]
		if a == nil || a.ID == b.Sensor {
			continue
		}
		d := math.Sqrt((a.X-se.X)*(a.X-se.X) + (a.Y-se.Y)*(a.Y-se.Y) + (a.Z-se.Z)*(a.Z-se.Z))
		if d < selfMinDist {
			continue
		}
		r := o.RSSI - a.TxDB
		band := 0
		if o.Band5GHz() {
			r -= f.site.SensorRadio(si).Offset5GHz
			band = 1
		}
		if len(f.raw[band]) >= 20_000 {
			f.raw[band] = append(f.raw[band][:0], f.raw[band][10_000:]...)
		}
		f.raw[band] = append(f.raw[band], o.RSSI)
		ss := append(f.samples[si], timed{t: o.T, anchor: a.Dev, band5: band == 1, s: Sample{RSSI: r, D: d}})
		if len(ss) > maxSelfSamples {
			ss = append(ss[:0], ss[len(ss)-maxSelfSamples/2:]...)
		}
		f.samples[si] = ss
	}
}

// Refit fits every sensor on the links of the window ending at now, records
// the snapshot in the history and returns it. Sensors without links keep
// the site's values (N = 0).
func (f *SelfFitter) Refit(now int64) Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	floors := [2]float64{detectionFloor(append([]float64(nil), f.raw[0]...)), detectionFloor(append([]float64(nil), f.raw[1]...))}
	snap := Snapshot{T: now}
	links := make([][]linkMean, len(f.site.Sensors))
	for i := range f.site.Sensors {
		links[i] = f.linkMeans(i, now)
	}
	tx := f.txChanges(links)
	for i := range f.site.Sensors {
		r := f.site.SensorRadio(i)
		var ss []Sample
		means := map[linkID]float64{}
		for _, l := range links[i] {
			// Less the change of the anchor's own transmit gain, so that
			// a sensor's loss shows at that sensor, not at its hearers.
			s := Sample{RSSI: l.mean - tx[l.anchor], D: l.d, Floor: floors[0]}
			means[linkID{l.anchor, l.band5}] = s.RSSI
			if l.band5 {
				s.Floor = 0
				if floors[1] != 0 {
					s.Floor = floors[1] - r.Offset5GHz
				}
			}
			ss = append(ss, s)
		}
		res := Fit(ss, Prior{Params: Params{r.RSSI1m, r.Exponent}, SigmaN: f.SigmaN})
		res.RSSI1m, res.Exponent = round(res.RSSI1m, 2), round(res.Exponent, 3)
		snap.Sensors = append(snap.Sensors, SelfFit{ID: f.site.Sensors[i].ID, Result: res})
		if res.N > 0 {
			f.track(f.site.Sensors[i].ID, &selfRef{T: now, Site: Params{r.RSSI1m, r.Exponent}, links: means})
		}
	}
	f.history = append(f.history, snap)
	if f.MaxHistory > 0 && len(f.history) > f.MaxHistory {
		f.history = append(f.history[:0], f.history[len(f.history)-f.MaxHistory:]...)
	}
	if f.first == nil {
		f.first, f.last = map[string]float64{}, map[string]float64{}
	}
	for _, x := range snap.Sensors {
		if x.N == 0 {
			continue
		}
		if _, ok := f.first[x.ID]; !ok {
			f.first[x.ID] = x.RSSI1m
		}
		f.last[x.ID] = x.RSSI1m
	}
	return snap
}

// Anchors returns the anchors, each once, ordered by ID then pseudonym.
func (f *SelfFitter) Anchors() []Anchor {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[*Anchor]bool{}
	var out []Anchor
	for _, a := range f.anchors {
		if !seen[a] {
			seen[a] = true
			out = append(out, *a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Dev < out[j].Dev
	})
	return out
}

// anchorKey names an anchor's links: its ID, else the pseudonym heard.
func anchorKey(a *Anchor, d wire.Dev) string {
	if a.ID != "" {
		return "id:" + a.ID
	}
	return d.String()
}

// History returns the snapshots so far (the last MaxHistory), oldest first.
func (f *SelfFitter) History() []Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Snapshot(nil), f.history...)
}

// Drift returns, per sensor id, how far its fitted rssi_1m has moved from
// the first snapshot that had links for it to the latest, dB.
func (f *SelfFitter) Drift() map[string]float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]float64{}
	for id, v := range f.last {
		out[id] = round(v-f.first[id], 2)
	}
	return out
}

// LearnTx estimates each anchor's transmit power relative to the reference
// phone from the links in the window ending at now, given a site whose
// sensors are calibrated (by a walk): the median of heard minus predicted.
// Call it once after a walk; later fits are then relative to the phone.
func (f *SelfFitter) LearnTx(calibrated *wire.Site, now int64) map[wire.Dev]float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	diffs := map[wire.Dev][]float64{}
	for si, se := range calibrated.Sensors {
		i, ok := f.sensors[se.ID]
		if !ok {
			continue
		}
		r := calibrated.SensorRadio(si)
		p := Params{r.RSSI1m, r.Exponent}
		for _, x := range f.samples[i] {
			if a := f.anchors[x.anchor]; a != nil && x.t >= now-f.window && x.t <= now {
				diffs[x.anchor] = append(diffs[x.anchor], x.s.RSSI+a.TxDB-p.Expected(x.s.D))
			}
		}
	}
	devs := make([]wire.Dev, 0, len(diffs))
	for d := range diffs {
		devs = append(devs, d)
	}
	sort.Slice(devs, func(i, j int) bool { return devs[i] < devs[j] })
	out := map[wire.Dev]float64{}
	delta := map[wire.Dev]float64{}
	for _, d := range devs {
		tx := round(median(diffs[d]), 2)
		out[d] = tx
		delta[d] = tx - f.anchors[d].TxDB
		f.anchors[d].TxDB = tx
	}
	// Move the stored samples to the new reference; the links' baselines
	// for txChanges, and the references of applied changes, start again
	// from the next refit.
	f.base, f.latest, f.refs = nil, nil, nil
	for i := range f.samples {
		for k := range f.samples[i] {
			f.samples[i][k].s.RSSI -= delta[f.samples[i][k].anchor]
		}
	}
	return out
}
