package calibration

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/passant/passant/wire"
)

// Sites is what a calibration session needs of the server's site store.
type Sites interface {
	// Site returns the current version of a site and its version number.
	Site(ctx context.Context, site string) (*wire.Site, int, error)
	// PutSite stores s as the site's next version (source "calibration")
	// and applies it to the live pipeline; it returns the new version.
	PutSite(ctx context.Context, s *wire.Site, note string) (int, error)
	// RevertSite stores an earlier version as the next one and applies it.
	RevertSite(ctx context.Context, site string, version int, note string) (int, error)
}

// ErrNoWalk is returned when a session has no phone chosen yet.
var ErrNoWalk = errors.New("calibration: no walk started: choose your phone first")

// Service runs the dashboard's calibration walks, one session per site.
// The server feeds it every accepted batch (Observe); the HTTP handlers
// (Handler) drive it. It is safe for concurrent use.
type Service struct {
	Sites Sites
	// TrackOf maps a pseudonym to its track in the live pipeline, so that
	// the walk follows a phone across MAC changes (nil: devs only).
	TrackOf func(site string, d wire.Dev) string
	// Now is the clock marks are stamped with (default time.Now); it must
	// agree with the sensors' clocks, which are the observations' times.
	Now func() time.Time
	// SelfWindow is how far back (ms of event time) self-calibration
	// looks at each refit (0: DefaultSelfWindow).
	SelfWindow int64

	mu       sync.Mutex
	sessions map[string]*Session
	self     map[string]*selfState
}

// NewService returns a service over sites.
func NewService(sites Sites) *Service {
	return &Service{Sites: sites, sessions: map[string]*Session{}}
}

func (s *Service) now() int64 {
	if s.Now != nil {
		return s.Now().UnixMilli()
	}
	return time.Now().UnixMilli()
}

// Session returns the session of a site, made on first use.
func (s *Service) Session(site string) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.sessions[site]
	if se == nil {
		se = &Session{svc: s, site: site}
		s.sessions[site] = se
	}
	return se
}

// Observe takes a batch accepted for site. Only sites with a session keep
// anything: the last RecentWindow of frames, and the chosen phone's frames.
func (s *Service) Observe(site string, b *wire.Batch) {
	s.mu.Lock()
	se := s.sessions[site]
	s.mu.Unlock()
	if se != nil {
		se.observe(b)
	}
	if len(b.Obs) > 0 {
		t := b.Obs[len(b.Obs)-1].T
		if ahead := s.now() + MaxSelfAhead; t > ahead {
			// A sensor clock far ahead must not drive the refits: they
			// would catch up hour by hour to it (a year ahead: 8,760 fits
			// under the site runner's lock), then stop until then.
			t = 0
		}
		s.observeSelf(site, t, func(f *SelfFitter) { f.Add(b) })
	}
}

// MaxSelfAhead is how far ahead of Service.Now a batch's time may lie and
// still move self-calibration's refit clock (ms).
const MaxSelfAhead = 10 * 60_000

// RecentWindow is how long a session keeps every frame, for picking a phone.
const RecentWindow = 60_000 // ms

// WalkIdle is how long a walk keeps taking its phone's frames after its
// start or its latest mark (ms, by Service.Now): a walk left open (the page
// closed) must not keep every frame of the phone for as long as the server
// runs. A new mark resumes it.
const WalkIdle = 30 * 60_000

type heard struct {
	t      int64
	sensor string
	obs    wire.Observation
}

// Session is one site's calibration walk: the chosen phone, the marks of
// where it was, and its frames.
type Session struct {
	svc  *Service
	site string

	mu      sync.Mutex
	recent  []heard // every frame of the last RecentWindow
	phone   *Phone
	devs    map[wire.Dev]bool // the phone's pseudonyms seen so far
	frames  []heard           // the phone's frames since the walk began
	marks   []wire.WalkMark
	started int64
	active  int64 // Service.Now at the start or the latest mark (WalkIdle)
	last    *Report
	applied *Applied
}

// Phone is the walker's device: a pseudonym and, when the pipeline links
// it, the track that follows it across MAC changes.
type Phone struct {
	Dev   wire.Dev `json:"dev"`
	Track string   `json:"track,omitempty"`
}

// Applied records an applied calibration, for one-click revert.
type Applied struct {
	Version  int `json:"version"`
	Previous int `json:"previous"`
}

func (se *Session) trackOf(d wire.Dev) string {
	if se.svc.TrackOf == nil {
		return ""
	}
	return se.svc.TrackOf(se.site, d)
}

func (se *Session) observe(b *wire.Batch) {
	now := se.svc.now()
	se.mu.Lock()
	defer se.mu.Unlock()
	// Drop what is older than the window.
	cut := 0
	for cut < len(se.recent) && se.recent[cut].t < now-RecentWindow {
		cut++
	}
	if cut > 0 {
		se.recent = append(se.recent[:0], se.recent[cut:]...)
	}
	walking := se.phone != nil && now-se.active <= WalkIdle
	for _, o := range b.Obs {
		h := heard{t: o.T, sensor: b.Sensor, obs: o}
		if len(se.recent) < 200_000 {
			se.recent = append(se.recent, h)
		}
		if walking && se.isPhone(o.Dev) {
			se.frames = append(se.frames, h)
		}
	}
}

// isPhone reports whether d is (or, by its track, belongs to) the phone.
func (se *Session) isPhone(d wire.Dev) bool {
	if se.devs[d] {
		return true
	}
	if se.phone.Track != "" && se.trackOf(d) == se.phone.Track {
		se.devs[d] = true
		return true
	}
	return false
}

// Candidate is a device heard at a sensor, for picking one's phone.
type Candidate struct {
	Dev    wire.Dev `json:"dev"`
	Track  string   `json:"track,omitempty"`
	RSSI   float64  `json:"rssi"`   // strongest frame at the sensor, dBm
	Mean   float64  `json:"mean"`   // mean of its frames there
	Frames int      `json:"frames"` // at the sensor
	Last   int64    `json:"last"`   // Unix ms
	// Margin is how much stronger it is at this sensor than at the next
	// best sensor, dB: a phone held at the sensor stands out.
	Margin float64 `json:"margin"`
}

// Candidates lists the devices heard at sensor in the last window ms
// (0: 20 s), strongest first: the installer holds their phone next to the
// sensor and takes the top one.
func (se *Session) Candidates(sensor string, window int64) []Candidate {
	if window <= 0 {
		window = 20_000
	}
	now := se.svc.now()
	se.mu.Lock()
	defer se.mu.Unlock()
	type acc struct {
		max, sum float64
		n        int
		last     int64
		other    map[string]float64
	}
	by := map[wire.Dev]*acc{}
	for _, h := range se.recent {
		if h.t < now-window {
			continue
		}
		a := by[h.obs.Dev]
		if a == nil {
			a = &acc{max: -200, other: map[string]float64{}}
			by[h.obs.Dev] = a
		}
		if h.sensor != sensor {
			if r, ok := a.other[h.sensor]; !ok || h.obs.RSSI > r {
				a.other[h.sensor] = h.obs.RSSI
			}
			continue
		}
		a.max = math.Max(a.max, h.obs.RSSI)
		a.sum += h.obs.RSSI
		a.n++
		a.last = max(a.last, h.t)
	}
	var out []Candidate
	for d, a := range by {
		if a.n == 0 {
			continue
		}
		c := Candidate{Dev: d, Track: se.trackOf(d), RSSI: a.max, Mean: round(a.sum/float64(a.n), 1), Frames: a.n, Last: a.last, Margin: 99}
		for _, r := range a.other {
			c.Margin = math.Min(c.Margin, a.max-r)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].RSSI != out[j].RSSI {
			return out[i].RSSI > out[j].RSSI
		}
		return out[i].Dev < out[j].Dev
	})
	if len(out) > 20 {
		out = out[:20]
	}
	return out
}

// Start begins a walk with the phone (its track, when known, is looked up):
// earlier marks and frames are dropped. The phone's frames of the recent
// window are kept, so holding it at the sensor already counts.
func (se *Session) Start(dev wire.Dev) Phone {
	p := Phone{Dev: dev, Track: se.trackOf(dev)}
	se.mu.Lock()
	defer se.mu.Unlock()
	se.phone = &p
	se.devs = map[wire.Dev]bool{dev: true}
	se.frames, se.marks, se.last = nil, nil, nil
	se.started = se.svc.now()
	se.active = se.started
	for _, h := range se.recent {
		if se.isPhone(h.obs.Dev) {
			se.frames = append(se.frames, h)
		}
	}
	return p
}

// Mark records that the phone is at (x, y) now (t 0) or at t.
func (se *Session) Mark(x, y float64, t int64) (wire.WalkMark, error) {
	if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return wire.WalkMark{}, fmt.Errorf("calibration: mark: bad position")
	}
	if t == 0 {
		t = se.svc.now()
	}
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.phone == nil {
		return wire.WalkMark{}, ErrNoWalk
	}
	d := se.phone.Dev
	se.active = se.svc.now()
	m := wire.WalkMark{T: t, Dev: &d, X: x, Y: y}
	se.marks = append(se.marks, m)
	sort.SliceStable(se.marks, func(i, j int) bool { return se.marks[i].T < se.marks[j].T })
	return m, nil
}

// marksCopy returns the marks so far.
func (se *Session) marksCopy() []wire.WalkMark {
	se.mu.Lock()
	defer se.mu.Unlock()
	return append([]wire.WalkMark(nil), se.marks...)
}

// Undo drops the latest mark.
func (se *Session) Undo() int {
	se.mu.Lock()
	defer se.mu.Unlock()
	if len(se.marks) > 0 {
		se.marks = se.marks[:len(se.marks)-1]
	}
	return len(se.marks)
}

// data builds the walk data from the marks and frames; the phone's
// pseudonyms all count as the one walker. Called with se.mu held.
func (se *Session) data(site *wire.Site) (*Data, error) {
	if se.phone == nil {
		return nil, ErrNoWalk
	}
	if len(se.marks) == 0 {
		return nil, fmt.Errorf("calibration: no marks yet: tap where you are")
	}
	marks := append([]wire.WalkMark(nil), se.marks...)
	w, err := NewWalk(marks, 0)
	if err != nil {
		return nil, err
	}
	c, err := NewCollector(site, w, nil)
	if err != nil {
		return nil, err
	}
	main := se.phone.Dev
	// Group the frames by sensor into batches; other pseudonyms of the
	// phone count as its main one.
	bySensor := map[string]*wire.Batch{}
	var order []string
	for _, h := range se.frames {
		b := bySensor[h.sensor]
		if b == nil {
			b = &wire.Batch{V: 1, Sensor: h.sensor}
			bySensor[h.sensor] = b
			order = append(order, h.sensor)
		}
		o := h.obs
		o.Dev = main
		b.Obs = append(b.Obs, o)
	}
	sort.Strings(order)
	for _, id := range order {
		c.Add(bySensor[id])
	}
	return c.Data(), nil
}
