package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/passant/passant/web"
	"github.com/passant/passant/web/webtest"
)

// httpAs calls the server as a script would: with a session's cookie jar
// (c) or an API token (bearer); it returns the status and decodes the
// answer into out.
func httpAs(t *testing.T, c *http.Client, base, bearer, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// TestBrowserAccountPage drives the dashboard's Account page against the
// real server and store, in headless Chromium: an admin changes the
// password (the other session ends; the old password fails, the new one
// works), makes an API token (its secret shown once, copied, usable with
// Authorization: Bearer), revokes it (then 401), adds a viewer, whom the
// page shows no users to (and the API refuses), and deletes the viewer.
// Names with markup stay text.
func TestBrowserAccountPage(t *testing.T) {
	in, base := startWithUsers(t, "", []testUser{{"root", web.RoleAdmin, "root password"}})
	defer in.stop()
	session := func(name, pw string) (*http.Client, int) { t.Helper(); return loginAs(t, base, name, pw) }
	// root is logged in elsewhere too.
	elsewhere, code := session("root", "root password")
	if code != 200 {
		t.Fatalf("login elsewhere: %d", code)
	}

	tab := webtest.Browser(t)
	c, cancel := context.WithTimeout(tab, 40*time.Second)
	defer cancel()
	step := webtest.Steps(t, tab, c)
	text := func(js string) string {
		t.Helper()
		s, err := webtest.Eval[string](c, js)
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	logIn := func(what, name, pw string, then string) {
		t.Helper()
		step(what, chromedp.WaitVisible(chromedp.CSS(`#login-name`)),
			chromedp.SetValue(chromedp.CSS(`#login-name`), name),
			chromedp.SetValue(chromedp.CSS(`#login-password`), pw),
			chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(then)))
	}
	logOut := func() {
		t.Helper()
		step("log out", chromedp.Click(chromedp.CSS(`#acc-logout`)), chromedp.WaitVisible(chromedp.CSS(`#login-name`)))
	}
	const pwOut = `document.querySelector('#acc-pw-out').className + ': ' + document.querySelector('#acc-pw-out').textContent`

	step("open the account page", chromedp.Navigate(base+"/#/account"))
	logIn("log in as root", "root", "root password", `main[data-account="ready"][data-users="2"][data-tokens="2"]`)
	if got := text(`[document.querySelector('#account-link').textContent, document.querySelector('#account-link').getAttribute('aria-current'), document.querySelector('#acc-name').textContent, document.querySelector('#acc-role').textContent, document.title].join('|')`); got != "root|page|root|admin|Account · Passant" {
		t.Errorf("header link, name, role, title: %q", got)
	}

	// The password: a wrong current one, two new ones that differ, then right.
	step("a wrong current password", chromedp.SetValue(chromedp.CSS(`#acc-pw-current`), "not it"),
		chromedp.SetValue(chromedp.CSS(`#acc-pw-new`), "a new password 1"), chromedp.SetValue(chromedp.CSS(`#acc-pw-repeat`), "a new password 1"),
		chromedp.Click(chromedp.CSS(`#acc-pw button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#acc-pw-out.form-error`)))
	if got := text(pwOut); !strings.Contains(got, "current password is wrong") {
		t.Errorf("a wrong current password says %q", got)
	}
	step("new passwords that differ", chromedp.SetValue(chromedp.CSS(`#acc-pw-current`), "root password"),
		chromedp.SetValue(chromedp.CSS(`#acc-pw-repeat`), "a new password 2"),
		chromedp.Click(chromedp.CSS(`#acc-pw button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#acc-pw-out').textContent.includes('differ')`))
	step("change the password", chromedp.SetValue(chromedp.CSS(`#acc-pw-repeat`), "a new password 1"),
		chromedp.Click(chromedp.CSS(`#acc-pw button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#acc-pw-out.form-ok`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-tokens="1"]`)))
	if got := text(pwOut); !strings.Contains(got, "other session has ended") {
		t.Errorf("a changed password says %q", got)
	}
	if code := httpAs(t, elsewhere, base, "", "GET", "/api/me", "", nil); code != 401 {
		t.Errorf("root's other session after the change: %d, want 401", code)
	}
	logOut()
	logIn("the old password", "root", "root password", `#toast.show.err`)
	if got := text(`document.querySelector('#toast').textContent`); !strings.Contains(got, "wrong name or password") {
		t.Errorf("the old password: toast %q", got)
	}
	logIn("the new password", "root", "a new password 1", `main[data-account="ready"][data-users="2"]`)

	// An API token: named with markup, shown once, copied, used, revoked.
	if _, err := chromedp.CallBrowser(c, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "clipboard-read"}, Setting: browser.PermissionSettingGranted, Origin: base}); err != nil {
		t.Logf("clipboard permission: %v", err)
	}
	step("make a token", chromedp.SetValue(chromedp.CSS(`#acc-tok-name`), `<img src=x id="xss-token">export`),
		chromedp.SetValue(chromedp.CSS(`#acc-tok-days`), "30"),
		chromedp.Click(chromedp.CSS(`#acc-tok button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#acc-secret-value`)), chromedp.WaitVisible(chromedp.CSS(`main[data-tokens="2"]`)))
	secret := text(`document.querySelector('#acc-secret-value').value`)
	if warn := text(`document.querySelector('#acc-secret').textContent`); len(secret) < 20 || !strings.Contains(warn, "will not be shown again") {
		t.Errorf("the secret %q, its warning %q", secret, warn)
	}
	if row := text(`document.querySelector('#acc-token-table tr[data-token="api"]').textContent`); !strings.Contains(row, `API token<img src=x id="xss-token">export`) {
		t.Errorf("the token's row reads %q", row)
	}
	step("copy the secret", chromedp.Click(chromedp.CSS(`#acc-secret-copy`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#toast').textContent.startsWith('Cop')`))
	if got := text(`document.querySelector('#toast').textContent`); got != "Copied the token" {
		t.Errorf("copy says %q", got)
	}
	if clip, err := chromedp.Run(c, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); err != nil || clip != secret {
		t.Errorf("the clipboard holds %q (%v), want the secret", clip, err)
	}
	webtest.Screenshot(t, tab, "token")
	var me struct{ Name string }
	if code := httpAs(t, http.DefaultClient, base, secret, "GET", "/api/me", "", &me); code != 200 || me.Name != "root" {
		t.Fatalf("the new token: %d %+v", code, me)
	}
	revoke := chromedp.Click(chromedp.CSS(`#acc-token-table tr[data-token="api"] button`))
	step("revoke, then think better of it (Esc)", revoke, chromedp.WaitVisible(chromedp.CSS(`dialog.confirm[open]`)),
		chromedp.Poll[chromedp.Void](`document.activeElement.id === 'confirm-no'`), chromedp.KeyEvent("\x1b"),
		chromedp.Poll[chromedp.Void](`!document.querySelector('dialog.confirm') && document.activeElement.matches('#acc-token-table tr[data-token="api"] button')`))
	if code := httpAs(t, http.DefaultClient, base, secret, "GET", "/api/me", "", nil); code != 200 {
		t.Fatalf("the token after a cancelled revocation: %d", code)
	}
	step("revoke the token", revoke, chromedp.WaitVisible(chromedp.CSS(`dialog.confirm[open]`)),
		chromedp.Click(chromedp.CSS(`#confirm-yes`)), chromedp.WaitVisible(chromedp.CSS(`main[data-tokens="1"]`)),
		chromedp.Poll[chromedp.Void](`document.activeElement.id === 'acc-tokens'`)) // the keyboard goes on from the list
	if code := httpAs(t, http.DefaultClient, base, secret, "GET", "/api/me", "", nil); code != 401 {
		t.Errorf("the revoked token: %d, want 401", code)
	}

	// Users: a short password and a taken name are refused, then a viewer
	// whose name is markup.
	const viewer = `<i id="xss-user">vera</i>`
	addUser := func(what, name, pw string, then string) {
		t.Helper()
		step(what, chromedp.SetValue(chromedp.CSS(`#acc-user-name`), name),
			chromedp.SetValue(chromedp.CSS(`#acc-user-role`), "viewer"),
			chromedp.SetValue(chromedp.CSS(`#acc-user-password`), pw),
			chromedp.Click(chromedp.CSS(`#acc-user-add button[type=submit]`)), chromedp.Poll[chromedp.Void](then))
	}
	const userOut = `document.querySelector('#acc-user-out.form-error').textContent`
	addUser("a short password", "vera", "short", userOut+`.includes('at least 10 characters')`)
	// (the API's answer)
	addUser("a taken name", "root", "long enough password", userOut+`.includes('"root" exists')`)
	addUser("add a viewer", viewer, "vera password", `document.querySelector('main').dataset.users === "3"`)
	if got := text(`[...document.querySelectorAll('#acc-user-table tr[data-user]')].map(r => r.dataset.user + '=' + ((r.cells[1].querySelector('select') || {}).value || r.cells[1].textContent)).join(',')`); got != `<i id="xss-user">vera</i>=viewer,admin=admin,root=admin` {
		t.Errorf("users listed %q", got)
	}
	if own := text(`document.querySelector('#acc-user-table tr[data-user="root"]').cells[3].textContent`); own != "you" {
		t.Errorf("root's own row offers %q, want no delete", own)
	}
	webtest.Screenshot(t, tab, "admin")

	// The viewer's role: a change asks first (Esc: the select goes back);
	// installer, then viewer again.
	const veraRow = `[...document.querySelectorAll('#acc-user-table tr[data-user]')].find(r => r.dataset.user.includes('vera'))`
	choose := func(role string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => { const s = ` + veraRow + `.querySelector('select.user-role'); s.focus(); s.dataset.old = 'drawn before'; s.value = '` + role + `'; s.dispatchEvent(new Event('change')); })()`)
	}
	// (from the page's session: logins are rate-limited, 10 at once)
	apiRole := func() string {
		t.Helper()
		role, err := chromedp.Run(c, chromedp.Evaluate[string](`fetch('/api/users').then(r => r.json()).then(us => (us.find(u => u.name.includes('vera')) || {role: 'none'}).role)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("the users by the API: %v", err)
		}
		return role
	}
	step("choose installer, then Esc", choose("installer"), chromedp.WaitVisible(chromedp.CSS(`dialog.confirm[open]`)),
		chromedp.KeyEvent("\x1b"), chromedp.Poll[chromedp.Void](`!document.querySelector('dialog.confirm') && `+veraRow+`.querySelector('select').value === 'viewer'`))
	if got := text(`document.querySelector('#acc-user-table tr[data-user="root"]').cells[1].textContent`); got != "admin" {
		t.Errorf("root's own role reads %q, want no selector", got)
	}
	for _, role := range []string{"installer", "viewer"} {
		step("make the viewer "+role, choose(role), chromedp.WaitVisible(chromedp.CSS(`dialog.confirm[open]`)),
			chromedp.Click(chromedp.CSS(`#confirm-yes`)), chromedp.WaitVisible(chromedp.CSS(`#acc-users-out.form-ok`)),
			chromedp.Poll[chromedp.Void](veraRow+`.querySelector('select') === document.activeElement && !document.activeElement.dataset.old && document.activeElement.value === '`+role+`'`))
		if got, api := text(`document.querySelector('#acc-users-out').textContent`), apiRole(); got != viewer+" is now an "+role+"." && got != viewer+" is now a "+role+"." || api != role {
			t.Errorf("the page says %q, the API has role %q; want %s", got, api, role)
		}
	}
	// An error of the API (the user deleted meanwhile) is shown as text.
	addUser("add a user to go", `<b id="xss-gone">gone</b>`, "gone password", `document.querySelector('main').dataset.users === "4"`)
	if st, err := chromedp.Run(c, chromedp.Evaluate[int](`fetch('/api/users/' + encodeURIComponent('<b id="xss-gone">gone</b>'), {method: 'DELETE'}).then(r => r.status)`, chromedp.EvalAwaitPromise)); err != nil || st != 204 {
		t.Fatalf("delete meanwhile: %d %v", st, err)
	}
	step("change the role of a deleted user", chromedp.Evaluate[chromedp.Void](`(() => { const s = [...document.querySelectorAll('#acc-user-table tr[data-user]')].find(r => r.dataset.user.includes('gone')).querySelector('select'); s.value = 'admin'; s.dispatchEvent(new Event('change')); })()`),
		chromedp.WaitVisible(chromedp.CSS(`dialog.confirm[open]`)), chromedp.Click(chromedp.CSS(`#confirm-yes`)),
		chromedp.WaitVisible(chromedp.CSS(`#acc-users-out.form-error`)), chromedp.WaitVisible(chromedp.CSS(`main[data-users="3"]`)))
	if got := text(`document.querySelector('#acc-users-out').textContent`); got != `Cannot change the role of <b id="xss-gone">gone</b>: no user "<b id=\"xss-gone\">gone</b>"` {
		t.Errorf("the refused change says %q", got)
	}

	// A reset of the viewer's password: twice the same, 10 characters; the
	// viewer's session ends (the old password's failing: TestAdminChangesRoleAndResetsPassword).
	vs, code := session(viewer, "vera password")
	if code != 200 {
		t.Fatalf("the viewer's login by script: %d", code)
	}
	const resetOut = `document.querySelector('#reset-out.form-error').textContent`
	step("open the reset", chromedp.Evaluate[chromedp.Void](`(() => { const b = `+veraRow+`.querySelector('button.user-reset'); b.focus(); b.click(); })()`),
		chromedp.WaitVisible(chromedp.CSS(`#reset-dialog[open]`)), chromedp.Poll[chromedp.Void](`document.activeElement.id === 'reset-new'`),
		chromedp.SetValue(chromedp.CSS(`#reset-new`), "short"), chromedp.Click(chromedp.CSS(`#reset-yes`)),
		chromedp.Poll[chromedp.Void](resetOut+`.includes('at least 10 characters')`))
	step("two that differ", chromedp.SetValue(chromedp.CSS(`#reset-new`), "vera reset password"),
		chromedp.SetValue(chromedp.CSS(`#reset-repeat`), "vera reset passwort"), chromedp.Click(chromedp.CSS(`#reset-yes`)),
		chromedp.Poll[chromedp.Void](resetOut+`.includes('differ')`))
	webtest.Screenshot(t, tab, "reset")
	step("reset", chromedp.SetValue(chromedp.CSS(`#reset-repeat`), "vera reset password"), chromedp.Click(chromedp.CSS(`#reset-yes`)),
		chromedp.WaitVisible(chromedp.CSS(`#acc-users-out.form-ok`)),
		chromedp.Poll[chromedp.Void](`!document.querySelector('#reset-dialog') && document.activeElement.matches('button.user-reset')`))
	if got := text(`document.querySelector('#acc-users-out').textContent`); !strings.HasPrefix(got, "Reset the password of "+viewer+": their session has ended.") {
		t.Errorf("the reset says %q", got)
	}
	if code := httpAs(t, vs, base, "", "GET", "/api/me", "", nil); code != 401 {
		t.Errorf("the viewer's session after the reset: %d, want 401", code)
	}

	// The viewer: no users, neither on the page nor from the API.
	logOut()
	logIn("log in as the viewer", viewer, "vera reset password", `main[data-account="ready"]`)
	got := text(`JSON.stringify([document.querySelector('#account-link').textContent, !!document.querySelector('#acc-admin'), document.querySelectorAll('[id^="xss-"]').length])`)
	if got != `["<i id=\"xss-user\">vera</i>",false,0]` {
		t.Errorf("the viewer's page: [header name, admin section, elements from names] = %s", got)
	}
	if st, err := chromedp.Run(c, chromedp.Evaluate[int](`fetch('/api/users').then(r => r.status)`, chromedp.EvalAwaitPromise)); err != nil || st != 403 {
		t.Errorf("the viewer's GET /api/users: %d %v, want 403", st, err)
	}
	// On a phone the page fits the width.
	step("a phone", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`main[data-account="ready"]`)))
	if over, err := webtest.Eval[int](c, `document.documentElement.scrollWidth - window.innerWidth`); err != nil || over > 0 {
		t.Errorf("on a phone the page is %d px wider than the screen (%v)", over, err)
	}
	// The header stays two lines (brand, site and name; the views), the
	// name (shortened) in sight.
	if got := text(`(() => { const h = document.querySelector('header.top').getBoundingClientRect(), a = document.querySelector('#account-link').getBoundingClientRect();
		return h.height <= 100 && a.width > 20 && a.right <= document.documentElement.clientWidth ? 'ok' : JSON.stringify([h.height, a.left, a.right]); })()`); got != "ok" {
		t.Errorf("on a phone the header [height, name's left, right] = %s", got)
	}
	webtest.Screenshot(t, tab, "viewer-phone")
	step("a desktop again", chromedp.EmulateViewport(1280, 900))

	// root deletes the viewer; the viewer's session ends.
	vs, code = session(viewer, "vera reset password")
	if code != 200 {
		t.Fatalf("the viewer's login by script: %d", code)
	}
	logOut()
	logIn("root again", "root", "a new password 1", `main[data-account="ready"][data-users="3"]`)
	step("delete the viewer", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('#acc-user-table tr[data-user]')].find(r => r.dataset.user.includes('vera')).querySelector('button.user-delete').click()`),
		chromedp.WaitVisible(chromedp.CSS(`dialog.confirm[open]`)), chromedp.Click(chromedp.CSS(`#confirm-yes`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-users="2"]`)))
	if code := httpAs(t, vs, base, "", "GET", "/api/me", "", nil); code != 401 {
		t.Errorf("the deleted viewer's session: %d, want 401", code)
	}
	if _, code := session(viewer, "vera reset password"); code != 401 {
		t.Errorf("the deleted viewer logs in: %d, want 401", code)
	}
	if n := text(`String(document.querySelectorAll('[id^="xss-"]').length)`); n != "0" {
		t.Errorf("%s elements made of names", n)
	}
}
