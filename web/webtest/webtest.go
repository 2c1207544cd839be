// Package webtest drives the Passant dashboard in a real headless Chromium
// (chromedp) for tests: the web package's own browser tests, and the
// server's end-to-end tests, which point it at a running `passant serve` or
// `passant demo`.
//
// Chromium comes from PASSANT_TEST_CHROMIUM (e.g. /usr/bin/chromium); without
// it Browser skips the test. Screenshots go to PASSANT_TEST_ARTIFACTS (or the
// test's temporary directory) and their paths are logged.
package webtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser starts a fresh headless Chromium for t and returns a context of
// one tab; it is closed when the test ends. The tab is 1280x900.
func Browser(t testing.TB) context.Context {
	t.Helper()
	exe := os.Getenv("PASSANT_TEST_CHROMIUM")
	if exe == "" {
		t.Skip("set PASSANT_TEST_CHROMIUM to run (e.g. /usr/bin/chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelT := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelT(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	return ctx
}

// ArtifactDir is where screenshots go: $PASSANT_TEST_ARTIFACTS, or a
// directory of the test's own.
func ArtifactDir(t testing.TB) string {
	dir := os.Getenv("PASSANT_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// Screenshot saves the tab as <test>-<name>.png and logs the path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(ArtifactDir(t), unsafeName.ReplaceAllString(t.Name()+"-"+name, "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	t.Logf("screenshot: %s", path)
	return path
}

// Failed records what a failing test's tab shows: a screenshot and, in the
// log, the page's address, the view's data attributes, the toast (where
// the dashboard reports a failed request) and the requests that had not
// finished. tab is the tab Browser gave, not a context past its deadline.
func Failed(t testing.TB, tab context.Context, name string) {
	t.Helper()
	Screenshot(t, tab, name+"-failed")
	c, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	state, err := Eval[string](c, `JSON.stringify({
		url: location.href,
		main: Object.assign({}, document.querySelector('main')?.dataset),
		toast: document.getElementById('toast')?.textContent || '',
		pending: performance.getEntriesByType('resource').filter(e => e.responseEnd === 0).map(e => e.name),
		slow: performance.getEntriesByType('resource').filter(e => e.duration > 1000).map(e => e.name + ' ' + Math.round(e.duration) + ' ms'),
	})`)
	if err != nil {
		t.Logf("page state: %v", err)
		return
	}
	t.Logf("page state: %s", state)
}

// Steps returns a function that runs a named step of browser actions in
// ctx (derived from the tab Browser gave, usually with a deadline) and,
// when a step fails, records the tab's state (Failed) and ends the test.
func Steps(t testing.TB, tab, ctx context.Context) func(what string, acts ...chromedp.Action[chromedp.Void]) {
	return func(what string, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, acts...); err != nil {
			Failed(t, tab, "step")
			t.Fatalf("%s: %v", what, err)
		}
	}
}

// Dot is a track as the live floor map shows it: the newest fix the browser
// got for it.
type Dot struct {
	Track string  `json:"track"`
	Dev   string  `json:"dev"`
	T     int64   `json:"t"`
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	Err   float64 `json:"err"`
	Zone  string  `json:"zone"`
	N     int     `json:"n"`
}

// OpenLive opens the live floor map of site at baseURL (e.g.
// http://127.0.0.1:8080) and waits until the view is up.
func OpenLive(ctx context.Context, baseURL, site string) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(strings.TrimRight(baseURL, "/")+"/#/live/"+site),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="live"]`)),
	)
}

// MapDots returns the dots the open live map shows, once at least min of
// them are drawn on the map (or ctx ends). It checks that each is an SVG
// dot on the map, not just in the page's memory.
func MapDots(ctx context.Context, min int) ([]Dot, error) {
	var dots []Dot
	for {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.passantLive ? window.passantLive.tracks() : [])`))
		if err != nil {
			return nil, fmt.Errorf("webtest: read the map: %w", err)
		}
		onMap, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.passantLive ? window.passantLive.dotsOnMap() : 0`))
		if err != nil {
			return nil, fmt.Errorf("webtest: read the map: %w", err)
		}
		dots = dots[:0]
		if err := json.Unmarshal([]byte(raw), &dots); err != nil {
			return nil, fmt.Errorf("webtest: read the map: %w", err)
		}
		if len(dots) >= min && onMap >= min {
			return dots, nil
		}
		select {
		case <-ctx.Done():
			return dots, fmt.Errorf("webtest: %d dots on the map (%d drawn), want %d: %w", len(dots), onMap, min, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// LiveDots opens the live map of site at baseURL and returns its dots once at
// least min are shown, waiting at most timeout: what the end-to-end test of
// `passant demo` compares with the API's fixes.
func LiveDots(ctx context.Context, baseURL, site string, min int, timeout time.Duration) ([]Dot, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := OpenLive(ctx, baseURL, site); err != nil {
		return nil, fmt.Errorf("webtest: open the live map: %w", err)
	}
	return MapDots(ctx, min)
}

// Eval evaluates a JavaScript expression in the tab and decodes its value.
func Eval[T any](ctx context.Context, expr string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// ClickPlan clicks the site editor's plan at each point, in site metres
// (the editor maps them to the page: window.passantEditor.pagePoint).
func ClickPlan(ctx context.Context, points ...[2]float64) error {
	for _, p := range points {
		xy, err := Eval[[]float64](ctx, fmt.Sprintf(`window.passantEditor.pagePoint(%g, %g)`, p[0], p[1]))
		if err != nil {
			return fmt.Errorf("webtest: the editor's point %v: %w", p, err)
		}
		if err := chromedp.Do(ctx, chromedp.MouseClickXY(xy[0], xy[1])); err != nil {
			return fmt.Errorf("webtest: click the editor at %v: %w", p, err)
		}
	}
	return nil
}
