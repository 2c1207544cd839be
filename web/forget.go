package web

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/passant/passant/wire"
)

// ForgetRequest is the body of POST /api/sites/{site}/forget: the
// pseudonyms of one person's phone under every key epoch the server may
// still hold (`passant forget --print-devs` computes them from the MAC
// address with the site key, which the server never holds).
type ForgetRequest struct {
	Devs []wire.Dev `json:"devs"`
}

// maxForgetDevs bounds one request: a few MAC addresses over years of
// monthly key epochs are a few hundred pseudonyms.
const maxForgetDevs = 10_000

// Forgotten is the answer of POST /api/sites/{site}/forget: what was erased,
// per table and in the journal. The hourly aggregates stay.
type Forgotten struct {
	Site string `json:"site"`
	// Devs are the pseudonyms given; Linked the other pseudonyms the
	// tracker had linked into their tracks (erased too); Tracks the tracks
	// erased.
	Devs   int `json:"devs"`
	Linked int `json:"linked"`
	Tracks int `json:"tracks"`
	// Rows deleted per table.
	Observations int64 `json:"observations"`
	Positions    int64 `json:"positions"`
	Visits       int64 `json:"visits"`
	TrackDays    int64 `json:"track_days"`
	// The journal: files written again without the observations, how
	// many went, and the days whose files the server writes to now, left
	// as they are for the time being: the server drops the pseudonyms
	// when it reads them back, and erases them there once the day's file
	// is closed (hourly), at its next start, or by `passant forget
	// --journal-today` while it is stopped.
	JournalFiles        int      `json:"journal_files"`
	JournalObservations int64    `json:"journal_observations"`
	JournalKept         []string `json:"journal_kept,omitempty"`
}

// forget erases a person: {"devs": ["3f9a0c1d2e4b5a69", ...]}.
func (s *Server) forget(w http.ResponseWriter, r *http.Request) {
	site, _, ok := s.siteOf(w, r)
	if !ok {
		return
	}
	var req ForgetRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Devs) == 0 {
		httpError(w, http.StatusBadRequest, `want {"devs": ["<16 hex digits>", ...]}: the pseudonyms passant forget --print-devs gives`)
		return
	}
	if len(req.Devs) > maxForgetDevs {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("%d pseudonyms; at most %d a request", len(req.Devs), maxForgetDevs))
		return
	}
	f, err := s.backend.Forget(r.Context(), site.Site, req.Devs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Site = site.Site
	s.log.Info("web: forgot a person", "site", site.Site, "user", userOf(r), "pseudonyms", len(req.Devs),
		"tracks", f.Tracks, "observations", f.Observations, "visits", f.Visits, "track_days", f.TrackDays)
	writeJSON(w, http.StatusOK, f)
}
