package server

import (
	"log/slog"
	"sync"

	"github.com/passant/passant/store"
)

// unstoredAlerts keeps the alerts whose raise the store refused (the
// database away), so that housekeeping's next rounds store them: raised
// at their first time, and cleared when their condition ended meanwhile.
// It holds at most one alert per site, sensor and kind. It also says once
// per outage, in the log, that alerts cannot be written (clears fail at
// every round for every sensor; a line each would flood the log).
// Housekeeping writes the alerts; tests call checkAlerts too: mu guards
// it.
type unstoredAlerts struct {
	mu      sync.Mutex
	m       map[alertKey]*unstoredAlert
	failing int // writes failed since the last that did not
}

type alertKey struct{ site, sensor, kind string }

// unstoredAlert is an alert raised while the store could not take it.
type unstoredAlert struct {
	a       store.Alert
	cleared int64 // when its condition ended (0: it holds)
	tries   int   // failed raises
}

// take removes and returns the alert kept for k, nil when none is.
func (u *unstoredAlerts) take(k alertKey) *unstoredAlert {
	u.mu.Lock()
	defer u.mu.Unlock()
	a := u.m[k]
	delete(u.m, k)
	return a
}

// keep keeps a for k until the store takes it.
func (u *unstoredAlerts) keep(k alertKey, a *unstoredAlert) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = map[alertKey]*unstoredAlert{}
	}
	u.m[k] = a
}

// failed counts a write of k's alert that failed, and logs the first of an
// outage unless the caller said it (logged).
func (u *unstoredAlerts) failed(log *slog.Logger, k alertKey, err error, logged bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failing == 0 && !logged {
		log.Warn("alerts cannot be stored", "site", k.site, "sensor", k.sensor, "kind", k.kind, "err", err)
	}
	u.failing++
}

// stored notes a write that did not fail, and logs the end of an outage.
func (u *unstoredAlerts) stored(log *slog.Logger) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failing > 0 {
		log.Info("alerts stored again", "failed_writes", u.failing, "kept", len(u.m))
		u.failing = 0
	}
}
