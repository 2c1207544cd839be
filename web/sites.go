package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/passant/passant/wire"
)

// siteDoc is a site as the API returns it after a change: the site file
// plus its version.
type siteDoc struct {
	Version SiteVersion `json:"version"`
	Site    *wire.Site  `json:"site"`
}

func (s *Server) listSites(w http.ResponseWriter, r *http.Request) {
	sites, err := s.backend.Sites(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if sites == nil {
		sites = []*wire.Site{}
	}
	writeJSON(w, http.StatusOK, sites)
}

func (s *Server) getSite(w http.ResponseWriter, r *http.Request) {
	site, v, ok := s.siteOf(w, r)
	if !ok {
		return
	}
	w.Header().Set("ETag", etag(v.Version))
	w.Header().Set("X-Site-Version", strconv.Itoa(v.Version))
	writeJSON(w, http.StatusOK, site)
}

func etag(v int) string { return `"v` + strconv.Itoa(v) + `"` }

// putSite stores the body (the site file, JSON or YAML) as a new version.
// With If-Match: "vN" it refuses (412) when the current version is not N, so
// two editors do not overwrite each other unseen.
func (s *Server) putSite(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("site")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ct := r.Header.Get("Content-Type")
	site, err := wire.ParseSite(body, strings.Contains(ct, "yaml"))
	if err != nil {
		httpError(w, http.StatusBadRequest, "site: "+err.Error())
		return
	}
	if len(site.Ignored) > 0 {
		// The API takes only what it knows: a client's typo is refused,
		// where a site file's field of another tool is only warned of.
		httpError(w, http.StatusBadRequest, fmt.Sprintf("site: unknown field %q", site.Ignored[0]))
		return
	}
	if site.Site != id {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("site: the body is site %q, the path says %q", site.Site, id))
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" {
		_, cur, err := s.backend.Site(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if m != etag(cur.Version) {
			httpError(w, http.StatusPreconditionFailed,
				fmt.Sprintf("site %s is at version %d now, not %s: reload it and edit again", id, cur.Version, m))
			return
		}
	}
	v, err := s.backend.PutSite(r.Context(), site, "by "+userOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("web: site saved", "site", id, "version", v.Version, "user", userOf(r))
	s.hub.SiteChanged(id, v.Version)
	w.Header().Set("ETag", etag(v.Version))
	writeJSON(w, http.StatusOK, siteDoc{Version: v, Site: site})
}

func (s *Server) siteVersions(w http.ResponseWriter, r *http.Request) {
	vs, err := s.backend.SiteVersions(r.Context(), r.PathValue("site"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if vs == nil {
		vs = []SiteVersion{}
	}
	writeJSON(w, http.StatusOK, vs)
}

func (s *Server) siteVersion(w http.ResponseWriter, r *http.Request) {
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v < 1 {
		httpError(w, http.StatusBadRequest, "version: want a number from 1")
		return
	}
	site, sv, err := s.backend.SiteVersion(r.Context(), r.PathValue("site"), v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, siteDoc{Version: sv, Site: site})
}

// revertSite stores an old version again as the newest: {"version": 3}.
func (s *Server) revertSite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Version int `json:"version"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Version < 1 {
		httpError(w, http.StatusBadRequest, `want {"version": N}, N from 1`)
		return
	}
	id := r.PathValue("site")
	v, err := s.backend.RevertSite(r.Context(), id, req.Version, fmt.Sprintf("revert to %d by %s", req.Version, userOf(r)))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	site, _, err := s.backend.Site(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("web: site reverted", "site", id, "to", req.Version, "version", v.Version, "user", userOf(r))
	s.hub.SiteChanged(id, v.Version)
	writeJSON(w, http.StatusOK, siteDoc{Version: v, Site: site})
}

var planTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/webp": true, "image/svg+xml": true}

func (s *Server) putPlan(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.siteOf(w, r); !ok {
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(body) == 0 {
		httpError(w, http.StatusBadRequest, "plan: empty body; send the image")
		return
	}
	ct := http.DetectContentType(body)
	if strings.HasPrefix(ct, "text/xml") || strings.HasPrefix(ct, "text/plain") {
		if strings.Contains(string(body[:min(len(body), 1024)]), "<svg") {
			ct = "image/svg+xml"
		}
	}
	if !planTypes[ct] {
		httpError(w, http.StatusUnsupportedMediaType, "plan: want a PNG, JPEG, WebP or SVG image, got "+ct)
		return
	}
	if ct != "image/svg+xml" {
		if err := CheckPlanSize(body); errors.Is(err, ErrPlanTooLarge) {
			httpError(w, http.StatusRequestEntityTooLarge, err.Error())
			return
		} else if err != nil {
			httpError(w, http.StatusUnsupportedMediaType, err.Error())
			return
		}
	}
	img := PlanImage{ContentType: ct, Data: body, Updated: s.cfg.Now().UnixMilli()}
	if err := s.backend.PutPlan(r.Context(), r.PathValue("site"), img); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"content_type": ct, "bytes": len(body)})
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) {
	img, err := s.backend.Plan(r.Context(), r.PathValue("site"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ct := img.ContentType
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	if ct == "image/svg+xml" {
		// An uploaded SVG must not run scripts in our origin.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	}
	w.Write(img.Data)
}

func (s *Server) sensors(w http.ResponseWriter, r *http.Request) {
	hs, err := s.backend.Sensors(r.Context(), r.PathValue("site"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if hs == nil {
		hs = []SensorHealth{}
	}
	writeJSON(w, http.StatusOK, hs)
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	snap, err := s.backend.Live(r.Context(), r.PathValue("site"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if snap.Tracks == nil {
		snap.Tracks = []wire.Position{}
	}
	if snap.Occupancy == nil {
		snap.Occupancy = map[string]int{}
	}
	writeJSON(w, http.StatusOK, snap)
}

func (s *Server) ws(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.siteOf(w, r); !ok {
		return
	}
	s.hub.serveWS(w, r, r.PathValue("site"))
}
