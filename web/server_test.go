package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestServer(t testing.TB, b Backend, cfg Config) *httptest.Server {
	t.Helper()
	cfg.Backend = b
	cfg.Log = quietLog()
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	srv := httptest.NewServer(New(cfg))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, ctype string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestHealthz(t *testing.T) {
	b := newDemoBackend()
	b.ready = false
	srv := newTestServer(t, b, Config{})
	res, _ := do(t, "GET", srv.URL+"/healthz", "", nil)
	if res.StatusCode != 503 {
		t.Fatalf("not ready: status %d, want 503", res.StatusCode)
	}
	b.mu.Lock()
	b.ready = true
	b.mu.Unlock()
	res, body := do(t, "GET", srv.URL+"/healthz", "", nil)
	if res.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("ready: %d %q", res.StatusCode, body)
	}
	// Ready, but the journal cannot write: 503 with why, then ok again.
	b.mu.Lock()
	b.unhealthy = errors.New("journal cannot write: no space left on device")
	b.mu.Unlock()
	res, body = do(t, "GET", srv.URL+"/healthz", "", nil)
	if res.StatusCode != 503 || !strings.Contains(string(body), "no space left") {
		t.Fatalf("journal failing: %d %q", res.StatusCode, body)
	}
	if _, m := do(t, "GET", srv.URL+"/metrics", "", nil); !strings.Contains(string(m), "passant_ready 0\n") {
		t.Fatalf("journal failing: /metrics does not say passant_ready 0")
	}
	b.mu.Lock()
	b.unhealthy = nil
	b.mu.Unlock()
	res, body = do(t, "GET", srv.URL+"/healthz", "", nil)
	if res.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("journal writing again: %d %q", res.StatusCode, body)
	}
	if _, m := do(t, "GET", srv.URL+"/metrics", "", nil); !strings.Contains(string(m), "passant_ready 1\n") {
		t.Fatalf("journal writing again: /metrics does not say passant_ready 1")
	}
}

func TestSiteVersionsAndRevert(t *testing.T) {
	b := newDemoBackend()
	srv := newTestServer(t, b, Config{})
	res, body := do(t, "GET", srv.URL+"/api/sites/demo", "", nil)
	if res.StatusCode != 200 || res.Header.Get("ETag") != `"v1"` {
		t.Fatalf("get: %d etag %s", res.StatusCode, res.Header.Get("ETag"))
	}
	var s wire.Site
	if err := json.Unmarshal(body, &s); err != nil || s.Name != "Demo Store" {
		t.Fatalf("get: %v %q", err, s.Name)
	}
	// Edit: add a zone, save with If-Match.
	s.Zones = append(s.Zones, wire.Zone{ID: "window", Kind: "area", Polygon: []wire.Point{{10, 0}, {20, 0}, {20, 2}, {10, 2}}})
	edited, _ := json.Marshal(&s)
	req, _ := http.NewRequest("PUT", srv.URL+"/api/sites/demo", bytes.NewReader(edited))
	req.Header.Set("If-Match", `"v1"`)
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version SiteVersion `json:"version"`
		Site    wire.Site   `json:"site"`
	}
	json.NewDecoder(res2.Body).Decode(&doc)
	res2.Body.Close()
	if res2.StatusCode != 200 || doc.Version.Version != 2 || doc.Site.Zone("window") == nil {
		t.Fatalf("put: %d version %d", res2.StatusCode, doc.Version.Version)
	}
	// A stale If-Match is refused.
	req, _ = http.NewRequest("PUT", srv.URL+"/api/sites/demo", bytes.NewReader(edited))
	req.Header.Set("If-Match", `"v1"`)
	res3, _ := http.DefaultClient.Do(req)
	res3.Body.Close()
	if res3.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("stale put: %d, want 412", res3.StatusCode)
	}
	// Versions, newest first.
	_, body = do(t, "GET", srv.URL+"/api/sites/demo/versions", "", nil)
	var vs []SiteVersion
	json.Unmarshal(body, &vs)
	if len(vs) != 2 || vs[0].Version != 2 {
		t.Fatalf("versions: %s", body)
	}
	// Revert to 1: version 3 without the zone.
	res, body = do(t, "POST", srv.URL+"/api/sites/demo/revert", "application/json", []byte(`{"version":1}`))
	json.Unmarshal(body, &doc)
	if res.StatusCode != 200 || doc.Version.Version != 3 || doc.Site.Zone("window") != nil {
		t.Fatalf("revert: %d %s", res.StatusCode, body)
	}
	// Old version by number.
	res, _ = do(t, "GET", srv.URL+"/api/sites/demo/versions/2", "", nil)
	if res.StatusCode != 200 {
		t.Fatalf("version 2: %d", res.StatusCode)
	}
	res, _ = do(t, "GET", srv.URL+"/api/sites/demo/versions/9", "", nil)
	if res.StatusCode != 404 {
		t.Fatalf("version 9: %d, want 404", res.StatusCode)
	}
}

func TestPutSiteRejectsBadInput(t *testing.T) {
	srv := newTestServer(t, newDemoBackend(), Config{})
	cases := []struct{ name, path, body string }{
		{"not json", "/api/sites/demo", "{"},
		{"other site", "/api/sites/other", strings.Replace(demoSiteJSON, `"site":"demo"`, `"site":"x"`, 1)},
		{"bad bounds", "/api/sites/demo", strings.Replace(demoSiteJSON, `[[-2,-8],[32,22]]`, `[[5,5],[1,1]]`, 1)},
		{"unknown field", "/api/sites/demo", strings.Replace(demoSiteJSON, `"name"`, `"nmae"`, 1)},
	}
	for _, c := range cases {
		res, body := do(t, "PUT", srv.URL+c.path, "application/json", []byte(c.body))
		if res.StatusCode != 400 || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s: %d %s, want 400 with an error", c.name, res.StatusCode, body)
		}
	}
	res, _ := do(t, "GET", srv.URL+"/api/sites/nope", "", nil)
	if res.StatusCode != 404 {
		t.Errorf("unknown site: %d, want 404", res.StatusCode)
	}
	res, _ = do(t, "GET", srv.URL+"/api/sites/bad%20id", "", nil)
	if res.StatusCode != 400 {
		t.Errorf("bad id: %d, want 400", res.StatusCode)
	}
}

func TestPlanUpload(t *testing.T) {
	b := newDemoBackend()
	srv := newTestServer(t, b, Config{})
	res, _ := do(t, "GET", srv.URL+"/api/sites/demo/plan", "", nil)
	if res.StatusCode != 404 {
		t.Fatalf("no plan: %d", res.StatusCode)
	}
	res, body := do(t, "PUT", srv.URL+"/api/sites/demo/plan", "image/png", tinyPNG)
	if res.StatusCode != 200 {
		t.Fatalf("put plan: %d %s", res.StatusCode, body)
	}
	res, body = do(t, "GET", srv.URL+"/api/sites/demo/plan", "", nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || !bytes.Equal(body, tinyPNG) {
		t.Fatalf("get plan: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	res, _ = do(t, "PUT", srv.URL+"/api/sites/demo/plan", "image/png", []byte("hello, not an image"))
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text as plan: %d, want 415", res.StatusCode)
	}
	svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>`)
	res, _ = do(t, "PUT", srv.URL+"/api/sites/demo/plan", "image/svg+xml", svg)
	if res.StatusCode != 200 {
		t.Fatalf("svg plan: %d", res.StatusCode)
	}
	res, _ = do(t, "GET", srv.URL+"/api/sites/demo/plan", "", nil)
	if !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("svg plan served without a sandbox CSP")
	}
}

func TestReportAndCSV(t *testing.T) {
	b := newDemoBackend()
	srv := newTestServer(t, b, Config{})
	res, body := do(t, "GET", srv.URL+"/api/sites/demo/report?from=2026-12-01&to=2026-12-01", "", nil)
	if res.StatusCode != 200 {
		t.Fatalf("report: %d %s", res.StatusCode, body)
	}
	var rep wire.Report
	json.Unmarshal(body, &rep)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, berlin)
	if rep.From != day.UnixMilli() || rep.To != day.AddDate(0, 0, 1).UnixMilli() || len(rep.Hours) != 24 {
		t.Fatalf("report range %d..%d with %d hours, want one Berlin day", rep.From, rep.To, len(rep.Hours))
	}
	res, body = do(t, "GET", srv.URL+"/api/sites/demo/report.csv?from=2026-12-01&to=2026-12-01", "", nil)
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 25 || recs[0][2] != "passersby" || recs[5][2] != "40" {
		t.Fatalf("hours csv: %v %d rows %v", err, len(recs), recs[:min(len(recs), 6)])
	}
	if !strings.Contains(res.Header.Get("Content-Disposition"), "demo-hours-2026-12-01.csv") {
		t.Fatalf("disposition %q", res.Header.Get("Content-Disposition"))
	}
	_, body = do(t, "GET", srv.URL+"/api/sites/demo/report.csv?from=2026-12-01&to=2026-12-01&part=paths", "", nil)
	if !strings.HasPrefix(string(body), "from,to,count\nstore,aisle-1,31\n") {
		t.Fatalf("paths csv: %q", body)
	}
	for _, q := range []string{"from=yesterday", "from=2026-12-02&to=2026-12-01", "part=nope"} {
		path := "/api/sites/demo/report?"
		if strings.HasPrefix(q, "part") {
			path = "/api/sites/demo/report.csv?"
		}
		res, _ = do(t, "GET", srv.URL+path+q, "", nil)
		if res.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", q, res.StatusCode)
		}
	}
}

func TestHeatmapQuery(t *testing.T) {
	b := newDemoBackend()
	srv := newTestServer(t, b, Config{})
	res, body := do(t, "GET", srv.URL+"/api/sites/demo/heatmap?from=1764806400000&to=1764892800000&zone=aisle-1&cell=1&hours=10-14", "", nil)
	if res.StatusCode != 200 {
		t.Fatalf("heatmap: %d %s", res.StatusCode, body)
	}
	var g Heatmap
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatalf("heatmap JSON: %v: %.200s", err, body)
	}
	if g.W != 34 || g.H != 30 || len(g.Values) != g.W*g.H || g.Max <= 0 || g.Site != "demo" || g.Bounds != (wire.Rect{{-2, -8}, {32, 22}}) {
		t.Fatalf("grid %dx%d, %d values, max %g", g.W, g.H, len(g.Values), g.Max)
	}
	q := b.heatQ[len(b.heatQ)-1]
	want := HeatmapQuery{Site: "demo", From: 1764806400000, To: 1764892800000, Zone: "aisle-1", Cell: 1, HourFrom: 10, HourTo: 14}
	if q != want {
		t.Fatalf("query %+v, want %+v", q, want)
	}
	// staff=1 includes the staff's time; anything else but 0 is refused.
	if res, body := do(t, "GET", srv.URL+"/api/sites/demo/heatmap?from=1764806400000&to=1764892800000&staff=1", "", nil); res.StatusCode != 200 {
		t.Fatalf("heatmap staff=1: %d %s", res.StatusCode, body)
	}
	if q := b.heatQ[len(b.heatQ)-1]; !q.Staff {
		t.Errorf("staff=1 reached the backend as %+v", q)
	}
	if res, _ := do(t, "GET", srv.URL+"/api/sites/demo/heatmap?from=1764806400000&to=1764892800000&staff=yes", "", nil); res.StatusCode != 400 {
		t.Errorf("staff=yes: %d, want 400", res.StatusCode)
	}
	// The PNG is drawn over the floor plan when there is one.
	plan := image.NewRGBA(image.Rect(0, 0, 60, 40))
	var pb bytes.Buffer
	png.Encode(&pb, plan)
	b.PutPlan(context.Background(), "demo", PlanImage{ContentType: "image/png", Data: pb.Bytes()})
	res, body = do(t, "GET", srv.URL+"/api/sites/demo/heatmap.png?download=1&from=2026-12-01&to=2026-12-07", "", nil)
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Disposition"), "demo-heatmap.png") {
		t.Fatalf("png: %d %q %s", res.StatusCode, res.Header.Get("Content-Disposition"), body)
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil || img.Bounds().Dx() < 300 {
		t.Fatalf("png: %v, %v", err, img.Bounds())
	}
	for _, q := range []string{"zone=nowhere", "cell=0", "cell=abc", "hours=14-10", "hours=3"} {
		res, _ = do(t, "GET", srv.URL+"/api/sites/demo/heatmap?"+q, "", nil)
		if res.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", q, res.StatusCode)
		}
	}
}

func TestPOSImport(t *testing.T) {
	b := newDemoBackend()
	srv := newTestServer(t, b, Config{})
	csvBody := "receipt;time;total\nR1;2026-12-01 10:15:00;12,50\nR2;1764580000;3\n\nR3;2026-12-01T11:00:00Z;\n"
	res, body := do(t, "POST", srv.URL+"/api/sites/demo/pos", "text/csv", []byte(csvBody))
	if res.StatusCode != 200 || !strings.Contains(string(body), `"receipts":3`) {
		t.Fatalf("csv: %d %s", res.StatusCode, body)
	}
	tx := b.tx["demo"]
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if len(tx) != 3 || tx[0].ID != "R1" || tx[0].Amount != 12.5 || !tx[0].HasAmount ||
		tx[0].T != time.Date(2026, 12, 1, 10, 15, 0, 0, berlin).UnixMilli() ||
		tx[1].T != 1764580000000 || tx[2].HasAmount || tx[0].Site != "demo" {
		t.Fatalf("parsed %+v", tx)
	}
	res, body = do(t, "POST", srv.URL+"/api/sites/demo/pos", "application/json", []byte(`{"transactions":[{"t":1764580000000,"amount":9.99,"id":7}]}`))
	if res.StatusCode != 200 || b.tx["demo"][3].ID != "7" || b.tx["demo"][3].Amount != 9.99 {
		t.Fatalf("json: %d %s %+v", res.StatusCode, body, b.tx["demo"])
	}
	res, body = do(t, "POST", srv.URL+"/api/sites/demo/pos", "text/csv", []byte("time,amount\n2026-12-01 10:00,abc\n"))
	if res.StatusCode != 400 || !strings.Contains(string(body), "line 2") {
		t.Fatalf("bad amount: %d %s", res.StatusCode, body)
	}
	res, _ = do(t, "POST", srv.URL+"/api/sites/demo/pos", "text/csv", []byte("amount\n3\n"))
	if res.StatusCode != 400 {
		t.Fatalf("no time column: %d", res.StatusCode)
	}
}

func TestReprocess(t *testing.T) {
	b := newDemoBackend()
	srv := newTestServer(t, b, Config{})
	res, body := do(t, "POST", srv.URL+"/api/sites/demo/reprocess", "application/json", []byte(`{"from":"2026-12-01","to":"2026-12-02"}`))
	if res.StatusCode != 200 || len(b.reproc) != 1 || b.reproc[0][1]-b.reproc[0][0] != 2*86400_000 {
		t.Fatalf("reprocess: %d %s %v", res.StatusCode, body, b.reproc)
	}
	if strings.Contains(string(body), "thinned") {
		t.Fatalf("a range the retention did not thin: %s", body)
	}
	// A range the passers-by retention thinned says which days kept what.
	b.mu.Lock()
	b.reprocessed = Reprocessed{ThinnedBefore: 1764630000000, Days: []KeptDay{{Date: "2026-12-01", Kept: 230, Rebuilt: 61}}}
	b.mu.Unlock()
	res, body = do(t, "POST", srv.URL+"/api/sites/demo/reprocess", "application/json", []byte(`{"from":"2026-12-01","to":"2026-12-02"}`))
	if res.StatusCode != 200 || !strings.Contains(string(body), `"thinned_before":1764630000000,"thinned_days":[{"date":"2026-12-01","kept":230,"rebuilt":61}]`) {
		t.Fatalf("reprocess of a thinned range: %d %s", res.StatusCode, body)
	}
	res, _ = do(t, "POST", srv.URL+"/api/sites/demo/reprocess", "application/json", []byte(`{"from":5,"to":1}`))
	if res.StatusCode != 400 {
		t.Fatalf("backwards range: %d", res.StatusCode)
	}
}

func TestChain(t *testing.T) {
	b := newDemoBackend()
	s2, _ := wire.ParseSite([]byte(strings.Replace(demoSiteJSON, `"site":"demo"`, `"site":"berlin-2"`, 1)), false)
	b.put(s2, "file", "")
	b.setOccupancy("demo", map[string]int{"store": 4, "aisle-1": 2})
	srv := newTestServer(t, b, Config{})
	_, body := do(t, "GET", srv.URL+"/api/chain?date=2026-12-01", "", nil)
	var out []SiteSummary
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	// 24 hours of 10*i passers-by and i visitors: 2760 and 276.
	if len(out) != 2 || out[0].Site != "berlin-2" || out[1].Visitors != 276 || out[1].Passersby != 2760 ||
		out[1].InStore != 4 || out[1].Sensors != 4 || out[1].SensorsOnline != 3 || out[1].Date != "2026-12-01" {
		t.Fatalf("chain: %s", body)
	}
	s3, _ := wire.ParseSite([]byte(strings.Replace(strings.Replace(demoSiteJSON, `"site":"demo"`, `"site":"evil"`, 1),
		`"name":"Demo Store"`, `"name":"=HYPERLINK(\"http://x\")"`, 1)), false)
	b.put(s3, "file", "")
	_, body = do(t, "GET", srv.URL+"/api/chain.csv?date=2026-12-01", "", nil)
	recs, _ := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if len(recs) != 4 || recs[2][0] != "demo" || recs[2][4] != "276" {
		t.Fatalf("chain csv: %v", recs)
	}
	if recs[3][0] != "evil" || !strings.HasPrefix(recs[3][1], "'=") {
		t.Fatalf("a formula in a site name reached the CSV as is: %q", recs[3][1])
	}
	// Every site's hours in one CSV, each row led by its site.
	_, body = do(t, "GET", srv.URL+"/api/reports.csv?from=2026-12-01&to=2026-12-01&part=hours", "", nil)
	recs, _ = csv.NewReader(bytes.NewReader(body)).ReadAll()
	if len(recs) != 1+3*24 || recs[0][0] != "site" || recs[0][3] != "passersby" || recs[1][0] != "berlin-2" || recs[49][0] != "evil" || recs[30][0] != "demo" || recs[30][3] != "50" {
		t.Fatalf("reports csv: %d rows, %v %v", len(recs), recs[0], recs[min(30, len(recs)-1)])
	}
}

func TestMetrics(t *testing.T) {
	srv := newTestServer(t, newDemoBackend(), Config{})
	_, body := do(t, "GET", srv.URL+"/metrics", "", nil)
	s := string(body)
	for _, want := range []string{
		"# TYPE passant_observations_total counter\npassant_observations_total 1234\n",
		"# TYPE passant_rejected_total counter\npassant_rejected_total{reason=\"unknown_sensor\"} 2\npassant_rejected_total{reason=\"bad_json\"} 1\n",
		"passant_websocket_clients 0\n",
		"passant_ready 1\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("metrics lack %q:\n%s", want, s)
		}
	}
	if strings.Count(s, "# TYPE passant_rejected_total") != 1 {
		t.Errorf("TYPE repeated")
	}
}

func TestSecureHeadersAndCSRF(t *testing.T) {
	srv := newTestServer(t, newDemoBackend(), Config{})
	res, _ := do(t, "GET", srv.URL+"/", "", nil)
	if res.StatusCode != 200 || res.Header.Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers: %d %v", res.StatusCode, res.Header)
	}
	// A state change from another site is refused.
	req, _ := http.NewRequest("POST", srv.URL+"/api/sites/demo/reprocess", strings.NewReader(`{"from":1,"to":2}`))
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Fatalf("cross-site POST: %d, want 403", res.StatusCode)
	}
}

func TestRateLimit(t *testing.T) {
	srv := newTestServer(t, newDemoBackend(), Config{RateLimit: 1})
	limited := 0
	for range 20 {
		res, _ := do(t, "GET", srv.URL+"/api/sites", "", nil)
		if res.StatusCode == 429 {
			limited++
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	// A burst of 4 s worth at 1/s, then refusals (a few tokens may refill).
	if limited < 10 {
		t.Fatalf("%d of 20 requests limited, want most", limited)
	}
	res, _ := do(t, "GET", srv.URL+"/healthz", "", nil)
	if res.StatusCode != 200 {
		t.Fatalf("healthz is not rate limited: %d", res.StatusCode)
	}
}

func TestLimiterRefills(t *testing.T) {
	l := newLimiter(2, 2)
	t0 := time.Unix(1000, 0)
	if !l.allow("a", t0) || !l.allow("a", t0) || l.allow("a", t0) {
		t.Fatal("burst of 2 not enforced")
	}
	if !l.allow("b", t0) {
		t.Fatal("buckets are per key")
	}
	if !l.allow("a", t0.Add(500*time.Millisecond)) || l.allow("a", t0.Add(500*time.Millisecond)) {
		t.Fatal("refill of 2/s wrong")
	}
}

func TestCalibrationMounted(t *testing.T) {
	var got string
	cal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.URL.Path + " " + r.PathValue("site")
		w.Write([]byte(`{"ok":true}`))
	})
	srv := newTestServer(t, newDemoBackend(), Config{Calibration: cal})
	res, _ := do(t, "POST", srv.URL+"/api/sites/demo/calibration/mark", "application/json", []byte(`{"x":1,"y":2}`))
	if res.StatusCode != 200 || got != "POST /api/sites/demo/calibration/mark demo" {
		t.Fatalf("calibration: %d %q", res.StatusCode, got)
	}
}

func TestStaticGzip(t *testing.T) {
	srv := newTestServer(t, newDemoBackend(), Config{})
	req, _ := http.NewRequest("GET", srv.URL+"/static/vendor/leaflet/leaflet.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	tr := &http.Transport{DisableCompression: true}
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	zipped, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("headers %v", res.Header)
	}
	plain, _ := fs.ReadFile(Static(), "vendor/leaflet/leaflet.js")
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if !bytes.Equal(got, plain) || len(zipped) > len(plain)/2 {
		t.Fatalf("gzip: %d bytes for %d, round trip equal %v", len(zipped), len(plain), bytes.Equal(got, plain))
	}
	// Without gzip, the file as is.
	res2, body := do(t, "GET", srv.URL+"/static/vendor/leaflet/leaflet.js", "", nil)
	_ = res2
	req, _ = http.NewRequest("GET", srv.URL+"/static/vendor/leaflet/leaflet.js", nil)
	res3, _ := (&http.Client{Transport: tr}).Do(req)
	b3, _ := io.ReadAll(res3.Body)
	res3.Body.Close()
	if res3.Header.Get("Content-Encoding") != "" || !bytes.Equal(b3, plain) || !bytes.Equal(body, plain) {
		t.Fatalf("plain: %q, %d bytes", res3.Header.Get("Content-Encoding"), len(b3))
	}
}
