package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// updateUser changes a user's role or password, or both (admin):
// {"role"?: "viewer", "installer" or "admin", "password"?: at least 10
// characters}. A new password ends all the user's sessions; their API
// tokens stay (as after POST /api/password: they revoke them on their
// Account page, or an admin deletes the user). An admin neither demotes
// themself nor resets their own password here (POST /api/password asks
// for the current one), and no change leaves the server without an admin.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	me, acc, ok := s.accounts(w, r)
	if !ok {
		return
	}
	var req struct {
		Role     *string `json:"role"`
		Password *string `json:"password"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, fmt.Sprintf(`want {"role"?: "viewer", "installer" or "admin", "password"?: at least 10 characters}: %v`, err))
		return
	}
	name := r.PathValue("name")
	switch {
	case req.Role == nil && req.Password == nil:
		httpError(w, http.StatusBadRequest, `give "role" or "password", or both`)
		return
	case req.Role != nil && roleRank[*req.Role] == 0:
		httpError(w, http.StatusBadRequest, fmt.Sprintf("role %q: want viewer, installer or admin", *req.Role))
		return
	case req.Password != nil && len(*req.Password) < MinPassword:
		httpError(w, http.StatusBadRequest, "password: at least 10 characters")
		return
	case name == me.Name && req.Role != nil && *req.Role != RoleAdmin:
		httpError(w, http.StatusBadRequest, "role: you cannot demote yourself; another admin can")
		return
	case name == me.Name && req.Password != nil:
		httpError(w, http.StatusBadRequest, "password: change your own on your Account page (POST /api/password), which asks for the current one")
		return
	}
	hash := ""
	if req.Password != nil {
		h, err := s.cfg.Auth.HashPassword(*req.Password)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		hash = h
	}
	u, ok := s.userNamed(w, r, name)
	if !ok {
		return
	}
	nu := *u
	if req.Role != nil {
		nu.Role = *req.Role
	}
	if hash != "" {
		nu.PasswordHash = hash
	}
	if err := acc.UpdateUser(r.Context(), &nu); !s.userChanged(w, r, u, err) {
		return
	}
	ts, err := acc.ListTokens(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ended, kept := 0, 0
	for _, t := range ts {
		switch {
		case t.Kind == "api":
			kept++
		case hash != "":
			if err := s.cfg.Auth.Users.DeleteToken(r.Context(), t.Hash); err != nil {
				s.fail(w, r, err)
				return
			}
			ended++
		}
	}
	s.log.Info("web: user changed", "by", me.Name, "name", u.Name, "role", u.Role, "new_role", nu.Role,
		"password_reset", hash != "", "sessions_ended", ended)
	writeJSON(w, http.StatusOK, struct {
		User
		SessionsEnded int `json:"sessions_ended"`
		APITokens     int `json:"api_tokens"`
	}{nu, ended, kept})
}

// userNamed returns the user called name, or answers 404.
func (s *Server) userNamed(w http.ResponseWriter, r *http.Request, name string) (*User, bool) {
	u, err := s.cfg.Auth.Users.UserByName(r.Context(), name)
	if errors.Is(err, ErrNotFound) {
		httpError(w, http.StatusNotFound, fmt.Sprintf("no user %q", name))
		return nil, false
	} else if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return u, true
}

// userChanged reports whether err (of changing or deleting u) is nil;
// otherwise it answers: 404 (deleted meanwhile), 409 (the last admin).
func (s *Server) userChanged(w http.ResponseWriter, r *http.Request, u *User, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrNotFound):
		httpError(w, http.StatusNotFound, fmt.Sprintf("no user %q", u.Name))
	case errors.Is(err, ErrLastAdmin):
		httpError(w, http.StatusConflict, fmt.Sprintf("role: %s is the last admin; make another user admin first", u.Name))
	default:
		s.fail(w, r, err)
	}
	return false
}
