package web

import (
	"bytes"
	"io"
	"net/http"
	"strings"

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
		tx, err = footfall.ParsePOSJSON(bytes.NewReader(body), loc)
	} else {
		tx, err = footfall.ParsePOSCSV(bytes.NewReader(body), loc)
	}
	if err != nil {
		httpError(w, http.StatusBadRequest, "pos: "+err.Error())
		return
	}
	if len(tx) > maxReceipts {
		httpError(w, http.StatusBadRequest, "pos: too many receipts in one import")
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
