package web

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
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

// gzipped holds the text files of the dashboard compressed once, by path.
var (
	gzipOnce sync.Once
	gzipped  map[string][]byte
)

func gzipStatic() map[string][]byte {
	gzipOnce.Do(func() {
		gzipped = map[string][]byte{}
		fs.WalkDir(Static(), ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !compressible(p) {
				return err
			}
			data, err := fs.ReadFile(Static(), p)
			if err != nil || len(data) < 1024 {
				return err
			}
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(data)
			zw.Close()
			gzipped[p] = buf.Bytes()
			return nil
		})
	})
	return gzipped
}

func compressible(p string) bool {
	switch path.Ext(p) {
	case ".js", ".css", ".html", ".svg", ".json", ".map":
		return true
	}
	return false
}

func (s *Server) staticRoutes() {
	files := http.FileServerFS(Static())
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		serveGzip(w, r, r.URL.Path, files)
	})))
	index := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, Static(), "index.html")
	})
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		serveGzip(w, r, "index.html", index)
	})
}

// serveGzip answers with the precompressed file when the client takes gzip,
// else with next.
func serveGzip(w http.ResponseWriter, r *http.Request, name string, next http.Handler) {
	w.Header().Add("Vary", "Accept-Encoding")
	z, ok := gzipStatic()[strings.TrimPrefix(name, "/")]
	if !ok || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") || r.Header.Get("Range") != "" {
		next.ServeHTTP(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Encoding", "gzip")
	w.Write(z)
}
