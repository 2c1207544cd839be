package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
)

// TestBrowserAccountDemo: without logins (passant demo) the header has no
// account link, and #/account says there is nothing to manage.
func TestBrowserAccountDemo(t *testing.T) {
	url, c, step := browse(t, newDemoBackend())
	step("open the chain", chromedp.Navigate(url+"/#/chain"), chromedp.WaitVisible(chromedp.CSS(`main[data-chain="ready"]`)))
	if n, _ := webtest.Eval[int](c, `document.querySelectorAll('#user *, #account-link').length`); n != 0 {
		t.Errorf("the demo's header has %d user or account elements", n)
	}
	step("open #/account", chromedp.Navigate(url+"/#/account"), chromedp.WaitVisible(chromedp.CSS(`main[data-account="demo"]`)))
	if text, _ := webtest.Eval[string](c, `document.querySelector('#acc-demo').textContent`); !strings.Contains(text, "no logins") {
		t.Errorf("the demo's account page says %q", text)
	}
}

// TestBrowserAccountErrorsAndContrast: over Users that cannot list tokens
// or users (501), the account page says so where the tables would be, with
// "Try again", and the rest still works: a new API token's secret is shown
// once. The header's name and role, the errors and the warning reach
// WCAG AA contrast.
func TestBrowserAccountErrorsAndContrast(t *testing.T) {
	us := newMemUsers()
	// Users only: the Accounts methods hidden.
	a := &Auth{Users: struct{ Users }{us}, Iterations: 1000}
	us.addUser(t, a, "root", RoleAdmin, "root password")
	ctx := webtest.Browser(t)
	srv := newTestServer(t, newDemoBackend(), Config{Auth: a})
	c := within(t, ctx, 30*time.Second)
	step := webtest.Steps(t, ctx, c)
	step("log in", chromedp.Navigate(srv.URL+"/#/account"), chromedp.WaitVisible(chromedp.CSS(`#login-name`)),
		chromedp.SetValue(chromedp.CSS(`#login-name`), "root"), chromedp.SetValue(chromedp.CSS(`#login-password`), "root password"),
		chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`main[data-account="ready"]`)))
	for _, sel := range []string{"#acc-tokens", "#acc-users"} {
		text, _ := webtest.Eval[string](c, `document.querySelector('`+sel+`').textContent`)
		if !strings.HasPrefix(text, "Cannot list") || !strings.Contains(text, "cannot be listed") || !strings.HasSuffix(text, "Try again") {
			t.Errorf("%s says %q", sel, text)
		}
	}
	step("make a token", chromedp.SetValue(chromedp.CSS(`#acc-tok-name`), "export"), chromedp.Click(chromedp.CSS(`#acc-tok-never`)),
		chromedp.Click(chromedp.CSS(`#acc-tok button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#acc-secret-value`)))
	secret, _ := webtest.Eval[string](c, `document.querySelector('#acc-secret-value').value`)
	if u, tok, err := us.TokenUser(c, TokenHash(secret), time.Now().UnixMilli()); err != nil || u.Name != "root" || tok.Kind != "api" || tok.Expires != 0 {
		t.Errorf("the secret shown is not root's token that never expires: %v %+v", err, tok)
	}
	if text, _ := webtest.Eval[string](c, `document.querySelector('#acc-secret').textContent`); !strings.Contains(text, "with no end date") {
		t.Errorf("a token that never expires: %q", text)
	}
	sels := []string{"#account-link", "#user .role", "#acc-tokens .form-error", ".warn-text", "#acc-secret .hint", "#acc-me .muted"}
	checkContrast(t, c, sels)
	webtest.Screenshot(t, ctx, "errors")
}
