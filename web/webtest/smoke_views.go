package webtest

// The interactions Smoke does on each view.

import (
	"fmt"
	"time"

	"github.com/chromedp/chromedp"
)

// Roles in order of what they may do (web.RoleViewer...: webtest does not
// import web).
var roleRank = map[string]int{"viewer": 0, "installer": 1, "admin": 2}

// checkRole: the menu offers the tools of the user's role and no others.
func (s *smoke) checkRole() {
	s.at("the menu for a " + s.cfg.Role)
	rank := roleRank[s.cfg.Role]
	menu, err := Eval[map[string]bool](s.ctx, `({editor: !!document.querySelector('#nav a[data-view="editor"]:not([hidden])'),
		calibrate: !!document.querySelector('#nav a[data-external="calibrate"]:not([hidden])')})`)
	if err != nil {
		s.w.Add("interaction", "read the menu: "+err.Error())
		return
	}
	if menu["editor"] != (rank >= 1) {
		s.w.Add("shown", fmt.Sprintf("the menu's Site editor is shown=%v to a %s", menu["editor"], s.cfg.Role))
	}
	if menu["calibrate"] != (rank >= 1 && s.cfg.Calibrate) {
		s.w.Add("shown", fmt.Sprintf("the menu's Calibrate is shown=%v to a %s", menu["calibrate"], s.cfg.Role))
	}
}

func (s *smoke) live() {
	// A dot, clicked with the mouse where it is drawn (dots glide to each
	// new fix: try again if one moved away), when the shop has people
	// now.
	dots := s.site.Data && s.wait(`window.passantLive && window.passantLive.dotsOnMap() > 0`, 3*time.Second)
	if s.site.Data && !dots {
		s.t.Logf("%s %s: nobody on the live map now: no dot clicked", s.screen.Name, s.route)
	}
	if dots {
		s.at("click a dot")
		picked := false
		for try := 0; try < 5 && !picked; try++ {
			xy, err := Eval[[]float64](s.ctx, `(() => {
				const m = document.querySelector('#live-map'); m.scrollIntoView({block: 'center'});
				const r = m.getBoundingClientRect();
				for (const d of m.querySelectorAll('path.dot')) {
					const b = d.getBoundingClientRect(), x = b.left + b.width / 2, y = b.top + b.height / 2;
					if (x > r.left + 12 && x < r.right - 12 && y > r.top + 12 && y < Math.min(r.bottom, innerHeight) - 12 && document.elementFromPoint(x, y) === d) return [x, y];
				}
				return null; })()`)
			if err == nil && len(xy) == 2 {
				_ = chromedp.Do(s.ctx, chromedp.MouseClickXY(xy[0], xy[1]))
				picked, _ = Eval[bool](s.ctx, `window.passantLive.picked() !== null`)
			}
			if !picked {
				time.Sleep(300 * time.Millisecond)
			}
		}
		if n, _ := Eval[int](s.ctx, `window.passantLive.dotsOnMap()`); !picked && n > 0 {
			s.w.Add("interaction", fmt.Sprintf("none of the %d dots of the live map could be clicked", n))
		} else if !picked {
			s.t.Logf("%s %s: the people on the live map left before a dot was clicked", s.screen.Name, s.route)
		}
	}
	s.do("open the list of phones", `document.querySelector('#live-list summary').click()`, "-")
	s.expect("the list is open with a row for each phone on the map", `document.querySelector('#live-list').open &&
		document.querySelectorAll('#live-list tbody tr').length === window.passantLive.tracks().length`)
	if dots && s.wait(`!!document.querySelector('#live-list tbody button')`, time.Second) {
		s.do("pick a phone in the list", `document.querySelector('#live-list tbody button').click()`, "-")
		s.expect("a phone picked", `window.passantLive.picked() !== null && document.querySelector('#live-picked').textContent.includes(window.passantLive.picked())`)
	}
	s.do("click the map's background", `document.querySelector('#live-map').dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: 5, clientY: 5}))`, "-")
}

// button clicks the main area's button with this text.
func button(text string) string {
	return fmt.Sprintf(`(() => { const b = [...document.querySelectorAll('main button')].find(b => b.textContent.trim() === %q);
		if (!b) throw new Error('no button %s'); b.click(); })()`, text, text)
}

// set sets a form field's value as a user does (input and change events).
func set(sel string, value string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) throw new Error('no %s');
		e.value = %q; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); })();`, sel, sel, value)
}

func (s *smoke) heatmap() {
	s.do("zone, hours 9-18, 1 m cells, staff included, opacity", `(() => {
		const z = document.querySelector('#hm-zone'); if (z.options.length > 1) z.value = z.options[1].value;
		document.querySelector('#hm-staff').click(); })();`+set("#hm-h0", "9")+set("#hm-h1", "18")+set("#hm-cell", "1")+set("#hm-opacity", "0.4")+
		`document.querySelector('#hm-show').click()`, "heatmap")
	s.do("the last 28 days, whole site, 0.25 m cells, people only", `(() => {
		const to = document.querySelector('#hm-to').value, d = new Date(to + 'T12:00:00Z'); d.setUTCDate(d.getUTCDate() - 27);
		document.querySelector('#hm-from').value = d.toISOString().slice(0, 10);
		document.querySelector('#hm-zone').value = ''; document.querySelector('#hm-staff').click(); })();`+set("#hm-h0", "0")+set("#hm-h1", "24")+set("#hm-cell", "0.25")+
		`document.querySelector('#hm-show').click()`, "heatmap")
}

func (s *smoke) footfall() {
	for _, b := range []string{"Today", "Last 7 days", "Last 28 days"} {
		s.do(`"`+b+`"`, button(b), "footfall")
	}
	s.turn()
	modes := []string{"prev", "year", "none", "week"}
	if s.screen.Mobile {
		modes = []string{"none", "week"} // (the same code as on a desktop: its layout only)
	}
	for _, m := range modes {
		s.do("compare with "+m, set("#ff-compare", m), "footfall")
	}
	s.do("two days before yesterday to yesterday", `(() => {
		const to = document.querySelector('#ff-to'), d = new Date(to.value + 'T12:00:00Z'); d.setUTCDate(d.getUTCDate() - 1);
		to.value = d.toISOString().slice(0, 10); d.setUTCDate(d.getUTCDate() - 2); document.querySelector('#ff-from').value = d.toISOString().slice(0, 10); })();`+
		button("Show"), "footfall")
	s.do("open the glossary", `document.querySelector('#ff-glossary summary').click()`, "-")
	s.expect("the glossary is open with the tiles' meanings", `document.querySelector('#ff-glossary').open && document.querySelectorAll('#ff-glossary dd').length >= 5`)
	admin, err := Eval[bool](s.ctx, `!!document.querySelector('main details.admin')`)
	if err == nil && admin != (s.cfg.Role == "admin") {
		s.w.Add("shown", fmt.Sprintf("the footfall page's Admin tools shown=%v to a %s", admin, s.cfg.Role))
	}
	if admin {
		s.do("open the admin tools", `document.querySelector('main details.admin summary').click()`, "-")
	}
	if len(s.cfg.Sites) > 1 {
		other := s.cfg.Sites[0].ID
		if other == s.site.ID {
			other = s.cfg.Sites[1].ID
		}
		s.switchSite(other)
		s.route = "#/footfall/" + s.site.ID
		s.open("switch the site back to "+s.site.ID, fmt.Sprintf(`(() => { const sel = document.querySelector('#site-select'); sel.value = %q; sel.dispatchEvent(new Event('change')); })()`, s.site.ID), "footfall")
	}
}

// switchSite picks another site in the header, as a user does, on the view
// shown.
func (s *smoke) switchSite(id string) bool {
	view, _ := Eval[string](s.ctx, `document.body.dataset.view`)
	s.route = "#/" + view + "/" + id
	return s.open("switch the site to "+id, fmt.Sprintf(`(() => { const sel = document.querySelector('#site-select');
		sel.value = %q; if (sel.value !== %q) throw new Error('no site %s in the picker'); sel.dispatchEvent(new Event('change')); })()`, id, id, id), view)
}

func (s *smoke) paths() {
	s.do("the last 28 days", `(() => {
		const to = document.querySelector('#pa-to').value, d = new Date(to + 'T12:00:00Z'); d.setUTCDate(d.getUTCDate() - 27);
		document.querySelector('#pa-from').value = d.toISOString().slice(0, 10); })();`+button("Show"), "paths")
}

// editor uses the editor's tools on the map and leaves without saving.
func (s *smoke) editor() {
	center := `(() => { const b = window.passantEditor.draft().bounds; document.querySelector('#ed-map').scrollIntoView({block: 'center'});
		return [(b[0][0] + b[1][0]) / 2, (b[0][1] + b[1][1]) / 2]; })()`
	c, err := Eval[[]float64](s.ctx, center)
	if err != nil || len(c) != 2 {
		s.w.Add("interaction", fmt.Sprintf("the editor's map: %v", err))
		return
	}
	s.do("place a sensor", `document.querySelector('#ed-mode-sensor').click()`, "-")
	n, _ := Eval[int](s.ctx, `window.passantEditor.draft().sensors.length`)
	if err := ClickPlan(s.ctx, [2]float64{c[0], c[1]}); err != nil {
		s.w.Add("interaction", err.Error())
	}
	s.expect("a sensor placed", fmt.Sprintf(`window.passantEditor.draft().sensors.length === %d`, n+1))
	s.do("draw a zone", set("#ed-zone-id", "smoke")+`document.querySelector('#ed-mode-zone').click()`, "-")
	if err := ClickPlan(s.ctx, [2]float64{c[0] - 1, c[1] - 1}, [2]float64{c[0] + 1, c[1] - 1}, [2]float64{c[0], c[1] + 1}); err != nil {
		s.w.Add("interaction", err.Error())
	}
	s.do("finish the zone", `document.querySelector('#ed-zone-finish').click()`, "-")
	s.expect("the zone drawn", `window.passantEditor.draft().zones.some(z => z.id === 'smoke')`)
	s.do("move the zone's corners", `document.querySelector('#ed-zones li[data-zone="smoke"] a').click()`, "-")
	s.expect("its corners to drag", `document.querySelectorAll('#ed-map .corner-handle').length === 3`)
	s.do("name the zone, relabel a sensor", `(() => { const li = document.querySelector('#ed-zones li[data-zone="smoke"]');
		const i = li.querySelector('input'); i.value = 'Smoke test'; i.dispatchEvent(new Event('change'));
		const k = li.querySelector('select'); k.value = 'area'; k.dispatchEvent(new Event('change'));
		const l = document.querySelector('#ed-sensors li input'); l.value = 'by the door'; l.dispatchEvent(new Event('change')); })()`, "-")
	// Scaling by a known distance needs a plan: without one it says so.
	plan, _ := Eval[bool](s.ctx, `!!window.passantEditor.draft().plan`)
	s.do("scale by a known distance", `document.querySelector('#ed-measure').click(); document.querySelector('#ed-measure').click()`, "-")
	if !plan {
		s.expect("'Upload a floor plan first'", `document.getElementById('toast').textContent.includes('floor plan')`)
		_, _ = Eval[bool](s.ctx, `(document.getElementById('toast').className = '', true)`)
	}
	s.expect("unsaved, not saved", `document.querySelector('#ed-version').textContent.includes('unsaved') && !document.querySelector('main').dataset.saved`)
}

// chain sorts the table by each column, from the mouse and the keyboard,
// and shows the day before.
func (s *smoke) chain() {
	s.do("sort by each column", `(() => { const ths = [...document.querySelectorAll('#chain-table th[data-sort]')];
		if (ths.length < 5) throw new Error(ths.length + ' sortable columns');
		for (const k of ths.map(th => th.dataset.sort)) document.querySelector('#chain-table th[data-sort="' + k + '"]').click();
		document.querySelector('#chain-table th[data-sort="site"]').dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); })()`, "-")
	s.expect("sorted by site", `document.querySelector('#chain-table th[data-sort="site"]').getAttribute('aria-sort') !== null`)
	s.do("the day before", `(() => { const i = document.querySelector('#chain-date'), d = new Date(i.value + 'T12:00:00Z'); d.setUTCDate(d.getUTCDate() - 1);
		i.value = d.toISOString().slice(0, 10); })();`+button("Show"), "chain")
}

// calibrate opens the calibration walk's page from the menu's link and
// goes through its views: another sensor, the route, back to tapping, the
// accuracy picture full size, undo.
func (s *smoke) calibrate() {
	s.route = "/static/calibrate.html?site=" + s.site.ID
	s.at("open")
	if err := chromedp.Do(s.ctx, chromedp.Navigate(s.cfg.Base+s.route)); err != nil {
		s.w.Add("loading", err.Error())
		return
	}
	if !s.settle("calibrate", nil) {
		return
	}
	if roleRank[s.cfg.Role] < 1 {
		s.expect("the page says whom the walk is for", `document.querySelector('main').dataset.state === 'forbidden' && document.querySelector('#needs-role').textContent.includes('installer')`)
		return
	}
	s.do("another sensor", `(() => { const s = document.querySelector('#sensor'); if (s.options.length > 1) { s.value = s.options[1].value; s.dispatchEvent(new Event('change')); } })()`, "calibrate")
	s.do("follow a route", `document.querySelector('#mode-route').click()`, "calibrate")
	s.expect("the route's waypoints", `window.calib.state.waypoints.length > 0 && !document.querySelector('#here').hidden`)
	s.do("I'm here", `document.querySelector('#here').click()`, "calibrate")
	s.turn()
	s.do("tap where I am", `document.querySelector('#mode-tap').click()`, "calibrate")
	s.do("a tap on the plan", `(() => { const r = document.querySelector('#plan').getBoundingClientRect();
		document.querySelector('#plan').dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2})); })()`, "calibrate")
	s.do("the picture full size", `document.querySelector('#acc-open').click()`, "calibrate")
	s.expect("the picture's dialog open", `document.querySelector('#acc-dialog').open`)
	s.do("close it", `document.querySelector('#acc-close').click()`, "calibrate")
	// (In a walk, the two marks above are taken back.)
	s.do("undo the last mark", `document.querySelector('#undo').click()`, "calibrate")
	s.do("undo the mark before", `document.querySelector('#undo').click()`, "calibrate")
}

// account opens the account page from the user's name in the header, as a
// user does: it lists this session, and the users to an admin only.
// Without logins (the demo) there is no name: by its address it says
// there is nothing to manage.
func (s *smoke) account() {
	s.route = "#/account"
	if s.cfg.Name == "" {
		if s.open("open by its address", `location.hash = "#/account"`, "account") {
			s.expect("it says there are no logins", `document.querySelector('main').dataset.account === 'demo' && !document.querySelector('#account-link')`)
		}
		return
	}
	if !s.open("open from the user's name in the header", `(() => { const a = document.querySelector('#account-link');
		if (!a) throw new Error('no account link in the header'); a.click(); })()`, "account") {
		return
	}
	s.expect("it lists this session", `!!document.querySelector('#acc-token-table tr[data-current]')`)
	s.expect("the users are shown to an admin only", fmt.Sprintf(`!!document.querySelector('#acc-admin') === %v`, s.cfg.Role == "admin"))
}

// rush clicks through the menu without waiting for the views, as an
// impatient user does: each view is left while its numbers are still
// coming, and what comes after it was left must go nowhere.
func (s *smoke) rush() {
	views := `['live', 'heatmap', 'footfall', 'paths', 'sensors', 'heatmap', 'live', 'footfall', 'chain']`
	if roleRank[s.cfg.Role] >= 1 {
		views = `['live', 'heatmap', 'footfall', 'editor', 'paths', 'sensors', 'heatmap', 'editor', 'live', 'footfall', 'chain']`
	}
	s.route = "#/chain"
	if s.open("the menu clicked through without waiting", fmt.Sprintf(`(async () => {
		for (const v of %s) { document.querySelector('#nav a[data-view="' + v + '"]').click(); await new Promise(r => setTimeout(r, 30)); } })()`, views), "chain") {
		// The views left while mounting were cleaned up (their maps, timers
		// and test hooks gone), not left running behind the chain.
		s.expect("the views left while mounting are cleaned up", `!window.passantHeatmap && !window.passantFootfall && !window.passantEditor && !window.passantLive && !document.querySelector('main .leaflet-container')`)
	}
}

// turn turns a phone sideways and back (the charts, maps and the
// calibration plan are redrawn at the new width).
func (s *smoke) turn() {
	if !s.screen.Mobile {
		return
	}
	s.at("the phone turned sideways and back")
	for _, wh := range [][2]int64{{s.screen.H, s.screen.W}, {s.screen.W, s.screen.H}} {
		if err := chromedp.Do(s.ctx, chromedp.EmulateViewport(wh[0], wh[1], chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
			s.w.Add("interaction", err.Error())
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}
