package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/passant/passant/footfall"
)

// forecast answers GET /api/sites/{site}/forecast?from&days: the expected
// visitors and passers-by of each local hour of the days ahead
// (footfall.Predict) from the site's stored hours of the ForecastWeeks
// before, with the backtest of the week before from (footfall.BacktestWeek)
// in its basis when there is a week and history before it. from is the
// first day (a local date, RFC 3339 or Unix ms; default the site's today),
// days 1 to 14 (default 7).
func (s *Server) forecast(w http.ResponseWriter, r *http.Request) {
	site, _, ok := s.siteOf(w, r)
	if !ok {
		return
	}
	loc := site.Location()
	now := s.cfg.Now().In(loc)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).UnixMilli()
	q := r.URL.Query()
	if v := q.Get("from"); v != "" {
		t, err := parseTime(v, loc, false)
		if err != nil {
			httpError(w, http.StatusBadRequest, "from: "+err.Error())
			return
		}
		from = t
	}
	days := 7
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 14 {
			httpError(w, http.StatusBadRequest, "days: want 1 to 14")
			return
		}
		days = n
	}
	// The forecast reads ForecastWeeks before from; its backtest hides the
	// week before from and reads ForecastWeeks before that.
	start := time.UnixMilli(from).In(loc)
	read := time.Date(start.Year(), start.Month(), start.Day()-7*(footfall.ForecastWeeks+1), 0, 0, 0, 0, loc)
	end := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc)
	hours, err := s.backend.Hours(r.Context(), site.Site, read.UnixMilli(), end.UnixMilli())
	if err != nil {
		s.fail(w, r, fmt.Errorf("forecast: hours of %s: %w", site.Site, err))
		return
	}
	fc := footfall.Predict(site, hours, from, days)
	if bt, ok := footfall.BacktestWeek(site, hours, from); ok {
		fc.Basis.Backtest = &bt
	}
	writeJSON(w, http.StatusOK, fc)
}
