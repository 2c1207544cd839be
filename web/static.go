package web

import (
	"embed"
	"io/fs"
	"net/http"
)

// static holds the dashboard: plain HTML, CSS and JS modules, with Leaflet
// and uPlot vendored under static/vendor. No build step.
//
//go:embed static
var static embed.FS

// Static returns the dashboard's files.
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	return sub
}

func (s *Server) staticRoutes() {
	files := http.FileServerFS(Static())
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", noCache(files)))
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, Static(), "index.html")
	})
}

func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
