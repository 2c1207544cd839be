package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/wire"
)

// siteRange reads the path's site and the query's ?from&to (timeRange),
// answering the error itself unless ok.
func (s *Server) siteRange(w http.ResponseWriter, r *http.Request) (site *wire.Site, from, to int64, ok bool) {
	site, _, ok = s.siteOf(w, r)
	if !ok {
		return nil, 0, 0, false
	}
	from, to, err := s.timeRange(r, site)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return nil, 0, 0, false
	}
	return site, from, to, true
}

// reportPart reads ?part=hours (default), days, zones or paths, answering
// 400 itself unless ok.
func reportPart(w http.ResponseWriter, r *http.Request) (part string, ok bool) {
	part = r.URL.Query().Get("part")
	if part == "" {
		part = "hours"
	}
	if part != "hours" && part != "days" && part != "zones" && part != "paths" {
		httpError(w, http.StatusBadRequest, "part: want hours, days, zones or paths")
		return "", false
	}
	return part, true
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	site, from, to, ok := s.siteRange(w, r)
	if !ok {
		return
	}
	mode := r.URL.Query().Get("compare")
	if _, ok := compareShift(mode, from, to, site.Location()); !ok && mode != "" && mode != CompareNone {
		httpError(w, http.StatusBadRequest, "compare: want none, prev, week or year")
		return
	}
	rep, err := s.backend.Report(r.Context(), site.Site, from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.compare(r.Context(), site, rep, mode)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, comparedReport{rep, c})
}

// reportCSV writes one table of the report: ?part=hours (default), days,
// zones or paths.
func (s *Server) reportCSV(w http.ResponseWriter, r *http.Request) {
	site, from, to, ok := s.siteRange(w, r)
	if !ok {
		return
	}
	part, ok := reportPart(w, r)
	if !ok {
		return
	}
	rep, err := s.backend.Report(r.Context(), site.Site, from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := fmt.Sprintf("%s-%s-%s.csv", site.Site, part, time.UnixMilli(from).In(site.Location()).Format("2006-01-02"))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := csv.NewWriter(w)
	writeReportCSV(cw, rep, part, site.Location())
	cw.Flush()
}

// reportsCSV writes one table of every site's report, each row led by its
// site: ?from&to (each site's local dates) &part=hours|days|zones|paths.
func (s *Server) reportsCSV(w http.ResponseWriter, r *http.Request) {
	part, ok := reportPart(w, r)
	if !ok {
		return
	}
	sites, err := s.backend.Sites(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type table struct {
		site string
		rows [][]string
	}
	var tables []table
	for _, site := range sites {
		from, to, err := s.timeRange(r, site)
		if err != nil {
			httpError(w, http.StatusBadRequest, err.Error())
			return
		}
		rep, err := s.backend.Report(r.Context(), site.Site, from, to)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var buf bytes.Buffer
		cw := csv.NewWriter(&buf)
		writeReportCSV(cw, rep, part, site.Location())
		cw.Flush()
		rows, _ := csv.NewReader(&buf).ReadAll()
		tables = append(tables, table{site.Site, rows})
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="passant-`+part+`.csv"`)
	cw := csv.NewWriter(w)
	for i, t := range tables {
		for j, row := range t.rows {
			if j == 0 {
				if i == 0 {
					cw.Write(append([]string{"site"}, row...))
				}
				continue
			}
			cw.Write(append([]string{t.site}, row...))
		}
	}
	if len(tables) == 0 {
		cw.Write([]string{"site"})
	}
	cw.Flush()
}

func writeReportCSV(cw *csv.Writer, rep *wire.Report, part string, loc *time.Location) {
	switch part {
	case "hours":
		cw.Write([]string{"start", "start_ms", "passersby", "visitors", "staff", "capture_rate",
			"dwell_median_s", "occupancy_max", "occupancy_mean", "transactions", "conversion", "open",
			"passersby_est", "capture_rate_est", "dwell_median_est_s"})
		for _, h := range rep.Hours {
			cw.Write([]string{time.UnixMilli(h.Start).In(loc).Format(time.RFC3339), itoa64(h.Start),
				strconv.Itoa(h.Passersby), strconv.Itoa(h.Visitors), strconv.Itoa(h.Staff),
				fptr(h.CaptureRate), fptr(h.DwellMedianS), strconv.Itoa(h.OccupancyMax),
				ftoa(h.OccupancyMean), iptr(h.Transactions), fptr(h.Conversion), strconv.FormatBool(h.Open),
				ftoa(h.PassersbyEst), fptr(h.CaptureRateEst), fptr(h.DwellMedianEstS)})
		}
	case "days":
		cw.Write([]string{"date", "passersby", "visitors", "staff", "capture_rate", "dwell_median_s",
			"new", "returning", "transactions", "conversion", "passersby_est", "capture_rate_est", "dwell_median_est_s",
			"returning_est"})
		for _, d := range rep.Days {
			cw.Write([]string{d.Date, strconv.Itoa(d.Passersby), strconv.Itoa(d.Visitors),
				strconv.Itoa(d.Staff), fptr(d.CaptureRate), fptr(d.DwellMedianS), strconv.Itoa(d.New),
				strconv.Itoa(d.Returning), iptr(d.Transactions), fptr(d.Conversion), ftoa(d.PassersbyEst), fptr(d.CaptureRateEst),
				fptr(d.DwellMedianEstS), fptr(d.ReturningEst)})
		}
	case "zones":
		cw.Write([]string{"zone", "visits", "dwell_median_s"})
		for _, z := range rep.Zones {
			cw.Write([]string{z.Zone, strconv.Itoa(z.Visits), fptr(z.DwellMedianS)})
		}
	case "paths":
		cw.Write([]string{"from", "to", "count"})
		for _, p := range rep.Paths {
			cw.Write([]string{p.From, p.To, strconv.Itoa(p.Count)})
		}
	}
}

// csvText guards a free-text cell against formula injection: a spreadsheet
// would run a cell that starts with = + - @ (or a tab or CR) as a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }
func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func fptr(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 4, 64)
}

func iptr(v *int) string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(*v)
}

// MaxHeatCells bounds the cells of one heatmap (its grid is summed, sent
// and drawn whole): a site of the largest bounds (wire.MaxBoundsSide) at
// the default 0.5 m cell. A viewer's ?cell=0.1 over such a site would be
// 10^8 cells, 800 MB.
const MaxHeatCells = 2000 * 2000

// heatmapQuery reads ?from&to&zone&cell&hours=10-14&staff=1.
func (s *Server) heatmapQuery(w http.ResponseWriter, r *http.Request) (HeatmapQuery, bool) {
	site, from, to, ok := s.siteRange(w, r)
	if !ok {
		return HeatmapQuery{}, false
	}
	q := HeatmapQuery{Site: site.Site, From: from, To: to, Cell: 0.5, HourFrom: 0, HourTo: 24}
	v := r.URL.Query()
	if z := v.Get("zone"); z != "" {
		if site.Zone(z) == nil {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("zone: site %s has no zone %q", site.Site, z))
			return q, false
		}
		q.Zone = z
	}
	if c := v.Get("cell"); c != "" {
		f, err := strconv.ParseFloat(c, 64)
		if err != nil || !(f >= 0.1 && f <= 10) {
			httpError(w, http.StatusBadRequest, "cell: want metres from 0.1 to 10")
			return q, false
		}
		q.Cell = f
	}
	if n := heatmap.Cells(site.Bounds, q.Cell); n > MaxHeatCells {
		b := site.Bounds
		httpError(w, http.StatusBadRequest, fmt.Sprintf("cell: %g m cells over the site's %g x %g m make %d cells, over %d; take at least %.1f m",
			q.Cell, b[1][0]-b[0][0], b[1][1]-b[0][1], n, MaxHeatCells, math.Ceil(10*q.Cell*math.Sqrt(float64(n)/MaxHeatCells))/10))
		return q, false
	}
	if h := v.Get("hours"); h != "" {
		a, b, ok := strings.Cut(h, "-")
		x, err1 := strconv.Atoi(a)
		y, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || x < 0 || y > 24 || x >= y {
			httpError(w, http.StatusBadRequest, "hours: want a local hour range like 10-14 (0 to 24)")
			return q, false
		}
		q.HourFrom, q.HourTo = x, y
	}
	switch v.Get("staff") {
	case "", "0", "false":
	case "1", "true":
		q.Staff = true
	default:
		httpError(w, http.StatusBadRequest, "staff: want 1 to include the staff's time, 0 (the default) to leave it out")
		return q, false
	}
	return q, true
}

func (s *Server) heatmap(w http.ResponseWriter, r *http.Request) {
	q, ok := s.heatmapQuery(w, r)
	if !ok {
		return
	}
	g, err := s.backend.Heatmap(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

func (s *Server) heatmapPNG(w http.ResponseWriter, r *http.Request) {
	q, ok := s.heatmapQuery(w, r)
	if !ok {
		return
	}
	png, err := s.backend.HeatmapPNG(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Get("download") != "" {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-heatmap.png"`, q.Site))
	}
	w.Write(png)
}

// reprocess recomputes figures: {"from": ms|date, "to": ms|date}.
func (s *Server) reprocess(w http.ResponseWriter, r *http.Request) {
	site, _, ok := s.siteOf(w, r)
	if !ok {
		return
	}
	var req struct {
		From json.RawMessage `json:"from"`
		To   json.RawMessage `json:"to"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, `want {"from": ..., "to": ...} (Unix ms or "YYYY-MM-DD")`)
		return
	}
	loc := site.Location()
	from, err1 := parseTime(strings.Trim(string(req.From), `"`), loc, false)
	to, err2 := parseTime(strings.Trim(string(req.To), `"`), loc, true)
	if err1 != nil || err2 != nil || to <= from {
		httpError(w, http.StatusBadRequest, `want {"from": ..., "to": ...} (Unix ms or "YYYY-MM-DD"), to after from`)
		return
	}
	start := time.Now()
	done, err := s.backend.Reprocess(r.Context(), site.Site, from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("web: re-processed", "site", site.Site, "from", from, "to", to, "user", userOf(r), "took", time.Since(start),
		"thinned_days", len(done.Days))
	out := map[string]any{"site": site.Site, "from": from, "to": to, "took_ms": time.Since(start).Milliseconds()}
	if done.ThinnedBefore != 0 {
		out["thinned_before"], out["thinned_days"] = done.ThinnedBefore, done.Days
	}
	writeJSON(w, http.StatusOK, out)
}

// SiteSummary is one site in the chain view.
type SiteSummary struct {
	Site         string   `json:"site"`
	Name         string   `json:"name"`
	Date         string   `json:"date"` // the local day summed
	Passersby    int      `json:"passersby"`
	PassersbyEst float64  `json:"passersby_est"` // people, not tracks (wire.Estimate)
	Visitors     int      `json:"visitors"`
	CaptureRate  *float64 `json:"capture_rate"`
	DwellMedianS *float64 `json:"dwell_median_s"`
	Transactions *int     `json:"transactions,omitempty"`
	Conversion   *float64 `json:"conversion,omitempty"`
	// VisitorsPrev (extension) is the visitors of the same weekday one
	// week before (PrevDate), up to the same local time of day when Date
	// is today (PrevTo, Unix ms: the end of the span counted); nil when
	// unavailable.
	VisitorsPrev  *int   `json:"visitors_prev"`
	PrevDate      string `json:"prev_date"`
	PrevTo        int64  `json:"prev_to"`
	InStore       int    `json:"in_store"` // tracks in the store zone now
	Sensors       int    `json:"sensors"`
	SensorsOnline int    `json:"sensors_online"`
	Error         string `json:"error,omitempty"`
}

// summaries builds the chain view from each site's report, sensors and live
// state, a few sites at a time. date is a local YYYY-MM-DD or "" for today.
func (s *Server) summaries(r *http.Request, date string) ([]SiteSummary, error) {
	sites, err := s.backend.Sites(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]SiteSummary, len(sites))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, site := range sites {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = s.summary(r, site, date)
		}()
	}
	wg.Wait()
	return out, nil
}

func (s *Server) summary(r *http.Request, site *wire.Site, date string) SiteSummary {
	ctx := r.Context()
	loc := site.Location()
	sum := SiteSummary{Site: site.Site, Name: site.Name, Sensors: len(site.Sensors)}
	day, err := time.ParseInLocation("2006-01-02", date, loc)
	if err != nil {
		now := s.cfg.Now().In(loc)
		day = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	}
	sum.Date = day.Format("2006-01-02")
	rep, err := s.backend.Report(ctx, site.Site, day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli())
	if err != nil {
		sum.Error = "report unavailable"
		s.log.Warn("web: chain report", "site", site.Site, "err", err)
	} else {
		t := rep.Totals
		sum.Passersby, sum.Visitors, sum.CaptureRate, sum.DwellMedianS = t.Passersby, t.Visitors, t.CaptureRate, t.DwellMedianS
		sum.PassersbyEst = t.PassersbyEst
		sum.Transactions, sum.Conversion = t.Transactions, t.Conversion
	}
	sum.PrevDate = day.AddDate(0, 0, -7).Format("2006-01-02")
	if v, to, err := s.prevVisitors(ctx, site, day); err != nil {
		s.log.Warn("web: chain comparison", "site", site.Site, "err", err)
	} else {
		sum.VisitorsPrev, sum.PrevTo = &v, to
	}
	if hs, err := s.backend.Sensors(ctx, site.Site); err == nil {
		known := 0
		for _, h := range hs {
			if h.Known {
				known++
				if h.Online {
					sum.SensorsOnline++
				}
			}
		}
		sum.Sensors = max(sum.Sensors, known)
	}
	if snap, err := s.backend.Live(ctx, site.Site); err == nil {
		for _, z := range site.Zones {
			if z.Kind == wire.ZoneStore {
				sum.InStore += snap.Occupancy[z.ID]
			}
		}
	}
	return sum
}

func (s *Server) chain(w http.ResponseWriter, r *http.Request) {
	out, err := s.summaries(r, r.URL.Query().Get("date"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) chainCSV(w http.ResponseWriter, r *http.Request) {
	out, err := s.summaries(r, r.URL.Query().Get("date"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="passant-chain.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"site", "name", "date", "passersby", "visitors", "capture_rate", "dwell_median_s",
		"transactions", "conversion", "in_store", "sensors", "sensors_online", "passersby_est",
		"visitors_prev", "prev_date", "prev_to"})
	for _, x := range out {
		cw.Write([]string{x.Site, csvText(x.Name), x.Date, strconv.Itoa(x.Passersby), strconv.Itoa(x.Visitors),
			fptr(x.CaptureRate), fptr(x.DwellMedianS), iptr(x.Transactions), fptr(x.Conversion),
			strconv.Itoa(x.InStore), strconv.Itoa(x.Sensors), strconv.Itoa(x.SensorsOnline), ftoa(x.PassersbyEst),
			iptr(x.VisitorsPrev), x.PrevDate, itoa64(x.PrevTo)})
	}
	cw.Flush()
}
