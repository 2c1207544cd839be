//go:build !sensoronly

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/web"
)

// TestPasswdSQLite and TestPasswdPostgres set passwords with passant passwd
// on a store that a server would use, and check them as the web login does.
func TestPasswdSQLite(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	testPasswd(t, st, []string{"--data", dir})

	// A store without the current schema is refused, as by the other tools.
	err = passwdRun(t, "long-enough-password\n", "--data", t.TempDir(), "admin")
	if err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("an unmigrated store: err %v, want the schema refused", err)
	}
}

func TestPasswdPostgres(t *testing.T) {
	url := storetest.PostgresURL(t)
	st, err := store.Open(context.Background(), url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	testPasswd(t, st, []string{"--db", url})
}

var passwdOut bytes.Buffer

// passwdRun runs passant passwd with stdin (none: a terminal); its output
// is in passwdOut.
func passwdRun(t *testing.T, stdin string, args ...string) error {
	t.Helper()
	old := passwdInput
	t.Cleanup(func() { passwdInput = old })
	passwdInput = func() (io.Reader, bool) { return strings.NewReader(stdin), stdin == "" }
	passwdOut.Reset()
	return run(context.Background(), append([]string{"passwd"}, args...), &passwdOut, &passwdOut)
}

func testPasswd(t *testing.T, st *store.DB, where []string) {
	ctx := context.Background()
	args := func(a ...string) []string { return append(append([]string{}, where...), a...) }
	checkLogin := func(name, password string, want bool) {
		t.Helper()
		u, err := st.UserByName(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got := web.CheckPassword(u.PasswordHash, password); got != want {
			t.Errorf("login of %s with %q: %v, want %v", name, password, got, want)
		}
	}
	old, _ := (&web.Auth{Iterations: 1000}).HashPassword("the-old-password")
	admin := &store.User{Name: "admin", Role: store.RoleAdmin, PasswordHash: old, Created: time.Now().UnixMilli()}
	if err := st.CreateUser(ctx, admin); err != nil {
		t.Fatal(err)
	}
	session := store.Token{Hash: web.TokenHash("s1"), UserID: admin.ID, Kind: store.TokenSession, Created: 1}
	api := store.Token{Hash: web.TokenHash("a1"), UserID: admin.ID, Kind: store.TokenAPI, Name: "script", Created: 1}
	for _, tok := range []*store.Token{&session, &api} {
		if err := st.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}

	// From stdin: the new password logs in, the old one not; the sessions
	// end, the API token stays; the password is not shown.
	if err := passwdRun(t, "a-new-password-42\r\nignored\n", args("admin")...); err != nil {
		t.Fatalf("passwd from stdin: %v\n%s", err, passwdOut.String())
	}
	out := passwdOut.String()
	t.Log(out)
	if !strings.Contains(out, "1 login sessions ended, 1 API tokens kept") || strings.Contains(out, "a-new-password") {
		t.Errorf("output %q: want the sessions ended and kept tokens told, without the password", out)
	}
	checkLogin("admin", "a-new-password-42", true)
	checkLogin("admin", "the-old-password", false)
	if _, _, err := st.TokenUser(ctx, session.Hash, time.Now().UnixMilli()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the session after passwd: err %v, want not found", err)
	}
	if _, _, err := st.TokenUser(ctx, api.Hash, time.Now().UnixMilli()); err != nil {
		t.Errorf("the API token after passwd: %v, want it kept", err)
	}

	// On a terminal: a password is made up, printed once, and logs in.
	if err := passwdRun(t, "", args("admin")...); err != nil {
		t.Fatalf("passwd made up: %v\n%s", err, passwdOut.String())
	}
	m := regexp.MustCompile(`new password of "admin" \(shown only once\): (\S+)\n`).FindStringSubmatch(passwdOut.String())
	if m == nil || len(m[1]) < web.MinPassword {
		t.Fatalf("output %q: want a made-up password of at least %d characters", passwdOut.String(), web.MinPassword)
	}
	checkLogin("admin", m[1], true)
	checkLogin("admin", "a-new-password-42", false)

	// A short password is refused and changes nothing.
	if err := passwdRun(t, "short123\n", args("admin")...); err == nil || !strings.Contains(err.Error(), "at least 10") {
		t.Errorf("a short password: err %v, want it refused", err)
	}
	if err := passwdRun(t, "\n", args("admin")...); err == nil || !strings.Contains(err.Error(), "no password on stdin") {
		t.Errorf("an empty stdin: err %v, want it refused", err)
	}
	checkLogin("admin", m[1], true)

	// An unknown user is refused, naming the admins, unless --create-admin.
	err := passwdRun(t, "ghost-password-1\n", args("ghost")...)
	if err == nil || !strings.Contains(err.Error(), `no user "ghost"`) || !strings.Contains(err.Error(), "--create-admin") ||
		!strings.Contains(err.Error(), `admins: "admin"`) {
		t.Errorf("an unknown user: err %v, want a clear refusal", err)
	}
	if _, err := st.UserByName(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ghost after the refusal: err %v, want not found", err)
	}
	if err := passwdRun(t, "ghost-password-1\n", args("--create-admin", "ghost")...); err != nil {
		t.Fatalf("passwd --create-admin: %v\n%s", err, passwdOut.String())
	}
	if u, err := st.UserByName(ctx, "ghost"); err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("ghost after --create-admin: %+v, %v; want an admin", u, err)
	}
	checkLogin("ghost", "ghost-password-1", true)

	// --create-admin on an existing user sets the password and keeps the role.
	viewer := &store.User{Name: "vera", Role: store.RoleViewer, PasswordHash: old, Created: time.Now().UnixMilli()}
	if err := st.CreateUser(ctx, viewer); err != nil {
		t.Fatal(err)
	}
	if err := passwdRun(t, "vera-password-1\n", args("--create-admin", "vera")...); err != nil {
		t.Fatalf("passwd --create-admin vera: %v", err)
	}
	if u, _ := st.UserByName(ctx, "vera"); u.Role != store.RoleViewer {
		t.Errorf("vera's role after passwd: %s, want viewer kept", u.Role)
	}
	checkLogin("vera", "vera-password-1", true)

	if err := passwdRun(t, "x-long-password\n", where...); err == nil || !strings.Contains(err.Error(), "NAME") {
		t.Errorf("no name: err %v, want usage", err)
	}
}
