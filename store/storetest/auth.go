package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/passant/passant/store"
)

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("count %d %v", n, err)
	}
	admin := store.User{Name: "admin", Role: store.RoleAdmin, PasswordHash: "$argon2id$v=19$..."}
	fatalIf(t, s.CreateUser(ctx, &admin))
	if admin.ID == 0 || admin.Created == 0 {
		t.Fatalf("created %+v", admin)
	}
	dup := store.User{Name: "admin", Role: store.RoleViewer, PasswordHash: "x"}
	if err := s.CreateUser(ctx, &dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	eve := store.User{Name: "eve", Role: store.RoleViewer, PasswordHash: "h1", Created: 5}
	fatalIf(t, s.CreateUser(ctx, &eve))
	got, err := s.UserByName(ctx, "eve")
	fatalIf(t, err)
	if *got != eve {
		t.Fatalf("user %+v, want %+v", *got, eve)
	}
	eve.Role, eve.PasswordHash = store.RoleInstaller, "h2"
	fatalIf(t, s.UpdateUser(ctx, &eve))
	got, err = s.UserByID(ctx, eve.ID)
	fatalIf(t, err)
	if *got != eve {
		t.Fatalf("updated user %+v, want %+v", *got, eve)
	}
	if err := s.UpdateUser(ctx, &store.User{ID: 999}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing user: %v", err)
	}
	list, err := s.ListUsers(ctx)
	fatalIf(t, err)
	if !reflect.DeepEqual(list, []store.User{admin, eve}) {
		t.Fatalf("list %+v", list)
	}
	fatalIf(t, s.DeleteUser(ctx, eve.ID))
	if _, err := s.UserByName(ctx, "eve"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted user: %v", err)
	}
	if n, _ := s.CountUsers(ctx); n != 1 {
		t.Fatalf("count %d", n)
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := store.User{Name: "ann", Role: store.RoleViewer, PasswordHash: "h"}
	fatalIf(t, s.CreateUser(ctx, &u))
	sess := store.Token{Hash: "aa11", UserID: u.ID, Kind: store.TokenSession, Created: 100, Expires: 1000}
	api := store.Token{Hash: "bb22", UserID: u.ID, Kind: store.TokenAPI, Name: "till import", Created: 200}
	fatalIf(t, s.CreateToken(ctx, &sess))
	fatalIf(t, s.CreateToken(ctx, &api))
	if err := s.CreateToken(ctx, &sess); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate token: %v", err)
	}
	gu, gt, err := s.TokenUser(ctx, "aa11", 500)
	fatalIf(t, err)
	if gu.ID != u.ID || gu.Role != store.RoleViewer || gt.LastUsed != 500 || gt.Kind != store.TokenSession {
		t.Fatalf("token user %+v %+v", gu, gt)
	}
	if _, _, err := s.TokenUser(ctx, "aa11", 1000); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	if _, _, err := s.TokenUser(ctx, "nope", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	if _, _, err := s.TokenUser(ctx, "bb22", 1<<50); err != nil {
		t.Fatalf("a token without expiry: %v", err)
	}
	ts, err := s.ListTokens(ctx, u.ID)
	fatalIf(t, err)
	if len(ts) != 2 || ts[0].Hash != "bb22" || ts[1].LastUsed != 500 {
		t.Fatalf("tokens %+v", ts)
	}
	n, err := s.DeleteExpiredTokens(ctx, 1000)
	fatalIf(t, err)
	if n != 1 {
		t.Fatalf("%d expired deleted", n)
	}
	fatalIf(t, s.DeleteToken(ctx, "bb22"))
	if ts, _ := s.ListTokens(ctx, u.ID); len(ts) != 0 {
		t.Fatalf("tokens left %+v", ts)
	}
	// Deleting a user deletes its tokens.
	fatalIf(t, s.CreateToken(ctx, &store.Token{Hash: "cc33", UserID: u.ID, Kind: store.TokenSession}))
	fatalIf(t, s.DeleteUser(ctx, u.ID))
	if _, _, err := s.TokenUser(ctx, "cc33", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of a deleted user: %v", err)
	}
}

func testLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	l, ok, err := s.AcquireLease(ctx, "demo", "a", 1000, 500)
	fatalIf(t, err)
	if !ok || l != (store.Lease{Site: "demo", Owner: "a", Acquired: 1000, Expires: 1500}) {
		t.Fatalf("first acquire %+v %v", l, ok)
	}
	l, ok, err = s.AcquireLease(ctx, "demo", "b", 1200, 500)
	fatalIf(t, err)
	if ok || l.Owner != "a" || l.Expires != 1500 {
		t.Fatalf("b took a's live lease: %+v %v", l, ok)
	}
	l, ok, err = s.AcquireLease(ctx, "demo", "a", 1400, 500) // renew
	fatalIf(t, err)
	if !ok || l.Acquired != 1000 || l.Expires != 1900 {
		t.Fatalf("renew %+v %v", l, ok)
	}
	l, ok, err = s.AcquireLease(ctx, "demo", "b", 1900, 500) // a died
	fatalIf(t, err)
	if !ok || l != (store.Lease{Site: "demo", Owner: "b", Acquired: 1900, Expires: 2400}) {
		t.Fatalf("take over %+v %v", l, ok)
	}
	fatalIf(t, s.ReleaseLease(ctx, "demo", "a")) // not a's: no-op
	_, ok, _ = s.AcquireLease(ctx, "demo", "a", 2000, 500)
	if ok {
		t.Fatal("a's release freed b's lease")
	}
	_, _, err = s.AcquireLease(ctx, "other", "a", 2000, 500)
	fatalIf(t, err)
	ls, err := s.ListLeases(ctx)
	fatalIf(t, err)
	if len(ls) != 2 || ls[0].Site != "demo" || ls[0].Owner != "b" || ls[1].Owner != "a" {
		t.Fatalf("leases %+v", ls)
	}
	fatalIf(t, s.ReleaseLease(ctx, "demo", "b"))
	l, ok, err = s.AcquireLease(ctx, "demo", "a", 2001, 500)
	fatalIf(t, err)
	if !ok || l.Acquired != 2001 {
		t.Fatalf("after release %+v %v", l, ok)
	}
}

// testLeaseRace: owners racing for free sites; each site gets exactly one.
func testLeaseRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	const owners, sites = 6, 5
	won := make([][]bool, owners)
	var wg sync.WaitGroup
	errs := make(chan error, owners)
	for o := range owners {
		won[o] = make([]bool, sites)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range sites {
				_, ok, err := s.AcquireLease(ctx, fmt.Sprint("site", i), fmt.Sprint("owner", o), 1000, 60000)
				if err != nil {
					errs <- err
					return
				}
				won[o][i] = ok
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ls, err := s.ListLeases(ctx)
	fatalIf(t, err)
	for i := range sites {
		n := 0
		for o := range owners {
			if won[o][i] {
				n++
				if ls[i].Owner != fmt.Sprint("owner", o) {
					t.Fatalf("site %d: owner%d won, lease says %s", i, o, ls[i].Owner)
				}
			}
		}
		if n != 1 {
			t.Fatalf("site %d won by %d owners", i, n)
		}
	}
}

func testAlerts(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, isNew, err := s.RaiseAlert(ctx, store.Alert{Site: "demo", Sensor: "s1", Kind: store.AlertOffline,
		Message: "silent for 10 min", Raised: 1000})
	fatalIf(t, err)
	if !isNew || a.ID == 0 {
		t.Fatalf("raise %+v %v", a, isNew)
	}
	again, isNew, err := s.RaiseAlert(ctx, store.Alert{Site: "demo", Sensor: "s1", Kind: store.AlertOffline, Raised: 2000})
	fatalIf(t, err)
	if isNew || again != a {
		t.Fatalf("raised twice: %+v %v, want %+v", again, isNew, a)
	}
	c, _, err := s.RaiseAlert(ctx, store.Alert{Site: "demo", Sensor: "s2", Kind: store.AlertClock, Raised: 1500})
	fatalIf(t, err)
	_, _, err = s.RaiseAlert(ctx, store.Alert{Site: "other", Kind: store.AlertOffline, Raised: 1600})
	fatalIf(t, err)
	ok, err := s.ClearAlert(ctx, "demo", "s1", store.AlertOffline, 3000)
	fatalIf(t, err)
	if !ok {
		t.Fatal("nothing cleared")
	}
	if ok, _ := s.ClearAlert(ctx, "demo", "s1", store.AlertOffline, 3100); ok {
		t.Fatal("cleared twice")
	}
	open, err := s.ListAlerts(ctx, "demo", true, 0, 0)
	fatalIf(t, err)
	if len(open) != 1 || open[0] != c {
		t.Fatalf("open %+v", open)
	}
	all, err := s.ListAlerts(ctx, "demo", false, 0, 10000)
	fatalIf(t, err)
	if len(all) != 2 || all[0].ID != c.ID || all[1].Cleared != 3000 {
		t.Fatalf("all %+v", all)
	}
	every, err := s.ListAlerts(ctx, "", false, 1000, 1550)
	fatalIf(t, err)
	if len(every) != 2 {
		t.Fatalf("every site in range: %+v", every)
	}
	// Raised again after clearing: a new alert.
	b, isNew, err := s.RaiseAlert(ctx, store.Alert{Site: "demo", Sensor: "s1", Kind: store.AlertOffline, Raised: 4000})
	fatalIf(t, err)
	if !isNew || b.ID == a.ID {
		t.Fatalf("raise after clear %+v %v", b, isNew)
	}
}

// testLastAdmin: neither an update nor a delete takes the admin role from
// the last admin, not even two admins demoting each other at once (on
// PostgreSQL, without a lock, each would see the other still an admin).
func testLastAdmin(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := store.User{Name: "ada", Role: store.RoleAdmin, PasswordHash: "h"}
	fatalIf(t, s.CreateUser(ctx, &a))
	demoted := a
	demoted.Role = store.RoleInstaller
	if err := s.UpdateUser(ctx, &demoted); !errors.Is(err, store.ErrLastAdmin) {
		t.Fatalf("demote the only admin: %v, want ErrLastAdmin", err)
	}
	if err := s.DeleteUser(ctx, a.ID); !errors.Is(err, store.ErrLastAdmin) {
		t.Fatalf("delete the only admin: %v, want ErrLastAdmin", err)
	}
	a.PasswordHash = "h2" // an admin's new password is no demotion
	fatalIf(t, s.UpdateUser(ctx, &a))
	b := store.User{Name: "bob", Role: store.RoleAdmin, PasswordHash: "h"}
	fatalIf(t, s.CreateUser(ctx, &b))
	for round := range 5 {
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, u := range []store.User{a, b} {
			u.Role = store.RoleViewer
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.UpdateUser(ctx, &u) }()
		}
		wg.Wait()
		refused := 0
		for _, err := range errs {
			if errors.Is(err, store.ErrLastAdmin) {
				refused++
			} else {
				fatalIf(t, err)
			}
		}
		us, err := s.ListUsers(ctx)
		fatalIf(t, err)
		if refused != 1 || us[0].Role == us[1].Role {
			t.Fatalf("round %d: two admins demoting each other: %d refused, users %+v; want one admin left", round, refused, us)
		}
		fatalIf(t, s.UpdateUser(ctx, &a)) // both admins again
		fatalIf(t, s.UpdateUser(ctx, &b))
	}
	fatalIf(t, s.DeleteUser(ctx, b.ID)) // another admin remains
	if err := s.UpdateUser(ctx, &store.User{ID: b.ID, Role: store.RoleViewer}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a deleted user: %v", err)
	}
}
