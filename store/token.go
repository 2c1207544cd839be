package store

import (
	"context"
	"fmt"
	"time"
)

// CreateToken implements Auth.
func (db *DB) CreateToken(ctx context.Context, t *Token) error {
	if t.Created == 0 {
		t.Created = time.Now().UnixMilli()
	}
	err := db.tx(ctx, func(tx q) error {
		_, err := tx.exec(ctx, `INSERT INTO tokens (hash, user_id, kind, name, created, expires, last_used)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.Hash, t.UserID, t.Kind, cleanText(t.Name), t.Created, t.Expires, t.LastUsed)
		return err
	})
	if errUnique(err) {
		err = ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create token for user %d: %w", t.UserID, err)
	}
	return nil
}

// TokenUser implements Auth.
func (db *DB) TokenUser(ctx context.Context, hash string, now int64) (*User, *Token, error) {
	var (
		u User
		t Token
	)
	err := db.tx(ctx, func(tx q) error {
		err := tx.queryRow(ctx, `UPDATE tokens SET last_used = $2 WHERE hash = $1 AND (expires = 0 OR expires > $2)
			RETURNING hash, user_id, kind, name, created, expires, last_used`, hash, now).
			Scan(&t.Hash, &t.UserID, &t.Kind, &t.Name, &t.Created, &t.Expires, &t.LastUsed)
		if err != nil {
			return err
		}
		return tx.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, t.UserID).
			Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.Created)
	})
	if errNoRows(err) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: token: %w", err)
	}
	return &u, &t, nil
}

// ListTokens implements Auth.
func (db *DB) ListTokens(ctx context.Context, userID int64) ([]Token, error) {
	rs, err := db.q().query(ctx, `SELECT hash, user_id, kind, name, created, expires, last_used FROM tokens
		WHERE user_id = $1 ORDER BY created DESC, hash`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens of user %d: %w", userID, err)
	}
	defer rs.Close()
	ts := []Token{}
	for rs.Next() {
		var t Token
		if err := rs.Scan(&t.Hash, &t.UserID, &t.Kind, &t.Name, &t.Created, &t.Expires, &t.LastUsed); err != nil {
			return nil, fmt.Errorf("store: tokens of user %d: %w", userID, err)
		}
		ts = append(ts, t)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: tokens of user %d: %w", userID, err)
	}
	return ts, nil
}

// DeleteToken implements Auth.
func (db *DB) DeleteToken(ctx context.Context, hash string) error {
	err := db.tx(ctx, func(tx q) error {
		_, err := tx.exec(ctx, `DELETE FROM tokens WHERE hash = $1`, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete token: %w", err)
	}
	return nil
}

// DeleteExpiredTokens implements Auth.
func (db *DB) DeleteExpiredTokens(ctx context.Context, now int64) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx q) error {
		var err error
		n, err = tx.exec(ctx, `DELETE FROM tokens WHERE expires <> 0 AND expires <= $1`, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired tokens: %w", err)
	}
	return n, nil
}
