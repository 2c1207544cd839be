package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// users adapts the store's Auth to what the web server's logins need.
type users struct{ st store.Store }

func (u users) CountUsers(ctx context.Context) (int, error) { return u.st.CountUsers(ctx) }

func (u users) CreateUser(ctx context.Context, w *web.User) error {
	su := store.User(*w)
	if err := u.st.CreateUser(ctx, &su); err != nil {
		return err
	}
	w.ID = su.ID
	return nil
}

func (u users) UserByName(ctx context.Context, name string) (*web.User, error) {
	su, err := u.st.UserByName(ctx, name)
	if err != nil {
		return nil, notFound(err)
	}
	w := web.User(*su)
	return &w, nil
}

func (u users) CreateToken(ctx context.Context, t *web.Token) error {
	st := store.Token(*t)
	return u.st.CreateToken(ctx, &st)
}

func (u users) TokenUser(ctx context.Context, hash string, now int64) (*web.User, *web.Token, error) {
	su, stok, err := u.st.TokenUser(ctx, hash, now)
	if err != nil {
		return nil, nil, notFound(err)
	}
	wu, wt := web.User(*su), web.Token(*stok)
	return &wu, &wt, nil
}

func (u users) DeleteToken(ctx context.Context, hash string) error {
	return u.st.DeleteToken(ctx, hash)
}

func (s *Server) authConfig() *web.Auth {
	if !s.cfg.Auth {
		return nil
	}
	return &web.Auth{Users: users{s.store}}
}

// bootstrapAdmin creates the first admin on the first start and says once,
// in the log, how to log in.
func (s *Server) bootstrapAdmin(ctx context.Context) error {
	a := s.authConfig()
	name, pass, err := a.Bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if name != "" {
		s.log.Warn("first start: created the admin user; this password is shown only once",
			"user", name, "password", pass, "login", "http://"+s.httpAddr+"/")
	}
	return nil
}

// Alert thresholds.
const (
	defaultSilent = 5 * time.Minute // default of Config.AlertSilent
	clockLimit    = 2 * time.Second
)

// checkAlerts raises and clears the alerts of a site's sensors: silent or
// offline, and clocks out of line.
func (s *Server) checkAlerts(ctx context.Context, r *siteRunner) {
	now := time.Now().UnixMilli()
	for _, h := range r.health(now) {
		silent := h.LastSeen > 0 && now-h.LastSeen > s.cfg.AlertSilent.Milliseconds() || h.State == "offline"
		s.alert(ctx, r.id, h.ID, store.AlertOffline, silent, now, offlineMessage(h, now))
		off := h.ClockOffsetMs
		bad := off > float64(clockLimit.Milliseconds()) || off < -float64(clockLimit.Milliseconds()) || h.Clock == "quarantined"
		msg := fmt.Sprintf("sensor %s clock is %.0f ms off the others", h.ID, off)
		if h.Clock == "quarantined" {
			msg = fmt.Sprintf("sensor %s clock is erratic: its observations are not used for positions", h.ID)
		}
		s.alert(ctx, r.id, h.ID, store.AlertClock, bad, now, msg)
	}
}

// offlineMessage says why a sensor's offline alert is raised: it said it
// is offline (its status, or its last will), or it has been silent.
func offlineMessage(h web.SensorHealth, now int64) string {
	since := (time.Duration(now-h.LastSeen) * time.Millisecond).Round(time.Second)
	switch {
	case h.State == "offline" && h.LastSeen == 0:
		return fmt.Sprintf("sensor %s is offline: it says so, and has sent nothing since the server started", h.ID)
	case h.State == "offline":
		return fmt.Sprintf("sensor %s is offline: it says so; its last batch came %s ago", h.ID, since)
	}
	return fmt.Sprintf("sensor %s has sent nothing for %s", h.ID, since)
}

// alert raises (on) or clears the alert of a site's sensor of kind at now.
// A raise the store refuses (the database away) is kept and tried again at
// each round, raised at its first time, and cleared when its condition
// ended meanwhile (unstoredAlerts), so that an outage does not lose it.
func (s *Server) alert(ctx context.Context, site, sensor, kind string, on bool, now int64, msg string) {
	k := alertKey{site, sensor, kind}
	u := s.unstored.take(k)
	if on {
		if u == nil {
			u = &unstoredAlert{a: store.Alert{Site: site, Sensor: sensor, Kind: kind, Message: msg, Raised: now}}
		}
		u.cleared = 0 // its condition holds again: one alert all along
		s.raise(ctx, k, u)
		return
	}
	if u != nil {
		// Raised while the database was away; over since.
		if u.cleared == 0 {
			u.cleared = now
		}
		if !s.raise(ctx, k, u) {
			return
		}
		now = u.cleared
	}
	cleared, err := s.store.ClearAlert(ctx, site, sensor, kind, now)
	if err != nil {
		if u != nil {
			s.unstored.keep(k, u) // raised: cleared at the next round
		}
		s.unstored.failed(s.log, k, err, false)
		return
	}
	s.unstored.stored(s.log)
	if cleared {
		s.log.Info("alert cleared", "site", site, "sensor", sensor, "kind", kind)
		s.notify("cleared", web.Alert{Site: site, Sensor: sensor, Kind: kind, Cleared: now})
	}
}

// raise stores the alert u and reports whether it could; when it could
// not, u is kept for the next round.
func (s *Server) raise(ctx context.Context, k alertKey, u *unstoredAlert) bool {
	a, isNew, err := s.store.RaiseAlert(ctx, u.a)
	if err != nil {
		first := u.tries == 0
		if first {
			s.log.Warn("alert not stored; it is raised once the database is back", "site", k.site, "sensor", k.sensor,
				"kind", k.kind, "message", u.a.Message, "err", err)
		}
		u.tries++
		s.unstored.keep(k, u)
		s.unstored.failed(s.log, k, err, first)
		return false
	}
	s.unstored.stored(s.log)
	if u.tries > 0 {
		s.log.Info("alert stored after the database came back", "site", k.site, "sensor", k.sensor, "kind", k.kind,
			"raised", time.UnixMilli(u.a.Raised).UTC(), "tries", u.tries)
	}
	if isNew {
		s.log.Warn("alert raised", "site", k.site, "sensor", k.sensor, "kind", k.kind, "id", a.ID)
		s.notify("raised", web.Alert(a))
	}
	return true
}

// notify POSTs an alert event to the webhook, if one is set:
// {"event":"raised","alert":{"site":…,"sensor":…,"kind":"offline",…}}. It
// never holds up the caller; a failure is logged.
func (s *Server) notify(event string, a web.Alert) {
	url := s.cfg.AlertWebhook
	if url == "" {
		return
	}
	body, _ := json.Marshal(map[string]any{"event": event, "alert": a})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			s.log.Error("alert webhook", "err", err)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			s.log.Warn("alert webhook failed", "err", err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			s.log.Warn("alert webhook refused", "status", resp.Status)
		}
	}()
}

// retain applies the retention: raw observations of devices that never
// became visitors go after Retention, every raw observation, fix and heat
// tile after RetainAll, expired login tokens at once. Summaries are kept (year-on-year
// reports). The devices kept are the visitors' pseudonyms, from the stored
// fixes and visits of the raw data's whole life, and from memory.
func (s *Server) retain(ctx context.Context) {
	now := time.Now()
	r := store.Retention{PassersBy: s.cfg.Retention, Raw: s.cfg.RetainAll, Positions: s.cfg.RetainAll, Heat: s.cfg.RetainAll}
	keep := func(site string) ([]wire.Dev, error) {
		st, _, err := s.store.Site(ctx, site)
		if err != nil {
			return nil, err
		}
		storeZone := ""
		for _, z := range st.Zones {
			if z.Kind == wire.ZoneStore {
				storeZone = z.ID
			}
		}
		devs, err := s.store.VisitorDevs(ctx, site, now.Add(-s.cfg.RetainAll).UnixMilli(), now.UnixMilli(),
			storeZone, int64(st.Footfall.VisitorMinDwellS*1000))
		if err != nil {
			return nil, err
		}
		if run := s.runner(site); run != nil {
			devs = append(devs, run.visitorDevs()...)
		}
		return devs, nil
	}
	p, err := store.Prune(ctx, s.store, now, r, keep)
	if err != nil {
		s.log.Error("retention incomplete; the rest was applied, tried again in an hour", "err", err)
	}
	if p != (store.Pruned{}) {
		s.log.Info("retention applied", "passersby_observations", p.PassersBy, "observations", p.Observations,
			"positions", p.Positions, "heat_tiles", p.HeatTiles, "expired_tokens", p.ExpiredTokens)
	}
	s.pruneJournal(now)
}

// pruneJournal removes each site's journal files of the UTC days that
// ended before the retention of raw observations (RetainAll): they hold
// every observation as the sensors sent it. Yesterday's and today's,
// which a start replays, always stay. The sites are those with files in
// the journal, run here or not (any more).
func (s *Server) pruneJournal(now time.Time) {
	if s.journal == nil {
		return
	}
	sites, err := s.journal.Sites()
	if err != nil {
		s.log.Error("journal retention not applied; tried again in an hour", "err", err)
		return
	}
	before := now.Add(-max(s.cfg.RetainAll, 48*time.Hour)).UTC().Format(time.DateOnly)
	for _, site := range sites {
		files, size, err := s.journal.Prune(site, before)
		if err != nil {
			s.log.Error("journal retention incomplete; tried again in an hour", "site", site, "err", err)
		}
		if files > 0 {
			s.log.Info("journal retention applied", "site", site, "files", files, "bytes", size, "before", before)
		}
	}
}

// visitorDevs returns the pseudonyms of the devices whose tracks were
// visitors in the data still held: their raw observations are kept for
// re-processing.
func (r *siteRunner) visitorDevs() []wire.Dev {
	r.mu.Lock()
	defer r.mu.Unlock()
	min := r.site.Footfall.VisitorMinDwellS
	store := ""
	for _, z := range r.site.Zones {
		if z.Kind == wire.ZoneStore {
			store = z.ID
		}
	}
	seen := map[wire.Dev]bool{}
	var out []wire.Dev
	for _, v := range r.counter.Visits() {
		if v.Zone != store || v.Dwell() < min {
			continue
		}
		for d := range r.trackDevs[v.Track] {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out
}

// saveHealth stores the sensors' health as the sensors view shows it.
func (s *Server) saveHealth(ctx context.Context, r *siteRunner) {
	var hs []store.SensorHealth
	for _, h := range r.health(time.Now().UnixMilli()) {
		state := store.StateOffline
		if h.Online {
			state = store.StateOnline
		}
		hs = append(hs, store.SensorHealth{Site: r.id, Sensor: h.ID, LastSeen: h.LastSeen, Batches: h.Batches,
			Observations: h.Observations, Rejected: h.Rejected, Lost: h.Lost, ClockOffsetMs: int64(h.ClockOffsetMs),
			State: state, Version: h.Version})
	}
	if err := s.store.UpsertSensorHealth(ctx, hs); err != nil {
		s.log.Warn("storing sensor health", "site", r.id, "err", err)
	}
}

// Alerts implements web.Alerter: the alerts of the last 30 days, or the open
// ones.
func (s *Server) Alerts(ctx context.Context, site string, openOnly bool) ([]web.Alert, error) {
	now := time.Now()
	as, err := s.store.ListAlerts(ctx, site, openOnly, now.AddDate(0, 0, -30).UnixMilli(), now.Add(time.Hour).UnixMilli())
	if err != nil {
		return nil, err
	}
	out := make([]web.Alert, len(as))
	for i, a := range as {
		out[i] = web.Alert(a)
	}
	return out, nil
}

// ListUsers implements web.Accounts.
func (u users) ListUsers(ctx context.Context) ([]web.User, error) {
	sus, err := u.st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]web.User, len(sus))
	for i, su := range sus {
		out[i] = web.User(su)
	}
	return out, nil
}

// UpdateUser implements web.Accounts.
func (u users) UpdateUser(ctx context.Context, w *web.User) error {
	su := store.User(*w)
	return lastAdmin(notFound(u.st.UpdateUser(ctx, &su)))
}

// DeleteUser implements web.Accounts.
func (u users) DeleteUser(ctx context.Context, id int64) error {
	return lastAdmin(notFound(u.st.DeleteUser(ctx, id)))
}

// lastAdmin maps the store's ErrLastAdmin to the web server's (409).
func lastAdmin(err error) error {
	if errors.Is(err, store.ErrLastAdmin) {
		return fmt.Errorf("%w: %v", web.ErrLastAdmin, err)
	}
	return err
}

// ListTokens implements web.Accounts.
func (u users) ListTokens(ctx context.Context, userID int64) ([]web.Token, error) {
	sts, err := u.st.ListTokens(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]web.Token, len(sts))
	for i, st := range sts {
		out[i] = web.Token(st)
	}
	return out, nil
}
