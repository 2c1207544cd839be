package web

import (
	"context"
	"encoding/json"
	"net/http"
)

// Accounts is implemented by Users that can also list, change and delete
// users and tokens (the store's): the API then lets everyone list and
// revoke their tokens and change their password, and an admin list users,
// change their role or password, and delete them. Without it those routes
// answer 501. UpdateUser and DeleteUser refuse, atomically, to take the
// admin role from the last admin, with an error that wraps ErrLastAdmin.
type Accounts interface {
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, u *User) error
	DeleteUser(ctx context.Context, id int64) error
	ListTokens(ctx context.Context, userID int64) ([]Token, error)
}

type tokenKey struct{}

// tokenOf is the token r was authorised with (nil without logins).
func tokenOf(r *http.Request) *Token {
	t, _ := r.Context().Value(tokenKey{}).(*Token)
	return t
}

func (s *Server) accountRoutes() {
	api := func(pattern, role string, h http.HandlerFunc) { s.mux.Handle(pattern, s.api(role, h)) }
	api("GET /api/tokens", RoleViewer, s.listTokens)
	api("DELETE /api/tokens/{id}", RoleViewer, s.revokeToken)
	api("POST /api/password", RoleViewer, s.changePassword)
	api("GET /api/users", RoleAdmin, s.listUsers)
	api("PATCH /api/users/{name}", RoleAdmin, s.updateUser)
	api("DELETE /api/users/{name}", RoleAdmin, s.deleteUser)
}

// accounts returns the logged-in user and the Accounts, or answers 501 (no
// logins, or a Users that cannot).
func (s *Server) accounts(w http.ResponseWriter, r *http.Request) (*User, Accounts, bool) {
	u, ok := r.Context().Value(userKey{}).(*User)
	if !ok || s.cfg.Auth == nil {
		httpError(w, http.StatusNotImplemented, "no logins on this server (demo)")
		return nil, nil, false
	}
	acc, ok := s.cfg.Auth.Users.(Accounts)
	if !ok {
		httpError(w, http.StatusNotImplemented, "this server's users cannot be listed or changed")
		return nil, nil, false
	}
	return u, acc, true
}

// tokenView is a token as its owner sees it: id is the hash of its secret
// (which cannot be had back from it), for DELETE /api/tokens/{id}.
type tokenView struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Name     string `json:"name,omitempty"`
	Created  int64  `json:"created"`
	Expires  int64  `json:"expires"`
	LastUsed int64  `json:"last_used"`
	Current  bool   `json:"current,omitempty"`
}

// myTokens returns the logged-in user and their tokens, or answers.
func (s *Server) myTokens(w http.ResponseWriter, r *http.Request) (*User, []Token, bool) {
	u, acc, ok := s.accounts(w, r)
	if !ok {
		return nil, nil, false
	}
	ts, err := acc.ListTokens(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	return u, ts, true
}

// listTokens lists the logged-in user's sessions and API tokens.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	_, ts, ok := s.myTokens(w, r)
	if !ok {
		return
	}
	cur := tokenOf(r)
	out := []tokenView{}
	for _, t := range ts {
		out = append(out, tokenView{ID: t.Hash, Kind: t.Kind, Name: t.Name, Created: t.Created, Expires: t.Expires,
			LastUsed: t.LastUsed, Current: cur != nil && cur.Hash == t.Hash})
	}
	writeJSON(w, http.StatusOK, out)
}

// revokeToken deletes one of the logged-in user's tokens.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	u, ts, ok := s.myTokens(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	for _, t := range ts {
		if t.Hash == id {
			if err := s.cfg.Auth.Users.DeleteToken(r.Context(), id); err != nil {
				s.fail(w, r, err)
				return
			}
			s.log.Info("web: token revoked", "user", u.Name, "kind", t.Kind, "name", t.Name)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	httpError(w, http.StatusNotFound, "no such token of yours")
}

// changePassword takes {"password": the current one, "new": ...}; the
// user's other sessions end (API tokens stay: revoke them by id).
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	u, acc, ok := s.accounts(w, r)
	if !ok {
		return
	}
	var req struct {
		Password string `json:"password"`
		New      string `json:"new"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, `want {"password": the current one, "new": at least 10 characters}`)
		return
	}
	if !s.logins.allow(clientKey(r), s.cfg.Now()) {
		httpError(w, http.StatusTooManyRequests, "too many attempts; wait")
		return
	}
	if !checkPassword(u.PasswordHash, req.Password) {
		httpError(w, http.StatusForbidden, "the current password is wrong")
		return
	}
	if len(req.New) < MinPassword {
		httpError(w, http.StatusBadRequest, "new: at least 10 characters")
		return
	}
	h, err := s.cfg.Auth.HashPassword(req.New)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	nu := *u
	nu.PasswordHash = h
	if err := acc.UpdateUser(r.Context(), &nu); err != nil {
		s.fail(w, r, err)
		return
	}
	ts, err := acc.ListTokens(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cur, ended := tokenOf(r), 0
	for _, t := range ts {
		if t.Kind == "session" && (cur == nil || t.Hash != cur.Hash) {
			if err := s.cfg.Auth.Users.DeleteToken(r.Context(), t.Hash); err != nil {
				s.fail(w, r, err)
				return
			}
			ended++
		}
	}
	s.log.Info("web: password changed", "user", u.Name, "sessions_ended", ended)
	writeJSON(w, http.StatusOK, map[string]int{"sessions_ended": ended})
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	_, acc, ok := s.accounts(w, r)
	if !ok {
		return
	}
	us, err := acc.ListUsers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if us == nil {
		us = []User{}
	}
	writeJSON(w, http.StatusOK, us)
}

// deleteUser deletes a user and their tokens; not oneself, nor the last
// admin (so that an admin remains).
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	me, acc, ok := s.accounts(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if name == me.Name {
		httpError(w, http.StatusBadRequest, "you cannot delete yourself; another admin can")
		return
	}
	u, ok := s.userNamed(w, r, name)
	if !ok {
		return
	}
	if err := acc.DeleteUser(r.Context(), u.ID); !s.userChanged(w, r, u, err) {
		return
	}
	s.log.Info("web: user deleted", "by", me.Name, "name", u.Name, "role", u.Role)
	w.WriteHeader(http.StatusNoContent)
}
