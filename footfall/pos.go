package footfall

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Column names ParsePOSCSV recognises in a header row (case and spaces,
// '-' and '_' ignored).
var (
	timeColumns   = []string{"timestamp", "datetime", "ts", "t", "createdat", "created", "when", "saletime", "transactiontime", "zeitstempel"}
	dateColumns   = []string{"date", "datum", "day", "saledate", "transactiondate"}
	clockColumns  = []string{"time", "zeit", "uhrzeit", "clock"}
	amountColumns = []string{"amount", "total", "value", "sum", "price", "gross", "net", "betrag", "summe", "umsatz"}
	idColumns     = []string{"id", "receipt", "receiptid", "receiptno", "receiptnumber", "transaction", "transactionid", "txid", "bon", "bonnr", "belegnr"}
)

// ParsePOSCSV reads till transactions from CSV: a timestamp column and an
// optional amount column (and an optional receipt id). With a header row
// the columns are found by name (timestamp/time/datetime/date..., amount/
// total/value..., id/receipt...; a date column and a time column are
// joined); without one the first column is the timestamp and the second,
// when present, the amount. The delimiter is ','
// or, when the first line has ';' and no ',', ';' (then "12,50" is an
// amount too). A timestamp is ISO 8601 (local time in loc when it has no
// zone; also 04.12.2026 14:03 and 2026/12/04 14:03) or Unix seconds or
// milliseconds (numbers from 1e11 up are milliseconds). Errors name the
// line and the column.
func ParsePOSCSV(r io.Reader, loc *time.Location) ([]Transaction, error) {
	if loc == nil {
		loc = time.UTC
	}
	br := bufio.NewReader(r)
	first, _ := br.Peek(4096)
	first = bytes.TrimPrefix(first, []byte("\xef\xbb\xbf"))
	if nl := bytes.IndexByte(first, '\n'); nl >= 0 {
		first = first[:nl]
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	if bytes.IndexByte(first, ';') >= 0 && bytes.IndexByte(first, ',') < 0 {
		cr.Comma = ';'
	}
	out := []Transaction{}
	tcol, acol, icol, hcol := 0, 1, -1, -1 // hcol: a time-of-day column joined to tcol's date
	names := []string{"timestamp", "amount"}
	header := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("pos: line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
			}
			return nil, fmt.Errorf("pos: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if header {
			header = false
			if len(rec) > 0 {
				rec[0] = strings.TrimPrefix(rec[0], "\xef\xbb\xbf")
			}
			if _, err := parseTime(rec[0], loc); err != nil {
				// A header row: find the columns by name.
				tcol, acol, icol = -1, -1, -1
				dcol := -1
				names = make([]string, len(rec))
				for i, f := range rec {
					names[i] = strings.TrimSpace(f)
					n := normName(f)
					switch {
					case tcol < 0 && contains(timeColumns, n):
						tcol = i
					case dcol < 0 && contains(dateColumns, n):
						dcol = i
					case hcol < 0 && contains(clockColumns, n):
						hcol = i
					case acol < 0 && contains(amountColumns, n):
						acol = i
					case icol < 0 && contains(idColumns, n):
						icol = i
					}
				}
				switch {
				case tcol >= 0:
					hcol = -1
				case dcol >= 0:
					tcol = dcol // with hcol, when there is one
				case hcol >= 0:
					tcol, hcol = hcol, -1
				default:
					return nil, fmt.Errorf("pos: line %d: no timestamp column in the header %q (want one named %s, or date and time)",
						line, rec, strings.Join(timeColumns, ", "))
				}
				continue
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		col := func(i int) string {
			if i < len(names) && names[i] != "" {
				return fmt.Sprintf("column %d (%s)", i+1, names[i])
			}
			return fmt.Sprintf("column %d", i+1)
		}
		if tcol >= len(rec) {
			return nil, fmt.Errorf("pos: line %d, %s: missing", line, col(tcol))
		}
		ts, where := rec[tcol], col(tcol)
		if hcol >= 0 && hcol < len(rec) {
			ts, where = strings.TrimSpace(ts)+" "+strings.TrimSpace(rec[hcol]), where+" and "+col(hcol)
		}
		t, err := parseTime(ts, loc)
		if err != nil {
			return nil, fmt.Errorf("pos: line %d, %s: %w", line, where, err)
		}
		tx := Transaction{T: t}
		if acol >= 0 && acol < len(rec) && strings.TrimSpace(rec[acol]) != "" {
			a, err := parseAmount(rec[acol], cr.Comma == ';')
			if err != nil {
				return nil, fmt.Errorf("pos: line %d, %s: %w", line, col(acol), err)
			}
			tx.Amount, tx.HasAmount = a, true
		}
		if icol >= 0 && icol < len(rec) {
			tx.ID = strings.TrimSpace(rec[icol])
		}
		out = append(out, tx)
	}
}

func normName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999 Z07:00",
	"2006-01-02 15:04:05.999999999 -0700",
}

var localLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"02.01.2006 15:04:05.999999999",
	"02.01.2006 15:04",
	"2006/01/02 15:04:05.999999999",
	"2006/01/02 15:04",
}

// parseTime reads an ISO 8601 time or Unix seconds or milliseconds.
func parseTime(s string, loc *time.Location) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty timestamp")
	}
	if c := s[0]; c >= '0' && c <= '9' && !strings.ContainsAny(s, "-:T ") {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(v, 0) || v < 0 || v > 1e15 {
			return 0, fmt.Errorf("%q is not a Unix time in seconds or milliseconds", s)
		}
		if v >= 1e11 {
			return int64(math.Round(v)), nil
		}
		return int64(math.Round(v * 1000)), nil
	}
	for _, l := range isoLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("%q is not a time (want ISO 8601 like 2026-12-04T15:04:05+01:00 or 2026-12-04 15:04:05, or Unix seconds or milliseconds)", s)
}

// parseAmount reads a money amount: "12.50", "-3", "1,234.50", or with
// decimalComma "12,50" and "1.234,50". A currency sign or code around the
// number is allowed.
func parseAmount(s string, decimalComma bool) (float64, error) {
	orig := s
	s = strings.TrimSpace(s)
	s = strings.TrimFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9') && r != '-' && r != '+' && r != '.' && r != ','
	})
	if decimalComma {
		s = strings.ReplaceAll(s, ".", "")
		s = strings.ReplaceAll(s, ",", ".")
	} else {
		s = strings.ReplaceAll(s, ",", "")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not an amount", strings.TrimSpace(orig))
	}
	return v, nil
}
