package calibration

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// SetAnchors turns on self-calibration for a site: from then on Observe
// feeds the anchors' frames to a SelfFitter (window: SelfWindow),
// refitted every SelfEvery of event time, and GET .../calibration/drift
// shows its history. Called again, it changes the anchors of the running
// fitter, which keeps its links and history. Nil anchors turn it off.
func (s *Service) SetAnchors(site string, anchors []Anchor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.self == nil {
		s.self = map[string]*selfState{}
	}
	if len(anchors) == 0 {
		delete(s.self, site)
		return
	}
	if st := s.self[site]; st != nil {
		st.fitter.SetAnchors(anchors)
		return
	}
	st, _, err := s.Sites.Site(context.Background(), site)
	if err != nil {
		return
	}
	f := NewSelfFitter(st, anchors, s.SelfWindow)
	f.MaxHistory = SelfHistory
	s.self[site] = &selfState{fitter: f}
}

// SelfHistory is how many refits' snapshots the service keeps per site
// (90 days of hourly refits).
const SelfHistory = 90 * 24

// SelfEvery is how often (event time) a site's SelfFitter refits.
const SelfEvery = int64(time.Hour / time.Millisecond)

type selfState struct {
	mu     sync.Mutex
	fitter *SelfFitter
	next   int64

	amu     sync.Mutex // serialises SelfApply and SelfRevert
	applied *SelfApplied
}

// SelfFitter returns the site's fitter, nil when self-calibration is off.
func (s *Service) SelfFitter(site string) *SelfFitter {
	if st := s.selfState(site); st != nil {
		return st.fitter
	}
	return nil
}

func (s *Service) selfState(site string) *selfState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.self[site]
}

// observeSelf feeds a batch to the site's fitter and refits when event time
// t crosses the next refit (t 0: feed only).
func (s *Service) observeSelf(site string, t int64, add func(f *SelfFitter)) {
	s.mu.Lock()
	st := s.self[site]
	s.mu.Unlock()
	if st == nil {
		return
	}
	add(st.fitter)
	if t <= 0 {
		return // no time to refit by
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.next == 0 {
		// The first fit comes at the first whole refit time at least
		// half an interval after the first frame, so that it (the
		// baseline drift is measured from) stands on links heard for a
		// while, not on the minute before the next hour.
		st.next = t - t%SelfEvery + SelfEvery
		if st.next-t < SelfEvery/2 {
			st.next += SelfEvery
		}
	}
	for t >= st.next {
		st.fitter.Refit(st.next)
		st.next += SelfEvery
	}
}

func (s *Service) drift(w http.ResponseWriter, r *http.Request) {
	f := s.SelfFitter(r.PathValue("site"))
	if f == nil {
		writeJSON(w, http.StatusOK, map[string]any{"enabled": false, "history": []Snapshot{}, "drift": map[string]float64{}})
		return
	}
	h := f.History()
	if h == nil {
		h = []Snapshot{}
	}
	type anchor struct {
		ID   string  `json:"id,omitempty"`
		X    float64 `json:"x"`
		Y    float64 `json:"y"`
		Z    float64 `json:"z"`
		Devs int     `json:"devs"` // pseudonyms known (key epochs)
	}
	as := []anchor{}
	for _, a := range f.Anchors() {
		as = append(as, anchor{ID: a.ID, X: a.X, Y: a.Y, Z: a.Z, Devs: 1 + len(a.Devs)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"enabled": true, "history": h, "drift": f.Drift(), "anchors": as})
}
