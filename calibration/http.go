package calibration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/wire"
)

// Handler serves the calibration page's JSON API under
// /api/sites/{site}/calibration/ (see docs/calibration.md):
//
//	GET  site                         the site and its version
//	GET  devices?sensor=ID&window=MS  devices heard at a sensor, strongest first
//	POST start     {"dev":"16 hex"}   choose the phone; begins a walk
//	POST mark      {"x":..,"y":..}    the phone is here now
//	POST undo                         drop the last mark
//	GET  status                       live feedback
//	GET  waypoints                    a route to follow instead of tapping
//	POST fit                          fit the walk (report; nothing applied)
//	POST apply                        write the fit as a new site version
//	POST revert                       restore the version before apply
//	GET  accuracy                     predicted accuracy map (JSON) + suggestion
//	GET  accuracy.png                 the same as a picture
//	GET  drift                        self-calibration history (SetAnchors)
//	GET  selfcal                      what applying the self-calibration would write
//	POST selfcal/apply                write it as a new site version (source selfcal)
//	POST selfcal/revert               restore the version before selfcal/apply
//
// Authentication and rate limits are the mounting server's.
func (s *Service) Handler() http.Handler {
	m := http.NewServeMux()
	const p = "/api/sites/{site}/calibration/"
	m.HandleFunc("GET "+p+"site", s.site)
	m.HandleFunc("GET "+p+"devices", s.devices)
	m.HandleFunc("POST "+p+"start", s.start)
	m.HandleFunc("POST "+p+"mark", s.mark)
	m.HandleFunc("POST "+p+"undo", s.undo)
	m.HandleFunc("GET "+p+"status", sessionJSON(s, (*Session).Status))
	m.HandleFunc("GET "+p+"waypoints", s.waypoints)
	m.HandleFunc("POST "+p+"fit", sessionJSON(s, (*Session).Fit))
	m.HandleFunc("POST "+p+"apply", sessionJSON(s, (*Session).Apply))
	m.HandleFunc("POST "+p+"revert", sessionJSON(s, revert))
	m.HandleFunc("GET "+p+"accuracy", s.accuracy)
	m.HandleFunc("GET "+p+"accuracy.png", s.accuracyPNG)
	m.HandleFunc("GET "+p+"drift", s.drift)
	m.HandleFunc("GET "+p+"selfcal", s.selfProposal)
	m.HandleFunc("POST "+p+"selfcal/apply", s.selfApply)
	m.HandleFunc("POST "+p+"selfcal/revert", s.selfRevert)
	return m
}

// PlanSource is implemented by a Sites that can give a site's floor-plan
// image; the accuracy map is then drawn over it.
type PlanSource interface {
	PlanImage(ctx context.Context, site string) (image.Image, error)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func httpError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// fail maps errors: the session's own are 409 (do something first), the
// site store's are logged and 500 unless they say not found (404).
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNoWalk), errors.Is(err, ErrNothingToApply), errors.Is(err, ErrSelfOff), errors.Is(err, ErrSelfNothing), errors.Is(err, ErrNothingToRevert), errors.Is(err, ErrSiteChanged):
		httpError(w, http.StatusConflict, err)
	case isNotFound(err):
		httpError(w, http.StatusNotFound, err)
	default:
		slog.Error("calibration: request failed", "path", r.URL.Path, "err", err)
		httpError(w, http.StatusUnprocessableEntity, err)
	}
}

// isNotFound reports whether err says "not found" (the site store's error).
func isNotFound(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == "not found" {
			return true
		}
	}
	return false
}

func (s *Service) session(w http.ResponseWriter, r *http.Request) (*Session, bool) {
	if !s.knownSite(w, r) {
		return nil, false
	}
	return s.Session(r.PathValue("site")), true
}

// knownSite answers 400 or 404 unless the path names a stored site.
func (s *Service) knownSite(w http.ResponseWriter, r *http.Request) bool {
	id := r.PathValue("site")
	if !wire.ValidID(id) {
		httpError(w, http.StatusBadRequest, errors.New("bad site id"))
		return false
	}
	if _, _, err := s.Sites.Site(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return false
	}
	return true
}

func (s *Service) site(w http.ResponseWriter, r *http.Request) {
	site, v, err := s.Sites.Site(r.Context(), r.PathValue("site"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"site": site, "version": v})
}

func (s *Service) devices(w http.ResponseWriter, r *http.Request) {
	se, ok := s.session(w, r)
	if !ok {
		return
	}
	sensor := r.URL.Query().Get("sensor")
	window, _ := strconv.ParseInt(r.URL.Query().Get("window"), 10, 64)
	cs := se.Candidates(sensor, window)
	if cs == nil {
		cs = []Candidate{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sensor": sensor, "devices": cs})
}

func (s *Service) start(w http.ResponseWriter, r *http.Request) {
	se, ok := s.session(w, r)
	if !ok {
		return
	}
	var req struct {
		Dev wire.Dev `json:"dev"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, se.Start(req.Dev))
}

func (s *Service) mark(w http.ResponseWriter, r *http.Request) {
	se, ok := s.session(w, r)
	if !ok {
		return
	}
	var req struct {
		X, Y *float64
		T    int64
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	if req.X == nil || req.Y == nil {
		httpError(w, http.StatusBadRequest, errors.New("calibration: mark: want x and y"))
		return
	}
	m, err := se.Mark(*req.X, *req.Y, req.T)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Service) undo(w http.ResponseWriter, r *http.Request) {
	se, ok := s.session(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"marks": se.Undo()})
}

func (s *Service) waypoints(w http.ResponseWriter, r *http.Request) {
	site, _, err := s.Sites.Site(r.Context(), r.PathValue("site"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"waypoints": Waypoints(site)})
}

// sessionJSON serves call on the path's site's session: its result as
// JSON, or its error.
func sessionJSON[T any](s *Service, call func(*Session, context.Context) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		se, ok := s.session(w, r)
		if !ok {
			return
		}
		v, err := call(se, r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// revert restores the version before apply: {"version": v}.
func revert(se *Session, ctx context.Context) (map[string]int, error) {
	v, err := se.Revert(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]int{"version": v}, nil
}

// sessionAccuracy is the path's site's predicted accuracy map and
// suggestion; it answers the error itself unless ok.
func (s *Service) sessionAccuracy(w http.ResponseWriter, r *http.Request) (am *AccuracyMap, sug *Suggestion, ok bool) {
	se, ok := s.session(w, r)
	if !ok {
		return nil, nil, false
	}
	am, sug, _, err := se.Accuracy(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	return am, sug, true
}

func (s *Service) accuracy(w http.ResponseWriter, r *http.Request) {
	am, sug, ok := s.sessionAccuracy(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(am.AppendJSON(nil, sug), '\n'))
}

func (s *Service) accuracyPNG(w http.ResponseWriter, r *http.Request) {
	am, sug, ok := s.sessionAccuracy(w, r)
	if !ok {
		return
	}
	var plan image.Image
	if ps, ok := s.Sites.(PlanSource); ok {
		plan, _ = ps.PlanImage(r.Context(), r.PathValue("site")) // no plan: drawn on the bare floor
	}
	var buf bytes.Buffer
	if err := heatmap.WritePNG(&buf, am.Image(sug, plan)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (s *Service) selfProposal(w http.ResponseWriter, r *http.Request) {
	if !s.knownSite(w, r) {
		return
	}
	p, a, err := s.SelfProposal(r.Context(), r.PathValue("site"))
	if errors.Is(err, ErrSelfOff) {
		writeJSON(w, http.StatusOK, map[string]any{"enabled": false, "sensors": []SelfProposed{}})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"enabled": true, "t": p.T, "sensors": p.Sensors, "applicable": p.Applicable, "applied": a})
}

func (s *Service) selfApply(w http.ResponseWriter, r *http.Request) {
	if !s.knownSite(w, r) {
		return
	}
	a, p, err := s.SelfApply(r.Context(), r.PathValue("site"))
	if errors.Is(err, ErrSelfNothing) {
		refused := map[string]string{}
		for _, sp := range p.Sensors {
			refused[sp.ID] = sp.Reason
		}
		writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "refused": refused})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Service) selfRevert(w http.ResponseWriter, r *http.Request) {
	if !s.knownSite(w, r) {
		return
	}
	v, err := s.SelfRevert(r.Context(), r.PathValue("site"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"version": v})
}
