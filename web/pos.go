package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/passant/passant/footfall"
)

// maxReceipts bounds one POS import.
const maxReceipts = 1_000_000

// importPOS takes till receipts as CSV (text/csv) or JSON.
//
// CSV: a header row naming the columns, in any order: the time (t, time,
// timestamp, datetime or date_time), optionally the amount (amount, total,
// value) and a receipt id (id, receipt, receipt_id, transaction_id). Times
// are Unix ms, Unix seconds, RFC 3339, or "YYYY-MM-DD HH:MM[:SS]" in the
// site's time zone. The delimiter may be ',' or ';'.
//
// JSON: [{"t": ..., "amount": 12.5, "id": "R-1"}, ...] or
// {"transactions": [...]}; "t" as in CSV.
func (s *Server) importPOS(w http.ResponseWriter, r *http.Request) {
	site, _, ok := s.siteOf(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := site.Location()
	var tx []footfall.Transaction
	if strings.Contains(r.Header.Get("Content-Type"), "json") {
		tx, err = ParsePOSJSON(body, loc)
	} else {
		tx, err = ParsePOSCSV(body, loc)
	}
	if err != nil {
		httpError(w, http.StatusBadRequest, "pos: "+err.Error())
		return
	}
	for i := range tx {
		tx[i].Site = site.Site
	}
	n, err := s.backend.ImportPOS(r.Context(), site.Site, tx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("web: POS import", "site", site.Site, "receipts", len(tx), "stored", n, "user", userOf(r))
	writeJSON(w, http.StatusOK, map[string]int{"receipts": len(tx), "stored": n})
}

// ParsePOSCSV reads till receipts from CSV (see importPOS for the format).
// Every error names the line.
func ParsePOSCSV(data []byte, loc *time.Location) ([]footfall.Transaction, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty: want a header row and receipts")
		}
		return nil, fmt.Errorf("header: %w", err)
	}
	ti, ai, ii := -1, -1, -1
	for i, h := range head {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "t", "time", "timestamp", "datetime", "date_time":
			ti = i
		case "amount", "total", "value":
			ai = i
		case "id", "receipt", "receipt_id", "transaction_id":
			ii = i
		}
	}
	if ti < 0 {
		return nil, fmt.Errorf("header %q: no time column (t, time, timestamp, datetime)", strings.Join(head, ","))
	}
	var out []footfall.Transaction
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err // a *csv.ParseError names the line
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if ti >= len(rec) {
			return nil, fmt.Errorf("line %d: no time field", line)
		}
		var t footfall.Transaction
		if t.T, err = parsePOSTime(strings.TrimSpace(rec[ti]), loc); err != nil {
			return nil, fmt.Errorf("line %d: time: %w", line, err)
		}
		if ai >= 0 && ai < len(rec) && strings.TrimSpace(rec[ai]) != "" {
			if t.Amount, err = parseAmount(rec[ai]); err != nil {
				return nil, fmt.Errorf("line %d: amount: %w", line, err)
			}
			t.HasAmount = true
		}
		if ii >= 0 && ii < len(rec) {
			t.ID = strings.TrimSpace(rec[ii])
		}
		if len(out) == maxReceipts {
			return nil, fmt.Errorf("more than %d receipts; split the file", maxReceipts)
		}
		out = append(out, t)
	}
	return out, nil
}

// ParsePOSJSON reads till receipts from JSON (see importPOS).
func ParsePOSJSON(data []byte, loc *time.Location) ([]footfall.Transaction, error) {
	type receipt struct {
		T      json.RawMessage `json:"t"`
		Amount *float64        `json:"amount"`
		ID     json.RawMessage `json:"id"`
	}
	var list []receipt
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var wrap struct {
			Transactions []receipt `json:"transactions"`
		}
		if err := json.Unmarshal(data, &wrap); err != nil {
			return nil, err
		}
		list = wrap.Transactions
	} else if err := json.Unmarshal(data, &list); err != nil {
		return nil, err
	}
	if len(list) > maxReceipts {
		return nil, fmt.Errorf("more than %d receipts; split the file", maxReceipts)
	}
	out := make([]footfall.Transaction, 0, len(list))
	for i, r := range list {
		if len(r.T) == 0 {
			return nil, fmt.Errorf("receipt %d: no t", i)
		}
		t, err := parsePOSTime(strings.Trim(string(r.T), `"`), loc)
		if err != nil {
			return nil, fmt.Errorf("receipt %d: t: %w", i, err)
		}
		tx := footfall.Transaction{T: t}
		if r.Amount != nil {
			if math.IsNaN(*r.Amount) || math.IsInf(*r.Amount, 0) {
				return nil, fmt.Errorf("receipt %d: amount is not finite", i)
			}
			tx.Amount, tx.HasAmount = *r.Amount, true
		}
		if len(r.ID) > 0 && string(r.ID) != "null" {
			tx.ID = strings.Trim(string(r.ID), `"`)
		}
		out = append(out, tx)
	}
	return out, nil
}

var posLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"}

func parsePOSTime(v string, loc *time.Location) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 1e11 { // seconds: before 5138 AD in seconds, 1973 in ms
			n *= 1000
		}
		return n, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UnixMilli(), nil
	}
	for _, l := range posLayouts {
		if t, err := time.ParseInLocation(l, v, loc); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("%q is not Unix ms or s, RFC 3339 or YYYY-MM-DD HH:MM:SS", v)
}

func parseAmount(v string) (float64, error) {
	v = strings.TrimSpace(v)
	if strings.Contains(v, ",") && !strings.Contains(v, ".") {
		v = strings.Replace(v, ",", ".", 1)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return f, nil
}
