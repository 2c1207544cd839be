package store

import (
	"context"
	"fmt"
	"time"
)

// CreateUser implements Auth.
func (db *DB) CreateUser(ctx context.Context, u *User) error {
	if u.Created == 0 {
		u.Created = time.Now().UnixMilli()
	}
	err := db.tx(ctx, func(tx q) error {
		return tx.queryRow(ctx, `INSERT INTO users (name, role, password_hash, created) VALUES ($1, $2, $3, $4)
			RETURNING id`, cleanText(u.Name), u.Role, u.PasswordHash, u.Created).Scan(&u.ID)
	})
	if errUnique(err) {
		err = ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create user %q: %w", u.Name, err)
	}
	return nil
}

// keepAdmin, in a transaction, returns ErrLastAdmin when giving the user of
// id the role (deleting them: "") would leave no admin, and ErrNotFound
// when there is no such user. On PostgreSQL it locks the users table
// against other writers until the transaction ends, so that two servers
// of a cluster check one after the other; SQLite's writes are one at a
// time already.
func (db *DB) keepAdmin(ctx context.Context, tx q, id int64, role string) error {
	if db.pg {
		if _, err := tx.exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
	}
	var was string
	err := tx.queryRow(ctx, `SELECT role FROM users WHERE id = $1`, id).Scan(&was)
	if errNoRows(err) {
		return ErrNotFound
	} else if err != nil || was != RoleAdmin || role == RoleAdmin {
		return err
	}
	var others int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM users WHERE role = $1 AND id <> $2`, RoleAdmin, id).Scan(&others); err != nil {
		return err
	}
	if others == 0 {
		return ErrLastAdmin
	}
	return nil
}

// UpdateUser implements Auth.
func (db *DB) UpdateUser(ctx context.Context, u *User) error {
	err := db.tx(ctx, func(tx q) error {
		if err := db.keepAdmin(ctx, tx, u.ID, u.Role); err != nil {
			return err
		}
		n, err := tx.exec(ctx, `UPDATE users SET role = $2, password_hash = $3 WHERE id = $1`,
			u.ID, u.Role, u.PasswordHash)
		if err == nil && n == 0 {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: update user %d: %w", u.ID, err)
	}
	return nil
}

// DeleteUser implements Auth.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	err := db.tx(ctx, func(tx q) error {
		if err := db.keepAdmin(ctx, tx, id, ""); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM tokens WHERE user_id = $1`, id); err != nil {
			return err
		}
		n, err := tx.exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err == nil && n == 0 {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete user %d: %w", id, err)
	}
	return nil
}

const userColumns = `id, name, role, password_hash, created`

func (db *DB) user(ctx context.Context, what string, where string, arg any) (*User, error) {
	var u User
	err := db.q().queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, arg).
		Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.Created)
	if errNoRows(err) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: user %s: %w", what, err)
	}
	return &u, nil
}

// UserByName implements Auth.
func (db *DB) UserByName(ctx context.Context, name string) (*User, error) {
	return db.user(ctx, fmt.Sprintf("%q", name), `name = $1`, name)
}

// UserByID implements Auth.
func (db *DB) UserByID(ctx context.Context, id int64) (*User, error) {
	return db.user(ctx, fmt.Sprint(id), `id = $1`, id)
}

// ListUsers implements Auth.
func (db *DB) ListUsers(ctx context.Context) ([]User, error) {
	rs, err := db.q().query(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rs.Close()
	us := []User{}
	for rs.Next() {
		var u User
		if err := rs.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.Created); err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		us = append(us, u)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return us, nil
}

// CountUsers implements Auth.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.q().queryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}
