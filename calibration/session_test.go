package calibration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// memSites is an in-memory versioned site store.
type memSites struct {
	mu       sync.Mutex
	versions []*wire.Site
	notes    []string
}

var errNotFound = errors.New("not found")

func (m *memSites) Site(_ context.Context, id string) (*wire.Site, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.versions[len(m.versions)-1]
	if s.Site != id {
		return nil, 0, fmt.Errorf("site %s: %w", id, errNotFound)
	}
	return cloneSite(s), len(m.versions), nil
}

func (m *memSites) PutSite(_ context.Context, s *wire.Site, note string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.versions = append(m.versions, cloneSite(s))
	m.notes = append(m.notes, note)
	return len(m.versions), nil
}

func (m *memSites) RevertSite(_ context.Context, id string, v int, note string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v < 1 || v > len(m.versions) {
		return 0, errNotFound
	}
	m.versions = append(m.versions, cloneSite(m.versions[v-1]))
	m.notes = append(m.notes, note)
	return len(m.versions), nil
}

// liveShop plays a simulated calibration walk into a Service in step with
// a fake clock: the installer's phone on its route, and a bystander.
type liveShop struct {
	w       *world
	svc     *Service
	clock   atomic.Int64
	phone   wire.Dev
	path    walkPath
	batches []wire.Batch
	next    int
	t0      int64
}

const liveT0 = 1764850000000

func newLiveShop(seed uint64, dur int64) *liveShop {
	w := newWorld()
	rng := rand.New(rand.NewPCG(seed, 99))
	// The phone is held at s1 for 20 s, then walks the route.
	route := installerWalk(rng, w.site, liveT0+20000, dur, 0.8, wire.Rect{{0.5, 0.5}, {29.5, 19.5}})
	s1 := w.site.Sensors[0]
	path := walkPath{pts: append([]wire.Point{{s1.X, s1.Y}}, route.pts...), ts: append([]int64{liveT0}, route.ts...)}
	return newLiveShopPath(w, rng, path)
}

// newLiveShopPath plays a phone on path (from liveT0) and a bystander.
func newLiveShopPath(w *world, rng *rand.Rand, path walkPath) *liveShop {
	ls := &liveShop{w: w, phone: 0x1234567890abcdef, t0: liveT0, path: path}
	end := path.ts[len(path.ts)-1] + 5000
	ls.batches = w.batches(rng, ls.path, ls.phone, 0, ls.t0, end, 2000)
	by := walkPath{pts: []wire.Point{{20, 12}}, ts: []int64{ls.t0}}
	ls.batches = append(ls.batches, w.batches(rng, by, 0xbeef, 0, ls.t0, end, 5000)...)
	sort.SliceStable(ls.batches, func(i, j int) bool { return ls.batches[i].Obs[0].T < ls.batches[j].Obs[0].T })
	sites := &memSites{versions: []*wire.Site{cloneSite(w.site)}}
	ls.svc = NewService(sites)
	ls.svc.Now = func() time.Time { return time.UnixMilli(ls.clock.Load()) }
	ls.clock.Store(ls.t0)
	return ls
}

// advance moves the clock to t, feeding the batches captured before it.
func (ls *liveShop) advance(t int64) {
	ls.clock.Store(t)
	for ls.next < len(ls.batches) && ls.batches[ls.next].Obs[0].T <= t {
		ls.svc.Observe("sim", &ls.batches[ls.next])
		ls.next++
	}
}

// walk starts se on the phone 15 s in and walks the path to its end,
// marking the phone's place every 5 s; a refused mark fails tb.
func (ls *liveShop) walk(tb testing.TB, se *Session) {
	tb.Helper()
	ls.advance(ls.t0 + 15000)
	se.Start(ls.phone)
	end := ls.path.ts[len(ls.path.ts)-1]
	for tm := ls.t0 + 15000; tm < end; tm += 1000 {
		ls.advance(tm)
		if (tm-ls.t0)%5000 == 0 {
			x, y := ls.path.at(tm)
			if _, err := se.Mark(x, y, 0); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func call(t *testing.T, h http.Handler, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, rd))
	if out != nil && rec.Code == 200 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, rec.Body.String())
		}
	}
	return rec.Code
}

// TestServiceWalk drives a whole calibration walk through the JSON API.
func TestServiceWalk(t *testing.T) {
	ls := newLiveShop(3, 6*60*1000)
	h := ls.svc.Handler()
	const api = "/api/sites/sim/calibration/"
	ls.svc.Session("sim") // the page opens: the session starts listening
	ls.advance(ls.t0 + 15000)
	var dv struct{ Devices []Candidate }
	if c := call(t, h, "GET", api+"devices?sensor=s1", nil, &dv); c != 200 || len(dv.Devices) < 2 || dv.Devices[0].Dev != ls.phone {
		t.Fatalf("devices: %d %+v", c, dv.Devices)
	}
	if c := call(t, h, "POST", api+"mark", map[string]float64{"x": 1, "y": 1}, nil); c != http.StatusConflict {
		t.Errorf("mark before start: %d", c)
	}
	var ph Phone
	call(t, h, "POST", api+"start", map[string]string{"dev": ls.phone.String()}, &ph)
	if ph.Dev != ls.phone {
		t.Fatalf("start: %+v", ph)
	}
	var st0 Status
	call(t, h, "GET", api+"status", nil, &st0)
	if st0.Ready || len(st0.Needs) == 0 {
		t.Errorf("status before walking: %+v", st0)
	}
	end := ls.path.ts[len(ls.path.ts)-1]
	for tm := ls.t0 + 15000; tm < end; tm += 1000 {
		ls.advance(tm)
		if (tm-ls.t0)%5000 == 0 {
			x, y := ls.path.at(tm)
			if c := call(t, h, "POST", api+"mark", map[string]float64{"x": x, "y": y}, nil); c != 200 {
				t.Fatalf("mark: %d", c)
			}
		}
	}
	var st Status
	call(t, h, "GET", api+"status", nil, &st)
	t.Logf("after the walk: %d marks, %d frames on the walk, coverage %.0f%%, needs %q", len(st.Marks), st.OnWalk, 100*st.Cover.Share, st.Needs)
	if !st.Ready || st.Cover.Share < 0.5 || st.OnWalk < 1000 || len(st.Sensors) != 6 {
		t.Fatalf("status %+v", st)
	}
	var rep Report
	if c := call(t, h, "POST", api+"fit", nil, &rep); c != 200 || rep.Chosen == "none" || rep.HeldAfter.Median >= rep.HeldBefore.Median {
		t.Fatalf("fit: %d chosen %q held %v -> %v", c, rep.Chosen, rep.HeldBefore, rep.HeldAfter)
	}
	var ap Applied
	call(t, h, "POST", api+"apply", nil, &ap)
	sites := ls.svc.Sites.(*memSites)
	if ap.Version != 2 || ap.Previous != 1 || sites.versions[1].Sensors[0].RSSI1m == nil {
		t.Fatalf("apply: %+v", ap)
	}
	var rv struct{ Version int }
	call(t, h, "POST", api+"revert", nil, &rv)
	if rv.Version != 3 || sites.versions[2].Sensors[0].RSSI1m != nil {
		t.Fatalf("revert: %+v", rv)
	}
	var wp struct{ Waypoints []wire.Point }
	if call(t, h, "GET", api+"waypoints", nil, &wp); len(wp.Waypoints) < 10 {
		t.Errorf("waypoints %v", wp.Waypoints)
	}
	var acc struct {
		Worst string
		Grid  struct{ Values []float64 }
	}
	if call(t, h, "GET", api+"accuracy", nil, &acc); acc.Worst != "store" || len(acc.Grid.Values) == 0 {
		t.Errorf("accuracy %+v", acc.Worst)
	}
	if c := call(t, h, "GET", "/api/sites/nosuch/calibration/status", nil, nil); c != 404 {
		t.Errorf("unknown site: %d", c)
	}
}

// The walk follows the phone's track across MAC changes.
func TestSessionFollowsTrack(t *testing.T) {
	w := newWorld()
	svc := NewService(&memSites{versions: []*wire.Site{cloneSite(w.site)}})
	now := int64(liveT0)
	svc.Now = func() time.Time { return time.UnixMilli(now) }
	svc.TrackOf = func(site string, d wire.Dev) string {
		if d == 1 || d == 2 {
			return "k7"
		}
		return ""
	}
	se := svc.Session("sim")
	obs := func(d wire.Dev, rssi float64) {
		svc.Observe("sim", &wire.Batch{V: 1, Sensor: "s1", Obs: []wire.Observation{{T: now, Dev: d, RSSI: rssi, Seq: -1}}})
	}
	obs(1, -40)
	obs(3, -70)
	if p := se.Start(1); p.Track != "k7" {
		t.Fatalf("phone %+v", p)
	}
	now += 30_000
	obs(2, -50) // the phone's next MAC
	obs(3, -60) // someone else
	se.mu.Lock()
	n := len(se.frames)
	se.mu.Unlock()
	if n != 2 {
		t.Errorf("%d frames of the phone, want 2 (two MACs of track k7)", n)
	}
	if _, err := se.Mark(5, 5, 0); err != nil {
		t.Fatal(err)
	}
	if se.Undo() != 0 {
		t.Error("undo")
	}
}

// BenchmarkStatus is one poll of the page's live feedback after a 6-minute
// walk (the page polls every 2 s).
func BenchmarkStatus(b *testing.B) {
	ls := newLiveShop(3, 6*60*1000)
	se := ls.svc.Session("sim")
	ls.walk(b, se)
	ctx := context.Background()
	for b.Loop() {
		if _, err := se.Status(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWalkLeftOpenStopsCollecting: a walk started and never finished (the
// installer closed the page) kept every frame of the phone for as long as
// the server ran: a staff phone used for the walk, heard all day by six
// sensors, grows the session by about 100 bytes a frame without end. A
// walk idle for WalkIdle (no mark) keeps no more frames.
func TestWalkLeftOpenStopsCollecting(t *testing.T) {
	w := newWorld()
	svc := NewService(&memSites{versions: []*wire.Site{cloneSite(w.site)}})
	now := int64(liveT0)
	svc.Now = func() time.Time { return time.UnixMilli(now) }
	se := svc.Session("sim")
	const phone = wire.Dev(0x1234)
	se.Start(phone)
	if _, err := se.Mark(3, 4, 0); err != nil {
		t.Fatal(err)
	}
	for ; now < liveT0+3*3600_000; now += 1000 {
		for _, s := range w.site.Sensors {
			svc.Observe("sim", &wire.Batch{V: 1, Sensor: s.ID, Obs: []wire.Observation{{T: now, Dev: phone, RSSI: -60, Seq: -1}}})
		}
	}
	se.mu.Lock()
	n := len(se.frames)
	se.mu.Unlock()
	if limit := int(WalkIdle/1000+60) * len(w.site.Sensors); n > limit {
		t.Errorf("a walk idle for 3 h holds %d frames of the phone, want at most %d (%v of them)", n, limit, time.Duration(WalkIdle)*time.Millisecond)
	}
	// Marking again resumes it.
	if _, err := se.Mark(5, 5, 0); err != nil {
		t.Fatal(err)
	}
	svc.Observe("sim", &wire.Batch{V: 1, Sensor: "s1", Obs: []wire.Observation{{T: now, Dev: phone, RSSI: -60, Seq: -1}}})
	se.mu.Lock()
	m := len(se.frames)
	se.mu.Unlock()
	if m != n+1 {
		t.Errorf("after a new mark the walk took %d frames, want 1", m-n)
	}
}

// TestMarkWantsXY: a mark posted without x or y is refused, not taken at 0.
func TestMarkWantsXY(t *testing.T) {
	ls := newLiveShop(3, 60*1000)
	h := ls.svc.Handler()
	const api = "/api/sites/sim/calibration/"
	ls.svc.Session("sim").Start(ls.phone)
	for _, body := range []any{map[string]float64{"x": 3}, map[string]float64{"y": 3}, map[string]any{"x": 1, "y": nil}} {
		if c := call(t, h, "POST", api+"mark", body, nil); c != http.StatusBadRequest {
			t.Errorf("mark %v: %d, want 400", body, c)
		}
	}
	if c := call(t, h, "POST", api+"mark", map[string]float64{"x": 0, "y": 0}, nil); c != 200 {
		t.Errorf("mark at (0, 0): %d", c)
	}
	if n := len(ls.svc.Session("sim").marksCopy()); n != 1 {
		t.Errorf("%d marks, want 1", n)
	}
}
