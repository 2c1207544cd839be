package web

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
)

// walkers publishes fixes of n tracks walking circles in the store every
// step until ctx ends, and remembers every fix it published.
type walkers struct {
	mu        sync.Mutex
	published map[string]map[[2]float64]bool
}

func walk(ctx context.Context, b *memBackend, n int, step time.Duration) *walkers {
	w := &walkers{published: map[string]map[[2]float64]bool{}}
	t0 := time.Now().UnixMilli()
	go func() {
		tick := time.NewTicker(step)
		defer tick.Stop()
		for i := 0; ; i++ {
			for k := range n {
				a := float64(i)*0.15 + float64(k)
				x := math.Round((15+float64(3+k)*math.Cos(a))*1000) / 1000
				y := math.Round((10+float64(2+k)*math.Sin(a)*0.8)*1000) / 1000
				p := fix(fmt.Sprintf("k%d", k+1), t0+int64(i)*step.Milliseconds(), x, y)
				p.Err = 0.8 + 0.2*float64(k)
				p.Zone = "store"
				w.mu.Lock()
				if w.published[p.Track] == nil {
					w.published[p.Track] = map[[2]float64]bool{}
				}
				w.published[p.Track][[2]float64{x, y}] = true
				w.mu.Unlock()
				b.publish("demo", p)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *walkers) has(track string, x, y float64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.published[track][[2]float64{x, y}]
}

func TestBrowserLiveMap(t *testing.T) {
	b := newDemoBackend()
	srv, ctx := browserServer(t, b)
	wctx, stop := context.WithCancel(context.Background())
	defer stop()
	w := walk(wctx, b, 6, 200*time.Millisecond)
	b.setOccupancy("demo", map[string]int{"store": 6, "aisle-1": 2})

	opened := time.Now()
	dots, err := webtest.LiveDots(ctx, srv.URL, "demo", 6, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(dots) != 6 {
		t.Fatalf("%d dots, want 6", len(dots))
	}
	for _, d := range dots {
		if !w.has(d.Track, d.X, d.Y) {
			t.Errorf("dot %s at (%g, %g) is no fix the backend published", d.Track, d.X, d.Y)
		}
		if d.Err <= 0 || d.Zone != "store" {
			t.Errorf("dot %+v lacks its error or zone", d)
		}
	}
	// The dots move: a later reading shows newer fixes.
	first := map[string]int64{}
	for _, d := range dots {
		first[d.Track] = d.T
	}
	moved := within(t, ctx, 20*time.Second)
	if err := chromedp.Do(moved, chromedp.Poll[chromedp.Void](fmt.Sprintf(
		`window.passantLive.tracks().every(d => d.t > (%s)[d.track])`, jsonObj(first)), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("dots did not move: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#live-occupancy li[data-zone="aisle-1"] .n`)))
	if err != nil || text != "2" {
		t.Fatalf("aisle-1 occupancy shows %q (%v), want 2", text, err)
	}
	if in, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#live-in-store`))); in != "6" {
		t.Fatalf("in store shows %q, want 6", in)
	}
	// The sparkline starts at the server's count, not at a 0 drawn before
	// the snapshot came.
	if spark, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`window.passantLive.spark()`)); err != nil || len(spark) == 0 || spark[0] != 6 {
		t.Fatalf("the in-store sparkline starts %v (%v), want 6", spark, err)
	}
	// Open or closed as the server's opening hours say.
	site, _, _ := b.Site(context.Background(), "demo")
	// Asked for the time the page opened and for now: the pill is redrawn
	// every minute, and an opening or closing time may fall between, when
	// either is right.
	wantOpen := site.Open.IsOpen(opened.In(site.Location()))
	pill, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#live-open`)))
	if open := strings.HasPrefix(pill, "open"); open != wantOpen && open != site.Open.IsOpen(time.Now().In(site.Location())) {
		t.Fatalf("opening hours pill %q, server says open=%v", pill, wantOpen)
	}
	// The JS rule agrees with wire.OpenHours.IsOpen over a whole week.
	for h := range 7 * 24 * 4 {
		ts := time.Date(2026, 11, 30, 0, 0, 0, 0, site.Location()).Add(time.Duration(h) * 15 * time.Minute)
		js, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`import('/static/js/api.js').then(m => m.openNow(%s, %d).open)`,
			mustJSON(site), ts.UnixMilli()), chromedp.EvalAwaitPromise))
		if err != nil || js != site.Open.IsOpen(ts) {
			t.Fatalf("%s: dashboard open=%v (%v), server %v", ts, js, err, site.Open.IsOpen(ts))
		}
	}
	// Picking a dot shows its recent path.
	err = chromedp.Do(within(t, ctx, 20*time.Second),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('path.dot').dispatchEvent(new MouseEvent('click', {bubbles: true}))`),
		chromedp.Poll[chromedp.Void](`document.querySelector('#live-picked').textContent.includes('fixes shown') && document.querySelector('path.trail') !== null`),
	)
	if err != nil {
		t.Fatalf("picking a dot: %v", err)
	}
	_ = chromedp.Do(ctx, chromedp.Sleep(600*time.Millisecond)) // let the glide settle for the picture
	webtest.Screenshot(t, ctx, "live")

	// A track that leaves disappears from the map.
	stop()
	b.gone("demo", "k3")
	gone := within(t, ctx, 20*time.Second)
	if err := chromedp.Do(gone, chromedp.Poll[chromedp.Void](`!window.passantLive.tracks().some(d => d.track === "k3") && window.passantLive.dotsOnMap() === 5`,
		chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("gone track still on the map: %v", err)
	}
}

// TestBrowserLiveMapFadesQuiet opens the live map on a snapshot that holds
// a phone heard a minute before the newest fix: it is drawn faded at once
// (as the map fades a dot that has not moved for 30 s), the fresh one not.
func TestBrowserLiveMapFadesQuiet(t *testing.T) {
	b := newDemoBackend()
	srv, ctx := browserServer(t, b)
	t0 := time.Now().UnixMilli()
	b.publish("demo", fix("quiet", t0-60_000, 10, 10))
	b.publish("demo", fix("fresh", t0, 20, 10))
	if _, err := webtest.LiveDots(ctx, srv.URL, "demo", 2, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	opacity := func(track string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
			`document.querySelector('path.dot[data-track=%q]')?.getAttribute('fill-opacity') ?? 'none'`, track)))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if q, f := opacity("quiet"), opacity("fresh"); q != "0.35" || f != "1" {
		t.Errorf("fill opacity: quiet %s, fresh %s; want 0.35 and 1", q, f)
	}
}

// TestBrowserLiveListByKeyboard: what a mouse gets from the live map's
// dots, a keyboard gets from the list beside the map: Tab reaches it, its
// rows are the dots (phone, zone, error, how long ago), and Enter on a
// phone shows its path, as a click on its dot does.
func TestBrowserLiveListByKeyboard(t *testing.T) {
	b := newDemoBackend()
	srv, ctx := browserServer(t, b)
	wctx, stop := context.WithCancel(context.Background())
	defer stop()
	walk(wctx, b, 3, 300*time.Millisecond)
	street := fix("walker", time.Now().UnixMilli(), 12, -4)
	street.Zone, street.Err = "street", 3.2
	b.publish("demo", street)
	if _, err := webtest.LiveDots(ctx, srv.URL, "demo", 4, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	c := within(t, ctx, 30*time.Second)
	step := webtest.Steps(t, ctx, c)
	// Tab from the top of the page until the list's summary has the focus.
	tabs := 0
	for ; tabs < 60; tabs++ {
		on, err := webtest.Eval[bool](c, `document.activeElement === document.querySelector('#live-list summary')`)
		if err != nil {
			t.Fatal(err)
		}
		if on {
			break
		}
		step("tab", chromedp.KeyEvent("\t"))
	}
	if tabs == 60 {
		t.Fatal("60 tabs did not reach the list of phones")
	}
	t.Logf("%d tabs to the list of phones", tabs)
	step("open the list", chromedp.KeyEvent("\r"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#live-list tbody tr').length === 4`))
	type row struct{ Track, Where, Err, Age string }
	rows, err := webtest.Eval[[]row](c, `[...document.querySelectorAll('#live-list tbody tr')].map(r => ({track: r.dataset.track,
		where: r.cells[1].textContent, err: r.cells[2].textContent, age: r.cells[3].textContent}))`)
	if err != nil {
		t.Fatal(err)
	}
	type dot struct {
		Track, Zone string
		Err         float64
	}
	dots, err := webtest.Eval[[]dot](c, `window.passantLive.tracks()`)
	if err != nil {
		t.Fatal(err)
	}
	// Zones by the names the occupancy list gives them.
	names := map[string]string{}
	for _, z := range []string{"store", "street"} {
		n, _ := webtest.Eval[string](c, fmt.Sprintf(`document.querySelector('#live-occupancy li[data-zone=%q] span').firstChild.textContent`, z))
		names[z] = n
	}
	names["street"] += " (outside)"
	want := map[string]dot{}
	for _, d := range dots {
		want[d.Track] = d
	}
	if len(rows) != len(dots) {
		t.Fatalf("%d rows in the list, %d dots on the map", len(rows), len(dots))
	}
	for i, r := range rows {
		d, ok := want[r.Track]
		if !ok || r.Where != names[d.Zone] || r.Err != fmt.Sprintf("%.1f m", d.Err) || r.Age == "" {
			t.Errorf("row %+v, dot %+v (zone %q)", r, d, names[d.Zone])
		}
		if i > 0 && rows[i-1].Track > r.Track {
			t.Errorf("rows out of order: %s before %s", rows[i-1].Track, r.Track)
		}
	}
	// Tab on into the table, to the first phone, and pick it.
	for tabs = 0; tabs < 5; tabs++ {
		on, _ := webtest.Eval[bool](c, `document.activeElement?.closest('tr')?.dataset.track === 'k1'`)
		if on {
			break
		}
		step("tab", chromedp.KeyEvent("\t"))
	}
	if tabs == 5 {
		t.Fatal("5 tabs from the summary did not reach the first phone")
	}
	step("pick by keyboard", chromedp.KeyEvent("\r"),
		chromedp.Poll[chromedp.Void](`window.passantLive.picked() === 'k1' && document.querySelector('#live-picked').textContent.startsWith('k1: ')
			&& document.querySelector('path.trail') !== null && document.activeElement.getAttribute('aria-pressed') === 'true'`))
	// The phones move on; the focus stays on the row of the one picked.
	step("the list follows the map", chromedp.Sleep(1500*time.Millisecond))
	if on, _ := webtest.Eval[bool](c, `document.activeElement?.closest('tr')?.dataset.track === 'k1'`); !on {
		t.Error("the focus left the picked phone's row as the phones moved")
	}
	webtest.Screenshot(t, ctx, "live-list")
}

func jsonObj(m map[string]int64) string {
	var sb strings.Builder
	sb.WriteString("{")
	i := 0
	for k, v := range m {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, "%q:%d", k, v)
		i++
	}
	sb.WriteString("}")
	return sb.String()
}
