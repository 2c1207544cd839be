package webtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Screen is a browser window size to look at the dashboard with.
type Screen struct {
	Name   string
	W, H   int64
	Mobile bool // a phone: touch, mobile viewport, 2x pixels
}

var (
	Desktop = Screen{Name: "desktop 1280x900", W: 1280, H: 900}
	Phone   = Screen{Name: "phone 390x844", W: 390, H: 844, Mobile: true}
)

// SmokeSite is a site for Smoke to visit.
type SmokeSite struct {
	ID string
	// Data: the site has counts and people on its live map (Smoke then
	// clicks a dot); without, a new site that has counted nobody.
	Data bool
}

// SmokeConfig says what Smoke visits and as whom.
type SmokeConfig struct {
	Base    string      // the server, e.g. http://127.0.0.1:8080
	Sites   []SmokeSite // every view of each, in this order
	Screens []Screen    // default Desktop and Phone
	// Role is the role of the user (RoleAdmin where the server has no
	// logins); Smoke checks that the tools above it are hidden.
	Role string
	// Name and Password log the browser in first (through the API, so
	// that no 401 is in the console); empty: the server has no logins.
	Name, Password string
	// Calibrate: the server has the calibration walk's page and API.
	Calibrate bool
}

// Smoke visits every view of the dashboard (the start page, live, heatmap,
// footfall, paths, sensors, site editor, chain, and the calibration walk's
// page) for each site, the account page, at each screen, does each view's main
// interactions (sites switched, date ranges, "Today", comparisons,
// heatmap options, a live dot and a phone of the list picked, the chain
// sorted, the glossary opened, the editor's tools used without saving, the
// calibration page's modes and its picture), and returns what went wrong:
// uncaught exceptions, console errors, log entries of level error (a
// failed request), answers 5xx, a page left loading, an error shown on the
// page, and an interaction that had no effect. Each problem says the
// screen, route and step. tab is a tab from Browser; the whole visit
// must end within d.
func Smoke(t testing.TB, tab context.Context, cfg SmokeConfig, d time.Duration) []Problem {
	t.Helper()
	if len(cfg.Screens) == 0 {
		cfg.Screens = []Screen{Desktop, Phone}
	}
	w, err := NewWatch(tab)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(tab, d)
	defer cancel()
	s := &smoke{t: t, tab: tab, ctx: ctx, w: w, cfg: cfg}
	if cfg.Name != "" {
		s.login()
	}
	for _, sc := range cfg.Screens {
		if ctx.Err() != nil {
			break
		}
		s.screen = sc
		s.visitScreen()
	}
	if ctx.Err() != nil {
		w.Add("loading", fmt.Sprintf("the visit did not end within %v", d))
	}
	t.Logf("smoke: %d screens, %d sites, %d steps, %d problems, in %v", len(cfg.Screens), len(cfg.Sites), s.steps, w.Count(), time.Since(start).Round(time.Millisecond))
	return w.Problems(0)
}

// maxProblems: past this many Smoke stops visiting.
const maxProblems = 40

type smoke struct {
	t        testing.TB
	tab, ctx context.Context
	w        *Watch
	cfg      SmokeConfig
	screen   Screen
	site     SmokeSite
	route    string
	shots    int
	steps    int // steps done (and views opened)
	last     string
	lastAt   time.Time
}

func (s *smoke) at(step string) {
	if s.last != "" && time.Since(s.lastAt) > 700*time.Millisecond && testing.Verbose() {
		s.t.Logf("slow step (%v): %s", time.Since(s.lastAt).Round(time.Millisecond), s.last)
	}
	s.last, s.lastAt = fmt.Sprintf("%s %s: %s", s.screen.Name, s.route, step), time.Now()
	s.steps++
	s.w.At(fmt.Sprintf("%s %s: %s", s.screen.Name, s.route, step))
}

// login logs in through the API and gives the browser the session's
// cookie (a login on the dashboard's page would put the 401 of its first
// look at /api/me in the console).
func (s *smoke) login() {
	s.route = "/api/login"
	s.at("log in as " + s.cfg.Name)
	body := fmt.Sprintf(`{"name":%q,"password":%q}`, s.cfg.Name, s.cfg.Password)
	res, err := http.Post(s.cfg.Base+"/api/login", "application/json", strings.NewReader(body))
	if err != nil {
		s.t.Fatalf("log in as %s: %v", s.cfg.Name, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(res.Cookies()) == 0 {
		s.t.Fatalf("log in as %s: %s, cookies %v", s.cfg.Name, res.Status, res.Cookies())
	}
	slash := "/"
	for _, c := range res.Cookies() {
		err := chromedp.Do(s.ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: s.cfg.Base, HTTPOnly: &c.HttpOnly, Path: slash})
			return err
		}))
		if err != nil {
			s.t.Fatalf("set the session cookie: %v", err)
		}
	}
}

// visitScreen sets the window to the screen, opens the dashboard's start
// page, and visits each site's views and its calibration page.
func (s *smoke) visitScreen() {
	s.route = "/"
	s.at("open")
	vp := chromedp.EmulateViewport(s.screen.W, s.screen.H)
	if s.screen.Mobile {
		vp = chromedp.EmulateViewport(s.screen.W, s.screen.H, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	}
	if err := chromedp.Do(s.ctx, vp, chromedp.Navigate(s.cfg.Base+"/")); err != nil {
		s.w.Add("loading", "open the dashboard: "+err.Error())
		return
	}
	// The start page goes to a view of its own choice.
	s.settle("", nil)
	s.checkRole()
	for _, site := range s.cfg.Sites {
		s.site = site
		// (A view that did not open is not used: its problem is told.)
		if s.toLive() {
			s.live()
			s.turn()
		}
		if s.nav("heatmap") {
			s.heatmap()
		}
		if s.nav("footfall") {
			s.footfall()
		}
		if s.nav("paths") {
			s.paths()
		}
		s.nav("sensors")
		if roleRank[s.cfg.Role] < 1 {
			// Not in the menu: by its address (an old bookmark), it says
			// whom it is for.
			s.route = "#/editor/" + s.site.ID
			if s.open("open by its address", fmt.Sprintf(`location.hash = %q`, s.route), "editor") {
				s.expect("it says whom the editor is for", `!!document.querySelector('#needs-role') && !document.querySelector('#ed-map')`)
			}
		} else if s.nav("editor") {
			s.editor()
		}
		if s.nav("chain") {
			s.chain()
		}
		s.rush()
	}
	s.account()
	if s.cfg.Calibrate {
		for _, site := range s.cfg.Sites {
			s.site = site
			s.calibrate()
		}
	}
}

// toLive goes to the site's live view from its row in the chain view, as
// a user does (the start page shows the chain when there are several
// sites, the live view of the one site otherwise).
func (s *smoke) toLive() bool {
	s.route = "#/live/" + s.site.ID
	if cur, _ := Eval[string](s.ctx, `location.hash`); cur == s.route {
		s.at("open")
		return s.settle("live", nil)
	}
	if view, _ := Eval[string](s.ctx, `document.body.dataset.view`); view != "chain" && !s.nav("chain") {
		return false
	}
	s.route = "#/live/" + s.site.ID
	return s.open("from its row in the chain", fmt.Sprintf(`(() => { const a = document.querySelector('#chain-table tr[data-site=%q] a');
		if (!a) throw new Error('no row of %s'); a.click(); })()`, s.site.ID, s.site.ID), "live")
}

// viewStates are the data attributes of main that a view sets when its
// numbers have come (ready) or not (error).
var viewStates = map[string][]string{
	"footfall": {"footfall", "forecast"},
	"heatmap":  {"heatmap"},
	"paths":    {"paths"},
	"sensors":  {"sensors"},
	"chain":    {"chain"},
	"account":  {"account"},
}

// nav opens a view from the menu, as a user does.
func (s *smoke) nav(view string) bool {
	s.route = "#/" + view + "/" + s.site.ID
	if view == "chain" {
		s.route = "#/chain"
	}
	if cur, _ := Eval[string](s.ctx, `location.hash`); cur == s.route {
		s.at("open")
		return s.settle(view, viewStates[view]) // there already (the start page)
	}
	return s.open("open from the menu", fmt.Sprintf(`(() => { const a = document.querySelector('#nav a[data-view=%q]');
		if (!a) throw new Error('no menu entry %s'); a.click(); })()`, view, view), view) &&
		s.expect("the menu's entry goes to "+s.route, fmt.Sprintf(`location.hash === %q`, s.route))
}

// do runs a step: js in the page (a promise is awaited), after clearing
// the view's state attributes so that the step's own load is waited for;
// then the page must settle. view "-" does not wait. It tells whether the
// step ran and the page settled without showing an error.
func (s *smoke) do(step, js, view string) bool { return s.step(step, js, view, false) }

// open is do for a step that mounts a view anew (another route).
func (s *smoke) open(step, js, view string) bool { return s.step(step, js, view, true) }

func (s *smoke) step(step, js, view string, mount bool) bool {
	s.at(step)
	if s.w.Count() > maxProblems {
		return false // enough to go on with: the rest would take long
	}
	if view != "-" {
		ready := ""
		if mount {
			ready = "delete m.dataset.ready;"
		}
		// (The week ahead is loaded once, when the footfall view mounts.)
		js = fmt.Sprintf(`(() => { const m = document.querySelector('main'); %s
			for (const a of %s) if (%v || a !== 'forecast') delete m.dataset[a]; })(); %s`, ready, jsList(viewStates[view]), mount, js)
	}
	if _, err := chromedp.Run(s.ctx, chromedp.Evaluate[any](js, chromedp.EvalAwaitPromise)); err != nil {
		s.w.Add("interaction", err.Error())
		return false
	}
	if view == "-" {
		return true
	}
	return s.settle(view, viewStates[view])
}

func jsList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// settled says what a view still waits for ("" when it waits for nothing):
// it must be mounted, its state attributes set and not "loading", nothing
// in it aria-busy, no "Loading…" or "connecting…" in its text.
const settled = `((view, states) => {
	const m = document.querySelector('main');
	if (!m) return 'no main';
	if (view === 'calibrate') return m.dataset.state === 'loading' ? 'the calibration page is loading' : '';
	if (!view) view = document.body.dataset.view;
	if (!view) return 'no view shown';
	if (document.body.dataset.view !== view) return 'the page shows ' + (document.body.dataset.view || 'nothing') + ', not ' + view;
	if (m.dataset.ready !== view) return view + ' is not mounted (main ' + JSON.stringify(m.dataset) + ', ' + location.hash + ')';
	for (const a of states) { const v = m.dataset[a]; if (!v || v === 'loading') return 'data-' + a + ' is ' + (v || 'not set'); }
	const busy = m.querySelector('[aria-busy="true"]');
	if (busy) return (busy.id || busy.className || busy.tagName) + ' is aria-busy';
	const text = m.innerText;
	for (const w of ['Loading', 'Working out', 'connecting…', 'so far: …']) if (text.includes(w)) return 'it says "' + w + '"';
	return '';
})`

// shown lists the errors a page shows: alerts, a state "error", the
// shell's "Something went wrong", an error toast.
const shown = `(() => {
	const out = [], m = document.querySelector('main');
	for (const e of m.querySelectorAll('[role=alert]')) { const t = e.textContent.trim(); if (t) out.push(t); }
	for (const [k, v] of Object.entries(m.dataset)) if (v === 'error') out.push('data-' + k + '=error');
	const h = m.querySelector('.card h2');
	if (h && h.textContent === 'Something went wrong') out.push(m.textContent.trim().slice(0, 300));
	const t = document.getElementById('toast');
	if (t && t.classList.contains('show') && (t.classList.contains('err') || m.dataset.state === 'error')) out.push('toast: ' + t.textContent);
	return out;
})()`

// settle waits until the view has settled and no request is in flight
// (twice, 50 ms apart); a page still loading after 10 s is a problem.
// Then the errors the page shows are problems too.
func (s *smoke) settle(view string, states []string) bool {
	if states == nil {
		states = []string{}
	}
	expr := fmt.Sprintf(`%s(%q, %s)`, settled, view, jsList(states))
	deadline := time.Now().Add(10 * time.Second)
	quiet, why := 0, ""
	for quiet < 2 {
		if time.Now().After(deadline) || s.ctx.Err() != nil {
			if why == "" {
				why = fmt.Sprintf("requests still in flight: %v", s.w.InFlight())
			}
			s.w.Add("loading", "left loading after 10 s: "+why)
			s.shot("loading")
			return false
		}
		r, err := Eval[string](s.ctx, expr)
		switch {
		case err != nil:
			why, quiet = err.Error(), 0
		case r != "":
			why, quiet = r, 0
		case len(s.w.InFlight()) > 0:
			why, quiet = "", 0
		default:
			quiet++
		}
		if quiet < 2 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	errs, err := Eval[[]string](s.ctx, shown)
	if err != nil {
		s.w.Add("interaction", "read the page: "+err.Error())
		return false
	}
	for _, e := range errs {
		s.w.Add("shown", e)
	}
	if len(errs) > 0 {
		s.shot("shown")
	}
	return len(errs) == 0
}

// shot keeps a screenshot of a page with a problem (the first few).
func (s *smoke) shot(what string) {
	if s.shots >= 6 {
		return
	}
	s.shots++
	c, cancel := context.WithTimeout(s.tab, 5*time.Second)
	defer cancel()
	Screenshot(s.t, c, fmt.Sprintf("%s-%s-%s", strings.Fields(s.screen.Name)[0], url.PathEscape(s.route), what))
}

// wait tells whether a JS condition holds within d.
func (s *smoke) wait(cond string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if ok, err := Eval[bool](s.ctx, cond); err == nil && ok {
			return true
		}
		if time.Now().After(deadline) || s.ctx.Err() != nil {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// expect records an interaction whose effect (a JS condition) is not there
// within 2 s: the test did not do what it says.
func (s *smoke) expect(what, cond string) bool {
	deadline := time.Now().Add(2 * time.Second)
	for {
		ok, err := Eval[bool](s.ctx, cond)
		if err == nil && ok {
			return true
		}
		if time.Now().After(deadline) || s.ctx.Err() != nil {
			s.w.Add("interaction", fmt.Sprintf("%s: not so after 2 s (%s) %v", what, cond, err))
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}
