// Package pipeline is one site's flow from observation batches to tracked
// positions: redelivery checks, clock alignment, reordering by event time,
// fusion of probe bursts, locating and tracking. It is driven only by the
// observations' own clocks, so replaying the live server's journal through
// it gives exactly what the live server computed.
package pipeline

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
)

// Handler receives what a pipeline computes, in event-time order.
type Handler interface {
	// Position is called for each fix, in order of T.
	Position(p wire.Position)
	// Advance says that no position before now will follow.
	Advance(now int64)
}

// Merger is a Handler that also learns of merged tracks: the tracker found
// that the phone of track from, whose positions were given under from's
// name, is the phone of track into (a deferred link of a randomised MAC;
// locate.Merge). Merge is called in event-time order with the positions,
// before the first position that the merge renamed.
type Merger interface {
	Merge(from, into string, t int64)
}

// Config configures a pipeline. Zero durations take the defaults.
type Config struct {
	Site *wire.Site
	// Zone names the innermost zone of a point; nil leaves zones empty.
	Zone func(x, y float64) string
	// Lateness is how long observations wait to be put in order (default 2 s).
	Lateness time.Duration
	// BurstGap ends a burst after this silence of its device (default 400 ms).
	BurstGap time.Duration
	// MaxBurst bounds a burst's length (default 1.5 s).
	MaxBurst time.Duration
	Tracker  locate.TrackerOptions
	// Skip, when set, names pseudonyms that are not people: fixed
	// transmitters, the anchors of self-calibration. Their frames still
	// align the sensors' clocks but are never located or tracked (counted
	// in SensorStats.Skipped). It is called on the pipeline's goroutine.
	Skip func(wire.Dev) bool
}

// Defaults.
const (
	DefaultLateness = 2 * time.Second
	DefaultBurstGap = 400 * time.Millisecond
	DefaultMaxBurst = 1500 * time.Millisecond
)

// startGrace is how long (ms of event time) the pipeline waits at the start
// for sensors it has not heard yet.
const startGrace = 60_000

// lagBand is how far (ms of event time) a sensor may lag the median of the
// site's sensors and still hold the others back.
const lagBand = 120_000

// ErrUnknownSensor is returned for a batch from a sensor the site lacks.
var ErrUnknownSensor = errors.New("pipeline: unknown sensor")

// ErrDuplicate is returned for a redelivered batch (the same sensor, boot
// and id as one taken before); it changes nothing and is counted in the
// sensor's Dupes.
var ErrDuplicate = errors.New("pipeline: duplicate batch")

// SensorStats describe what a pipeline has taken from one sensor.
type SensorStats struct {
	ID       string
	Batches  int64 // accepted
	Obs      int64 // observations put in order
	Dropped  int64 // observations dropped by the contract's checks
	Dupes    int64 // redelivered batches dropped
	Lost     int64 // batches missing from the sequence of ids
	Late     int64 // observations that came after their time was processed
	LastSent int64 // sensor clock of the last batch
	LastRecv int64 // receive time of the last batch (0 in a plain replay)
	Offset   int64 // estimated clock offset, ms (sensor minus site)
	// Clock is ClockOK, ClockCorrected or ClockQuarantined (quarantine.go).
	Clock string
	// Quarantined counts observations not located because the sensor's
	// clock was quarantined (they are still journaled and stored).
	Quarantined int64
	// Skipped counts observations of pseudonyms Config.Skip names.
	Skipped int64
}

// Pipeline processes one site. It is not safe for concurrent use.
type Pipeline struct {
	cfg      Config
	site     *wire.Site
	sensors  map[string]int
	lateness int64
	maxHold  int64

	dedup   []dedup
	stats   []SensorStats
	clock   *clock
	quar    *quarantine
	hw      []int64 // per sensor: latest aligned time seen
	hwOrder []int64 // the positive values of hw, ascending (watermark)
	started bool    // every sensor heard, or the start's grace over
	buf     reorder
	order   uint64

	cursor  int64 // event time released so far
	expired int64 // last tracker expiry
	fuse    *fuser
	tracker *locate.Tracker
	handler []Handler

	positions   int64
	minT        int64
	maxT        int64
	names       map[string]string // the tracker's track names → stable names
	namesPruned int64             // the tracker's prune names were pruned at
}

// New returns a pipeline for cfg.Site that hands its results to handlers.
func New(cfg Config, handlers ...Handler) (*Pipeline, error) {
	if cfg.Site == nil {
		return nil, errors.New("pipeline: no site")
	}
	model, err := locate.NewModel(cfg.Site)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	if cfg.Lateness <= 0 {
		cfg.Lateness = DefaultLateness
	}
	if cfg.BurstGap <= 0 {
		cfg.BurstGap = DefaultBurstGap
	}
	if cfg.MaxBurst <= 0 {
		cfg.MaxBurst = DefaultMaxBurst
	}
	n := len(cfg.Site.Sensors)
	p := &Pipeline{
		cfg:      cfg,
		site:     cfg.Site,
		sensors:  make(map[string]int, n),
		lateness: cfg.Lateness.Milliseconds(),
		dedup:    make([]dedup, n),
		stats:    make([]SensorStats, n),
		clock:    newClock(n),
		quar:     newQuarantine(n),
		hw:       make([]int64, n),
		hwOrder:  make([]int64, 0, n),
		buf:      newReorder(n),
		cursor:   math.MinInt64,
		tracker:  locate.NewTracker(model, cfg.Tracker),
		handler:  handlers,
		minT:     math.MaxInt64,
		maxT:     math.MinInt64,
		names:    map[string]string{},
	}
	p.maxHold = cfg.MaxBurst.Milliseconds() + cfg.BurstGap.Milliseconds()
	offset5 := make([]float64, n)
	for i, s := range cfg.Site.Sensors {
		p.sensors[s.ID] = i
		p.stats[i].ID = s.ID
		offset5[i] = model.Sensors[i].Offset5
	}
	p.fuse = newFuser(cfg.BurstGap.Milliseconds(), cfg.MaxBurst.Milliseconds(), offset5)
	return p, nil
}

// SetLateness changes how long observations wait to be put in order, and
// releases what the new lateness lets go. A server rebuilding from stored
// observations, which come in receive order with late backlogs among them,
// replays them with a long lateness and then goes back to the live one.
func (p *Pipeline) SetLateness(d time.Duration) {
	p.lateness = d.Milliseconds()
	p.release(p.watermark() - p.lateness)
}

// Site returns the pipeline's site.
func (p *Pipeline) Site() *wire.Site { return p.site }

// Accept takes one batch that passed the contract's checks, received at recv
// (Unix ms; 0 when unknown, as in a plain replay). drops are the
// observations the decoder dropped from it, for the sensor's statistics.
func (p *Pipeline) Accept(recv int64, b *wire.Batch, drops wire.Drops) error {
	si, ok := p.sensors[b.Sensor]
	if !ok {
		return fmt.Errorf("%w %q for site %s", ErrUnknownSensor, b.Sensor, p.site.Site)
	}
	st := &p.stats[si]
	st.Dropped += int64(drops.Total())
	d := &p.dedup[si]
	if !d.accept(b.Boot, b.ID) {
		st.Dupes = d.dupes
		return ErrDuplicate
	}
	st.Batches++
	st.Lost = d.lost
	st.LastSent = b.Sent
	if recv != 0 {
		st.LastRecv = recv
	}
	obs, sent, admitted := p.quar.admit(si, b)
	for i := range p.stats {
		p.stats[i].Clock = p.quar.state[i]
	}
	if !admitted {
		st.Quarantined += int64(len(b.Obs))
		return nil
	}
	for i := range obs {
		p.clock.observe(si, &obs[i])
	}
	p.clock.solve()
	for i := range p.stats {
		p.stats[i].Offset = p.clock.Offset(i) + p.quar.coarse[i]
	}
	off := p.clock.Offset(si)
	hw := sent - off
	for i := range obs {
		o := &obs[i]
		t := o.T - off
		if t <= p.cursor {
			st.Late++
			continue
		}
		hw = max(hw, t)
		if p.cfg.Skip != nil && p.cfg.Skip(o.Dev) {
			st.Skipped++
			continue
		}
		p.order++
		p.buf.push(t, p.order, int32(si), o)
		st.Obs++
	}
	if hw > p.hw[si] {
		p.raiseHW(si, hw)
	}
	p.release(p.watermark() - p.lateness)
	return nil
}

// watermark is the oldest of the sensors' latest aligned times, among the
// sensors within two minutes of their median: a sensor that lags (its
// batches queued behind a slow link) holds the others back rather than
// having its observations dropped as late, while one whose clock runs far
// ahead, or one that went silent, is left out.
func (p *Pipeline) watermark() int64 {
	v := p.hwOrder
	if len(v) == 0 {
		return math.MinInt64 + p.lateness
	}
	// At the start, wait for every sensor to be heard, for up to startGrace
	// of event time: sensors connect in any order, and one that comes a few
	// seconds after the others must not find its first observations late.
	if len(v) < len(p.hw) && v[len(v)-1]-v[0] < startGrace && !p.started {
		return v[0]
	}
	p.started = true
	med := v[(len(v)-1)/2]
	for _, h := range v {
		if h >= med-lagBand {
			return h
		}
	}
	return med
}

// raiseHW sets sensor si's latest aligned time to hw, above the one it
// had, and keeps hwOrder sorted.
func (p *Pipeline) raiseHW(si int, hw int64) {
	p.hwOrder = raiseSorted(p.hwOrder, p.hw[si], hw)
	p.hw[si] = hw
}

// raiseSorted replaces old (when positive) by v > old in the ascending
// values ordered (which hold old): the positive values of a per-sensor slice, kept
// in order as one sensor's value rises at a time, instead of sorting them
// afresh at each use.
func raiseSorted(ordered []int64, old, v int64) []int64 {
	if old <= 0 {
		// a new value: in from the end
		ordered = append(ordered, v)
		i := len(ordered) - 1
		for ; i > 0 && ordered[i-1] > v; i-- {
			ordered[i] = ordered[i-1]
		}
		ordered[i] = v
		return ordered
	}
	// old's place, then the values below v after it move down one
	i := 0
	for ordered[i] != old {
		i++
	}
	for ; i+1 < len(ordered) && ordered[i+1] < v; i++ {
		ordered[i] = ordered[i+1]
	}
	ordered[i] = v
	return ordered
}

// release processes the frames up to event time upTo.
func (p *Pipeline) release(upTo int64) {
	if upTo <= p.cursor {
		return
	}
	for {
		f := p.buf.pop(upTo)
		if f == nil {
			break
		}
		p.cursor = f.t
		p.minT = min(p.minT, f.t)
		p.maxT = max(p.maxT, f.t)
		p.fuse.add(f)
		p.fuse.emit(f.t-p.maxHold, p.locate)
	}
	p.cursor = upTo
	p.fuse.closeBefore(upTo)
	p.fuse.emit(upTo-p.maxHold, p.locate)
	p.advance(upTo - p.maxHold)
}

func (p *Pipeline) advance(now int64) {
	for _, h := range p.handler {
		h.Advance(now)
	}
}

func (p *Pipeline) locate(b *locate.Burst) {
	if len(b.Readings) == 0 {
		return
	}
	b.Deaf = p.deaf()
	// Tracks expire by the bursts' own times, at most once a second, so that
	// which tracks a burst can join does not depend on how the reordering
	// released the bursts (a replay with another lateness gives the same).
	if b.T-p.expired >= 1000 {
		p.tracker.Expire(b.T)
		p.expired = b.T
		p.merges()
		p.pruneNames()
	}
	pos := p.tracker.Add(b)
	p.merges()
	pos.Track = p.stableName(pos)
	if p.cfg.Zone != nil {
		pos.Zone = p.cfg.Zone(pos.X, pos.Y)
	}
	p.positions++
	for _, h := range p.handler {
		h.Position(pos)
	}
}

// deafAfter is how long (ms of event time) a sensor may send nothing before
// its silence no longer says "the phone is out of its reach".
const deafAfter = 60_000

// deaf marks the sensors that are not listening as far as the pipeline
// knows: quarantined, or nothing from them for deafAfter. The locator then
// does not read their silence as distance.
func (p *Pipeline) deaf() uint64 {
	var m uint64
	for i := range p.hw {
		if i >= 64 {
			break
		}
		if p.quar.state[i] == ClockQuarantined || p.hw[i] < p.cursor-deafAfter {
			m |= 1 << uint(i)
		}
	}
	return m
}

// merges hands the tracker's merges to the handlers that take them, by
// the tracks' stable names.
func (p *Pipeline) merges() {
	for _, m := range p.tracker.Merges() {
		from, ok1 := p.names[m.From]
		into, ok2 := p.names[m.Into]
		if !ok1 || !ok2 {
			continue
		}
		delete(p.names, m.From)
		for _, h := range p.handler {
			if mh, ok := h.(Merger); ok {
				mh.Merge(from, into, m.T)
			}
		}
	}
}

// stableName names a track after the pseudonym that started it: "k" and the
// first 12 hex characters of that dev. The tracker numbers its tracks in the
// order it makes them, which differs between a server that restarted and
// one that did not, and from day to day; the first dev does not. So a phone
// that keeps its MAC keeps its track name across days (what new versus
// returning visitors need), and a replay of the journal from any earlier
// point names tracks as the live server did.
//
// A name is kept for as long as the tracker may give a position its track
// (pruneNames). A track the tracker brings back after a silence is one a
// pseudonym it remembers points to; the names map must still hold its
// name, or the returning phone would be named after whatever pseudonym it
// came back with.
func (p *Pipeline) stableName(pos wire.Position) string {
	n, ok := p.names[pos.Track] // one lookup; a new name is the only insertion
	if !ok {
		n = "k" + pos.Dev.String()[:12]
		p.names[pos.Track] = n
	}
	return n
}

// pruneNames drops the names of the tracks the tracker has forgotten for
// good (locate.Tracker.Remembered), each time the tracker has pruned its
// memory of pseudonyms. Tracker track numbers are never made again, so
// the dropped names are never looked up again: what the pipeline gives
// its handlers does not change, and the map holds the tracks the tracker
// remembers (live, or a remembered pseudonym's: randomised ones for about
// an hour after their track expired, non-randomised ones for Memory).
func (p *Pipeline) pruneNames() {
	at := p.tracker.PrunedAt()
	if at == p.namesPruned {
		return
	}
	p.namesPruned = at
	remembered := p.tracker.Remembered()
	for k := range p.names {
		if !remembered(k) {
			delete(p.names, k)
		}
	}
}

// Flush processes everything still waiting, as at the end of a replay.
func (p *Pipeline) Flush() {
	for {
		f := p.buf.pop(math.MaxInt64)
		if f == nil {
			break
		}
		p.cursor = f.t
		p.minT = min(p.minT, f.t)
		p.maxT = max(p.maxT, f.t)
		p.fuse.add(f)
	}
	p.fuse.closeAll()
	p.fuse.emit(math.MaxInt64, p.locate)
	if p.cursor > math.MinInt64 {
		p.advance(p.cursor + 1)
	}
}

// Stats returns a copy of the per-sensor statistics.
func (p *Pipeline) Stats() []SensorStats { return slices.Clone(p.stats) }

// Totals returns the sums over the sensors of Stats' Dupes, Lost and Late,
// without copying them.
func (p *Pipeline) Totals() (dupes, lost, late int64) {
	for i := range p.stats {
		st := &p.stats[i]
		dupes, lost, late = dupes+st.Dupes, lost+st.Lost, late+st.Late
	}
	return dupes, lost, late
}

// Span returns the first and last event time processed; ok is false when
// nothing was.
func (p *Pipeline) Span() (first, last int64, ok bool) {
	return p.minT, p.maxT, p.minT <= p.maxT
}

// Now returns the event time processed so far.
func (p *Pipeline) Now() int64 { return p.cursor }

// Tracks returns the number of live tracks.
func (p *Pipeline) Tracks() int { return p.tracker.Len() }

// Positions returns the number of positions computed.
func (p *Pipeline) Positions() int64 { return p.positions }
