package store

import (
	"context"
	"fmt"

	"github.com/passant/passant/footfall"
)

// WriteTransactions implements Transactions.
func (db *DB) WriteTransactions(ctx context.Context, ts []footfall.Transaction) (int, error) {
	for i := range ts {
		if !finite(ts[i].Amount) {
			return 0, fmt.Errorf("store: write transactions: receipt %d (t %d): amount is not finite", i, ts[i].T)
		}
	}
	var n int64
	err := db.tx(ctx, func(tx q) error {
		for i := range ts {
			t := &ts[i]
			m, err := tx.exec(ctx, `INSERT INTO transactions (site, t, amount, has_amount, receipt)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (site, receipt) WHERE receipt <> '' DO NOTHING`,
				t.Site, t.T, t.Amount, t.HasAmount, cleanText(t.ID))
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: write %d transactions: %w", len(ts), err)
	}
	return int(n), nil
}

// ListTransactions implements Transactions.
func (db *DB) ListTransactions(ctx context.Context, site string, from, to int64) ([]footfall.Transaction, error) {
	rs, err := db.r().query(ctx, `SELECT t, amount, has_amount, receipt FROM transactions
		WHERE site = $1 AND t >= $2 AND t < $3 ORDER BY t, id`, site, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: transactions %s: %w", site, err)
	}
	defer rs.Close()
	ts := []footfall.Transaction{}
	for rs.Next() {
		t := footfall.Transaction{Site: site}
		if err := rs.Scan(&t.T, &t.Amount, &t.HasAmount, &t.ID); err != nil {
			return nil, fmt.Errorf("store: transactions %s: %w", site, err)
		}
		ts = append(ts, t)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: transactions %s: %w", site, err)
	}
	return ts, nil
}

// DeleteTransactions implements Transactions.
func (db *DB) DeleteTransactions(ctx context.Context, site string, from, to int64) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx q) error {
		var err error
		n, err = tx.exec(ctx, `DELETE FROM transactions WHERE site = $1 AND t >= $2 AND t < $3`, site, from, to)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete transactions %s: %w", site, err)
	}
	return n, nil
}
