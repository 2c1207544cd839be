//go:build !sensoronly

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
)

func init() {
	register(command{name: "passwd", summary: "set a user's password in the store (e.g. a lost admin's)", run: runPasswd})
}

// passwdInput returns where a new password is read from and whether that
// is a terminal (then none is read: one is made up); tests replace it.
var passwdInput = func() (io.Reader, bool) {
	fi, err := os.Stdin.Stat()
	return os.Stdin, err != nil || fi.Mode()&os.ModeCharDevice != 0
}

func runPasswd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("passwd", stderr)
	db := fs.String("db", "", "`URL` of PostgreSQL (postgres://...); none: the embedded database in --data")
	data := fs.String("data", store.DefaultDataDir, "data `directory` of the embedded database")
	create := fs.Bool("create-admin", false, "create the user as an admin when there is none of that name (an existing user keeps their role)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `usage: passant passwd [--data DIR | --db URL] [--create-admin] NAME

Sets the password of the user NAME directly in the store, for when no admin
can log in. The new password is read from the first line of stdin when it is
not a terminal (echo ... | passant passwd admin; at least %d characters);
otherwise a random one is made up and printed once. The user's login sessions
end; their API tokens stay. The server may keep running.

`, web.MinPassword)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		fs.Usage()
		return errors.New("passwd: give one user NAME")
	}
	name := fs.Arg(0)
	password, made := "", false
	if in, tty := passwdInput(); tty {
		password, made = web.NewPassword(), true
	} else {
		p, err := readPassword(in)
		if err != nil {
			return err
		}
		password = p
	}
	if len(password) < web.MinPassword {
		return fmt.Errorf("passwd: the password has %d characters; want at least %d", len(password), web.MinPassword)
	}
	hash, err := (&web.Auth{}).HashPassword(password)
	if err != nil {
		return fmt.Errorf("passwd: hash the password: %w", err)
	}

	st, err := store.Open(ctx, *db, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	u, err := st.UserByName(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound) && *create:
		u = &store.User{Name: name, Role: store.RoleAdmin, PasswordHash: hash, Created: time.Now().UnixMilli()}
		if err := st.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("passwd: %w", err)
		}
		fmt.Fprintf(stdout, "created the admin %q in the %s store\n", name, st.Backend())
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("passwd: no user %q in the %s store%s; give --create-admin to create it as an admin",
			name, st.Backend(), adminNames(ctx, st))
	case err != nil:
		return fmt.Errorf("passwd: %w", err)
	default:
		nu := *u
		nu.PasswordHash = hash
		if err := st.UpdateUser(ctx, &nu); err != nil {
			return fmt.Errorf("passwd: %w", err)
		}
		ended, kept, err := endSessions(ctx, st, u.ID)
		if err != nil {
			return fmt.Errorf("passwd: the password of %q is set, but: %w", name, err)
		}
		fmt.Fprintf(stdout, "set the password of %q (%s) in the %s store; %d login sessions ended, %d API tokens kept\n",
			name, u.Role, st.Backend(), ended, kept)
	}
	if made {
		fmt.Fprintf(stdout, "new password of %q (shown only once): %s\n", name, password)
	}
	return nil
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("passwd: read the password from stdin: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("passwd: no password on stdin (run it on a terminal to have one made up)")
	}
	return line, nil
}

// endSessions deletes the login sessions of the user of id, as a reset of
// the password from the API does, and counts the API tokens, which stay.
func endSessions(ctx context.Context, st *store.DB, id int64) (ended, kept int, err error) {
	ts, err := st.ListTokens(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	for _, t := range ts {
		if t.Kind != store.TokenSession {
			kept++
			continue
		}
		if err := st.DeleteToken(ctx, t.Hash); err != nil {
			return ended, kept, err
		}
		ended++
	}
	return ended, kept, nil
}

// adminNames lists the store's admins for an error message: " (admins: a,
// b)", " (no admins)" or "" when they cannot be listed.
func adminNames(ctx context.Context, st *store.DB) string {
	us, err := st.ListUsers(ctx)
	if err != nil {
		return ""
	}
	var names []string
	for _, u := range us {
		if u.Role == store.RoleAdmin {
			names = append(names, fmt.Sprintf("%q", u.Name))
		}
	}
	if len(names) == 0 {
		return " (it has no admins)"
	}
	return " (admins: " + strings.Join(names, ", ") + ")"
}
