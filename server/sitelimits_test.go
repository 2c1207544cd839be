package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSiteListsLimited: checking a site's polygons for crossing edges is
// quadratic in their points, and nothing bounded them (nor the zones, nor
// the sensors, whose spread the locator measures in cubic time): an
// installer's PUT of 672 KB with one polygon of 32,000 points took 6.5 s
// of CPU to validate, a body of the 32 MiB allowed some hours; 1,000
// sensors took 5.5 s to apply. Sites over the limits (wire.MaxSensors,
// MaxZones, MaxPolygonPoints) are refused at once (400); a site at the
// limits is taken (its times are logged, not asserted).
func TestSiteListsLimited(t *testing.T) {
	dir := t.TempDir()
	in := startInstance(t, Config{HTTP: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", SiteFiles: []string{testSiteFile(t, dir, "shop")},
		DataDir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer in.stop()
	circle := func(n int) string {
		pts := make([]string, n)
		for i := range pts {
			a := 2 * math.Pi * float64(i) / float64(n)
			pts[i] = fmt.Sprintf("[%.6f,%.6f]", 10+9*math.Cos(a), 7.5+7*math.Sin(a))
		}
		return "[" + strings.Join(pts, ",") + "]"
	}
	sensors := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf(`{"id":"s%d","x":%g,"y":0,"z":2.5}`, i, float64(i%20))
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	zones := func(n int) string {
		z := []string{`{"id":"store","kind":"store","polygon":[[0,0],[20,0],[20,15],[0,15]]}`}
		for i := 1; i < n; i++ {
			z = append(z, fmt.Sprintf(`{"id":"a%d","kind":"area","polygon":[[9,7],[10,7],[10,8]]}`, i))
		}
		return "[" + strings.Join(z, ",") + "]"
	}
	put := func(sensors, zones string) (int, string) {
		body := `{"site":"shop","bounds":[[-2,-8],[22,17]],"sensors":` + sensors + `,"zones":` + zones + `}`
		req, _ := http.NewRequest("PUT", "http://"+in.srv.HTTPAddr()+"/api/sites/shop", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		msg, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(msg[:min(len(msg), 200)])
	}
	three := sensors(3)
	for _, c := range []struct {
		what           string
		sensors, zones string
		want           int
	}{
		{"a store of 32,000 points", three, `[{"id":"store","kind":"store","polygon":` + circle(32000) + `}]`, 400},
		{"300 sensors", sensors(300), zones(1), 400},
		{"300 zones", three, zones(300), 400},
		{"a store of 1,000 points, 256 sensors, 200 zones", sensors(256), strings.Replace(zones(200),
			`[[0,0],[20,0],[20,15],[0,15]]`, circle(1000), 1), 200},
	} {
		t0 := time.Now()
		code, msg := put(c.sensors, c.zones)
		t.Logf("%s: %v", c.what, time.Since(t0))
		if code != c.want {
			t.Errorf("%s: %d %s, want %d", c.what, code, msg, c.want)
		}
	}
}
