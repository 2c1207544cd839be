package footfall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ParsePOSJSON reads till transactions sent to the API: a JSON array of
// receipts, or an object {"transactions":[...]}, each receipt
// {"t":..., "amount":12.5, "id":"A-17"} where the time (field t, timestamp
// or time) is Unix seconds or milliseconds or an ISO 8601 string (local
// in loc when it has no zone), and amount and id are optional; the amount
// may also be a string like "12,50" (the last of ',' and '.' is the
// decimal separator). Errors name the receipt's index and
// field.
func ParsePOSJSON(r io.Reader, loc *time.Location) ([]Transaction, error) {
	if loc == nil {
		loc = time.UTC
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("pos: %w", err)
	}
	data = bytes.TrimSpace(data)
	var raw []map[string]json.RawMessage
	if len(data) > 0 && data[0] == '{' {
		var wrap struct {
			Transactions []map[string]json.RawMessage `json:"transactions"`
		}
		if err := json.Unmarshal(data, &wrap); err != nil {
			return nil, fmt.Errorf("pos: %w", err)
		}
		if wrap.Transactions == nil {
			return nil, errors.New(`pos: want an array of receipts or {"transactions":[...]}`)
		}
		raw = wrap.Transactions
	} else if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("pos: want an array of receipts: %w", err)
	}
	out := make([]Transaction, 0, len(raw))
	for i, m := range raw {
		var tx Transaction
		field, tv := "", json.RawMessage(nil)
		for _, k := range []string{"t", "timestamp", "time"} {
			if v, ok := m[k]; ok {
				field, tv = k, v
				break
			}
		}
		if tv == nil {
			return nil, fmt.Errorf("pos: transactions[%d]: no time (want a field t, timestamp or time)", i)
		}
		var s string
		if err := json.Unmarshal(tv, &s); err != nil {
			s = string(tv) // a number
		}
		if tx.T, err = parseTime(s, loc); err != nil {
			return nil, fmt.Errorf("pos: transactions[%d].%s: %w", i, field, err)
		}
		if v, ok := m["amount"]; ok && string(v) != "null" {
			var f float64
			if err := json.Unmarshal(v, &f); err != nil {
				var s string
				if json.Unmarshal(v, &s) != nil {
					return nil, fmt.Errorf("pos: transactions[%d].amount: want a number, got %s", i, v)
				}
				if f, err = parseAmount(s, strings.LastIndexByte(s, ',') > strings.LastIndexByte(s, '.')); err != nil {
					return nil, fmt.Errorf("pos: transactions[%d].amount: %w", i, err)
				}
			}
			tx.Amount, tx.HasAmount = f, true
		}
		if v, ok := m["id"]; ok {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				s = string(v)
				if _, err := strconv.ParseFloat(s, 64); err != nil {
					return nil, fmt.Errorf("pos: transactions[%d].id: want a string or number, got %s", i, v)
				}
			}
			tx.ID = s
		}
		out = append(out, tx)
	}
	return out, nil
}
